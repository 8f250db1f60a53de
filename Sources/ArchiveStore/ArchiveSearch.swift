import CSQLite
import DurableFiles
import Foundation
import Logging
import MessageText
import SearchQuery

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
    private let dictionaries = SegmentReadCache()
    /// Open encrypted segments' records.
    private let keys: ArchiveKeys
    /// Reads evicted segments' records.
    private let remote: (any RemoteSegmentSource)?

    /// `feed` false: the database as it is (a node whose own indexer has caught it up:
    /// `ArchiveStore.expire`); `unindexedArrivals` is then not counted.
    public init(dataDirectory: String, feed: Bool = true, keys: SegmentKeyRing = .none, remote: (any RemoteSegmentSource)? = nil,
                logger: Logger = Logger(label: "archiverelay.search")) throws {
        layout = ArchiveLayout(dataDirectory: dataDirectory)
        self.keys = ArchiveKeys(keys)
        self.remote = remote
        guard FileManager.default.fileExists(atPath: layout.archiveDirectory) else {
            throw ArchiveStoreError.notFound("no archive in \(dataDirectory)")
        }
        let path = layout.searchPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArchiveStoreError.notFound("no search index in \(dataDirectory): start the node (search_index = true) or run `archiverelay archive reindex`")
        }
        // An expiry under way holds the feeding lock: search what is there meanwhile.
        if !feed {
            index = try SearchIndex.openReadOnly(path: path)
        } else if access(path, W_OK) == 0, let feeding = try? DirectoryLock.take(path: layout.expiryLockPath, patience: .seconds(5), shared: true),
           let writable = try? SearchIndex.openWritable(path: path) {
            defer { feeding.release() }
            try SearchFeeder(index: writable, archiveDirectory: layout.archiveDirectory, keys: self.keys, remote: remote,
                             logger: logger).catchUp()
            index = writable
        } else {
            index = try SearchIndex.openReadOnly(path: path)
            let archived = (try? ArchiveIndex.openReadOnly(path: layout.indexPath).arrivalCount()) ?? 0
            unindexedArrivals = max(0, archived - ((try? index.count(.arrivals)) ?? 0))
        }
    }

    /// The hits of `query`, newest first, at most `limit`. Throws `SearchQueryError` for a
    /// query that does not parse.
    public func hits(_ query: String, limit: Int) throws -> [SearchHit] {
        try rows(SearchSQL.hits(try SearchQuery.parse(query), limit: limit)) { s in
            SearchHit(id: s.text(0) ?? "", sha256: s.text(1) ?? "", messageID: s.text(2),
                      date: Date(timeIntervalSince1970: TimeInterval(s.int(3))),
                      receivedAt: Date(timeIntervalSince1970: TimeInterval(s.int(4))),
                      size: UInt64(max(0, s.int(5))), hasAttachment: s.int(6) != 0)
        }
    }

    /// How many originals match `query`.
    public func count(_ query: String) throws -> Int {
        try rows(SearchSQL.count(try SearchQuery.parse(query))) { Int($0.int(0)) }.first ?? 0
    }

    private func rows<Row>(_ statement: SearchStatement, _ row: (SQLiteConnection.Statement) -> Row) throws -> [Row] {
        try index.connection.withStatement(statement.sql) { s in
            try s.bind(statement.bindings.map(Self.value))
            var rows: [Row] = []
            while try s.step() { rows.append(row(s)) }
            return rows
        }
    }

    /// What `list` shows of each hit, in the hits' order. Straight from the index when it
    /// holds every arrival the search index holds (the usual case: one query per hit; both
    /// take the same records in the same order, so equal counts mean the same arrivals)
    /// and every hit with its own digest; otherwise through an `ArchiveReader`, which
    /// audits the index and adds what it still lacks.
    public func entries(_ hits: [SearchHit]) throws -> [ArchiveIndexEntry] {
        guard !hits.isEmpty else { return [] }
        if let main = try? ArchiveIndex.openReadOnly(path: layout.indexPath, checked: false),
           (try? main.schemaVersion()) == ArchiveIndex.schemaVersion, try main.arrivalCount() >= index.count(.arrivals) {
            let entries = try hits.compactMap { try main.entry(id: $0.id) }
            if entries.map(\.sha256) == hits.map(\.sha256) { return entries }
        }
        let reader = try ArchiveReader(dataDirectory: layout.dataDirectory, keys: keys.ring, remote: remote)
        return try hits.map { try reader.lookup($0.id) }
    }

    /// The original of a hit's entry, read from its record (for its snippet).
    public func original(_ entry: ArchiveIndexEntry) throws -> [UInt8] {
        try ArchiveStore.readRecord(archiveDirectory: layout.archiveDirectory, segment: entry.segment, offset: entry.offset,
                                    keys: keys.ring, remote: remote, dictionaries: dictionaries).original()
    }

    static func value(_ binding: SQLBinding) -> SQLiteConnection.Statement.Value {
        switch binding {
        case .text(let text): .text(text)
        case .integer(let value): .int(value)
        }
    }

    /// Rebuilds the search index from the segments (`archive reindex`, node stopped);
    /// returns the number of originals indexed.
    public static func rebuild(dataDirectory: String, keys: SegmentKeyRing = .none, remote: (any RemoteSegmentSource)? = nil,
                               logger: Logger = Logger(label: "archiverelay.search")) throws -> Int {
        let layout = ArchiveLayout(dataDirectory: dataDirectory)
        let index = try SearchIndex.openWritable(path: layout.searchPath, fresh: true)
        try SearchFeeder(index: index, archiveDirectory: layout.archiveDirectory, keys: ArchiveKeys(keys), remote: remote,
                         logger: logger).catchUp()
        return try index.count(.docs)
    }
}

/// One original a search found: the search database's columns. `archive search` adds what
/// `list` shows from the index.
public struct SearchHit: Sendable, Equatable {
    public var id: String
    public var sha256: String
    public var messageID: String?
    /// The Date field (the first arrival's time when it had none that parses).
    public var date: Date
    public var receivedAt: Date
    public var size: UInt64
    public var hasAttachment: Bool
}
