import DurableFiles
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A disk that can lose power, for the archive and the forward queue as their
/// `DurableFaultInjector`. It watches every sync and every removal of a directory entry
/// under `root` and keeps what a power loss keeps, by the strict POSIX rules: a file's
/// bytes as of its last fsync or fdatasync, a directory's entries as of its last fsync.
/// So a write no sync covered is lost, a new file or a rename whose directory was never
/// synced is lost, and a file that was never synced comes back empty.
///
/// `cut()` turns the power off: every later sync fails with EIO, as on a dead disk, so
/// nothing done after the cut counts. `restore(to:)` writes what the disk holds into a
/// fresh directory, for a store and queue to open as after a reboot.
///
/// Not modelled: SQLite keeps the index durable by itself (WAL), out of this hook's
/// sight. Its files are `untracked`; `restore` copies them as they are at that moment.
/// Every index entry refers to a record that was synced before it was handed over, so
/// any state of the index is one a power loss can leave.
public final class PowerLossDisk: DurableFaultInjector, @unchecked Sendable {
    /// Names of files the model leaves to their owner (SQLite's index).
    public static let untracked: Set<String> = ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"]

    /// A directory entry: the file or directory it names.
    private struct Node {
        var id: Int
        var isDirectory: Bool
    }

    /// What a sync after the cut throws.
    public struct PowerOff: Error {}
    /// What a group-commit sync made to fail (`failCommitSyncs`) throws.
    public struct SyncFailed: Error {}

    public let root: String
    private let lock = NSLock()
    /// Live inode numbers → file identity. An inode number is dropped when its file is
    /// removed, so a new file that reuses the number is a new identity.
    private var identities: [ino_t: Int] = [:]
    private var nextIdentity = 0
    /// Bytes of each file as of its last sync.
    private var contents: [Int: [UInt8]] = [:]
    /// Entries of each directory as of its last sync.
    private var listings: [Int: [String: Node]] = [:]
    private var rootIdentity = 0
    private var powered = true
    /// Cut the power right after the next sync of this path.
    private var cutAfter: String?
    private var commitSyncsToFail = 0
    /// What the model failed to observe (a file it could not read): a test must see none.
    private var failures: [String] = []

    /// Everything under `root` as it is now counts as durable (the test made it, or it is
    /// what `restore` wrote).
    public init(root: String) throws {
        self.root = root
        rootIdentity = try lock.withLock { try snapshot(directory: root) }
    }

    /// Turns the power off.
    public func cut() { lock.withLock { powered = false } }

    /// Turns the power off right after the next sync of `path` (a file or a directory),
    /// in the middle of whatever step of the store made it.
    public func cut(afterSyncOf path: String) { lock.withLock { cutAfter = path } }

    public var isPowered: Bool { lock.withLock { powered } }

    /// Syncs the model could not follow; empty, or what it holds is not what a power loss keeps.
    public var problems: [String] { lock.withLock { failures } }

    /// Makes the next `count` group-commit syncs fail (an I/O error, not a power loss).
    public func failCommitSyncs(_ count: Int) { lock.withLock { commitSyncsToFail = count } }

    public func beforeSync() throws {
        try lock.withLock {
            guard commitSyncsToFail > 0 else { return }
            commitSyncsToFail -= 1
            throw SyncFailed()
        }
    }

    public func beforeFileSync(descriptor: Int32, path: String) throws {
        try lock.withLock {
            guard powered else { throw PowerOff() }
            var info = stat()
            do {
                guard fstat(descriptor, &info) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                // The descriptor may be write-only: read the same file through /proc.
                contents[identity(info.st_ino)] = try Self.read("/proc/self/fd/\(descriptor)")
            } catch {
                failures.append("sync of \(path): \(error)")
            }
            if path == cutAfter { powered = false }
        }
    }

    public func beforeDirectorySync(path: String) throws {
        try lock.withLock {
            guard powered else { throw PowerOff() }
            var info = stat()
            guard stat(path, &info) == 0 else {
                failures.append("sync of folder \(path): stat failed, errno \(errno)")
                return
            }
            listings[identity(info.st_ino)] = list(path)
            if path == cutAfter { powered = false }
        }
    }

    public func beforeRemoving(path: String) {
        lock.withLock {
            var info = stat()
            guard powered, lstat(path, &info) == 0, info.st_nlink <= 1 else { return }
            identities[info.st_ino] = nil
        }
    }

    /// Writes what survives the power loss into `target` (created; must not exist), and
    /// copies the untracked files there from where they are under `root` now.
    public func restore(to target: String) throws {
        let (listings, contents, top) = lock.withLock { (self.listings, self.contents, rootIdentity) }
        try write(directory: top, to: target, live: root, listings: listings, contents: contents)
    }

    private func write(directory: Int, to path: String, live: String, listings: [Int: [String: Node]], contents: [Int: [UInt8]]) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        for (name, node) in listings[directory] ?? [:] {
            if node.isDirectory {
                try write(directory: node.id, to: path + "/" + name, live: live + "/" + name, listings: listings, contents: contents)
            } else {
                try Data(contents[node.id] ?? []).write(to: URL(fileURLWithPath: path + "/" + name))
            }
        }
        for name in Self.untracked where FileManager.default.fileExists(atPath: live + "/" + name) {
            try FileManager.default.copyItem(atPath: live + "/" + name, toPath: path + "/" + name)
        }
    }

    // MARK: Model, with `lock` held

    private func identity(_ inode: ino_t) -> Int {
        if let known = identities[inode] { return known }
        nextIdentity += 1
        identities[inode] = nextIdentity
        return nextIdentity
    }

    /// The entries of a live directory, untracked files left out.
    private func list(_ path: String) -> [String: Node] {
        var entries: [String: Node] = [:]
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            failures.append("listing \(path): \(error)")
            return [:]
        }
        for name in names where !Self.untracked.contains(name) {
            var info = stat()
            guard lstat(path + "/" + name, &info) == 0 else { continue }  // removed meanwhile
            entries[name] = Node(id: identity(info.st_ino), isDirectory: (info.st_mode & S_IFMT) == S_IFDIR)
        }
        return entries
    }

    /// Records a whole live tree as durable; returns its identity.
    private func snapshot(directory path: String) throws -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw CocoaError(.fileNoSuchFile) }
        let id = identity(info.st_ino)
        let entries = list(path)
        listings[id] = entries
        for (name, node) in entries {
            if node.isDirectory { _ = try snapshot(directory: path + "/" + name) } else { contents[node.id] = try Self.read(path + "/" + name) }
        }
        return id
    }

    /// The whole file, with read(2) to its end.
    private static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
            bytes += chunk[0..<count]
        }
    }
}
