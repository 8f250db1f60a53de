import Foundation

/// Paths inside a data directory. The archive lives in `<data-dir>/archive/`.
public struct ArchiveLayout: Sendable {
    public let dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    public var archiveDirectory: String { dataDirectory + "/archive" }
    public var indexPath: String { archiveDirectory + "/index.sqlite" }
    var lockPath: String { archiveDirectory + "/LOCK" }
}

/// An exclusive advisory lock on the archive directory, held for the store's lifetime so
/// two writers (two nodes, or `reindex` while serving) never share a data directory.
final class DirectoryLock: @unchecked Sendable {
    private let file: SystemFile

    init(path: String) throws {
        let file = try SystemFile.open(path, flags: O_RDWR | O_CREAT)
        guard flock(file.descriptor, LOCK_EX | LOCK_NB) == 0 else {
            throw ArchiveStoreError.locked(path: path)
        }
        self.file = file
    }

    func release() { file.close() }
}
