import ArchiveStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

/// A failed system call on a queue file.
public struct QueueIOError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public var description: String { "\(operation)(\(path)): \(String(cString: strerror(code)))" }
}

/// The few syscalls the journal and spool need, as throwing functions. `faults` is the
/// queue's test hook (`ForwardQueueOptions.faultInjector`, nil in production), told of
/// each sync and removal; what it throws fails the call like an EIO.
enum QueueFiles {
    /// As `SystemFile.open`: mode `FilePermissions.file`, and a create never goes through
    /// a symlink (the spool and the journal hold envelopes).
    static func open(_ path: String, flags: Int32) throws(QueueIOError) -> Int32 {
        let noFollow = flags & O_CREAT != 0 ? O_NOFOLLOW : 0
        let fd = Glibc.open(path, flags | noFollow | O_CLOEXEC, FilePermissions.file)
        guard fd >= 0 else { throw QueueIOError(operation: "open", path: path, code: errno) }
        return fd
    }

    static func write(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws(QueueIOError) {
        var failure: QueueIOError?
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, base + done, raw.count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = QueueIOError(operation: "pwrite", path: path, code: errno)
                    return
                }
                done += n
            }
        }
        if let failure { throw failure }
    }

    static func dataSync(_ fd: Int32, path: String, faults: (any ArchiveFaultInjector)?) throws(QueueIOError) {
        try injected("fdatasync", path) { try faults?.beforeFileSync(descriptor: fd, path: path) }
        guard fdatasync(fd) == 0 else { throw QueueIOError(operation: "fdatasync", path: path, code: errno) }
    }

    static func sync(_ fd: Int32, path: String, faults: (any ArchiveFaultInjector)?) throws(QueueIOError) {
        try injected("fsync", path) { try faults?.beforeFileSync(descriptor: fd, path: path) }
        guard fsync(fd) == 0 else { throw QueueIOError(operation: "fsync", path: path, code: errno) }
    }

    static func syncDirectory(_ path: String, faults: (any ArchiveFaultInjector)?) throws(QueueIOError) {
        try injected("fsync", path) { try faults?.beforeDirectorySync(path: path) }
        let fd = try open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw QueueIOError(operation: "fsync", path: path, code: errno) }
    }

    /// Temp file, fsync, rename, fsync directory. The temp file is created exclusively
    /// after removing a leftover one (never written through a planted link).
    static func writeAtomically(_ bytes: [UInt8], to path: String, faults: (any ArchiveFaultInjector)?) throws(QueueIOError) {
        let temp = path + ".tmp"
        unlinkIfPresent(temp, faults: faults)
        let fd = try open(temp, flags: O_WRONLY | O_CREAT | O_EXCL)
        defer { close(fd) }
        try write(fd, bytes, at: 0, path: temp)
        try sync(fd, path: temp, faults: faults)
        faults?.beforeRemoving(path: path)
        guard rename(temp, path) == 0 else { throw QueueIOError(operation: "rename", path: temp, code: errno) }
        try syncDirectory((path as NSString).deletingLastPathComponent, faults: faults)
    }

    private static func injected(_ operation: String, _ path: String, _ hook: () throws -> Void) throws(QueueIOError) {
        do { try hook() } catch { throw QueueIOError(operation: operation, path: path, code: EIO) }
    }

    /// The whole file, or nothing if it does not exist. Plain read(2): Foundation's
    /// `contents(atPath:)` leaks a 4 KiB buffer for every empty file on Linux (an empty
    /// journal is the normal state of a drained queue).
    static func readAll(_ path: String) throws(QueueIOError) -> [UInt8] {
        let fd: Int32
        do {
            fd = try open(path, flags: O_RDONLY)
        } catch where error.code == ENOENT {
            return []
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw QueueIOError(operation: "fstat", path: path, code: errno) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(status.st_size))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw QueueIOError(operation: "read", path: path, code: errno)
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    static func unlinkIfPresent(_ path: String, faults: (any ArchiveFaultInjector)?) {
        faults?.beforeRemoving(path: path)
        _ = unlink(path)
    }
}
