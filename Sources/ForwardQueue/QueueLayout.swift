import DurableFiles

/// Paths of the forward queue inside a data directory: `<data-dir>/queue/`.
public struct QueueLayout: Sendable {
    public let dataDirectory: String

    public init(dataDirectory: String) { self.dataDirectory = dataDirectory }

    public var queueDirectory: String { dataDirectory + "/queue" }
    public var journalPath: String { queueDirectory + "/journal" }
    public var spoolDirectory: String { queueDirectory + "/spool" }
    public var lockPath: String { queueDirectory + "/LOCK" }
    public var archiveDirectory: String { dataDirectory + "/archive" }

    func spoolPath(_ name: String) -> String { spoolDirectory + "/" + name }
}

extension QueueLayout {
    /// Takes the exclusive lock on `queue/LOCK`, held by the running node and by the
    /// offline CLI for as long as it reads or changes the queue; throws
    /// `ForwardQueueError.locked` when another holder keeps it.
    func takeLock() throws -> DirectoryLock {
        try FilePermissions.createDirectories(queueDirectory)
        guard let lock = try DirectoryLock.take(path: lockPath) else { throw ForwardQueueError.locked(path: lockPath) }
        return lock
    }
}
