import Foundation
import Logging
import MessageText

/// `archive search`: queries the search index, after feeding it what it lacks.
///
/// A search must not miss a message because the node has not indexed it yet, so opening
/// one first feeds the index up to the archive's end itself (`SearchFeeder`: each batch a
/// transaction that starts from the stored progress, so the node's indexer and any number
/// of searches share the work safely). It never creates the database: a CLI run by
/// another user (root) would leave a file the node cannot write. When it cannot write it,
/// it searches what is there and says how far behind that is (`unindexedArrivals`).
public final class ArchiveSearch {
    public let layout: ArchiveLayout
    let index: SearchIndex
    /// Arrivals archived and not searchable (the index could not be fed); 0 normally.
    public private(set) var unindexedArrivals = 0

    public init(dataDirectory: String, logger: Logger = Logger(label: "archiverelay.search")) throws {
        layout = ArchiveLayout(dataDirectory: dataDirectory)
        guard FileManager.default.fileExists(atPath: layout.archiveDirectory) else {
            throw ArchiveStoreError.notFound("no archive in \(dataDirectory)")
        }
        let path = layout.searchPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArchiveStoreError.notFound("no search index in \(dataDirectory): start the node (search_index = true) or run `archiverelay archive reindex`")
        }
        if access(path, W_OK) == 0, let writable = try? SearchIndex.openWritable(path: path) {
            let feeder = SearchFeeder(index: writable, archiveDirectory: layout.archiveDirectory, logger: logger)
            while !(try feeder.step(until: nil).caughtUp) {}
            index = writable
        } else {
            index = try SearchIndex.openReadOnly(path: path)
            let archived = (try? ArchiveIndex.openReadOnly(path: layout.indexPath).arrivalCount()) ?? 0
            unindexedArrivals = max(0, archived - ((try? index.count(.arrivals)) ?? 0))
        }
    }

    /// Rebuilds the search index from the segments (`archive reindex`, node stopped);
    /// returns the number of originals indexed.
    public static func rebuild(dataDirectory: String, logger: Logger = Logger(label: "archiverelay.search")) throws -> Int {
        let layout = ArchiveLayout(dataDirectory: dataDirectory)
        let index = try SearchIndex.openWritable(path: layout.searchPath, fresh: true)
        let feeder = SearchFeeder(index: index, archiveDirectory: layout.archiveDirectory, logger: logger)
        while !(try feeder.step(until: nil).caughtUp) {}
        return try index.count(.docs)
    }
}
