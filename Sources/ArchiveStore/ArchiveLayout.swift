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

    /// Takes the lock, waiting up to `patience` for it: a lock we released a moment ago can
    /// still be held by a child process between its fork and exec (the descriptor is
    /// close-on-exec, but the lock belongs to the shared open file description until
    /// then), which a test suite spawning processes in parallel did hit.
    init(path: String, patience: Duration = .seconds(2)) throws {
        let file = try SystemFile.open(path, flags: O_RDWR | O_CREAT)
        let deadline = ContinuousClock.now + patience
        while flock(file.descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                throw ArchiveStoreError.locked(path: path)
            }
            usleep(10_000)
        }
        self.file = file
    }

    func release() { file.close() }
}
