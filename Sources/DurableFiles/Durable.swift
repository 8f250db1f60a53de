import Foundation

/// Crash-safe file system steps shared by the archive (writer, recovery, reindex) and the
/// forward queue (journal, spool). `faults` is the store's test hook (nil in production),
/// told of each sync and removal; what it throws fails the call like an EIO.
package enum Durable {
    /// fsync a directory so a create, rename or unlink in it survives a crash.
    package static func syncDirectory(_ path: String, faults: (any DurableFaultInjector)?) throws(FileIOError) {
        if let faults { try FileIOError.injected("fsync", path) { try faults.beforeDirectorySync(path: path) } }
        let dir = try SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY)
        defer { dir.close() }
        try dir.sync()
    }

    /// Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync directory.
    package static func writeAtomically(_ bytes: [UInt8], to path: String, faults: (any DurableFaultInjector)?) throws {
        try writeAtomically(to: path, faults: faults) { file in try file.write(bytes[...], at: 0) }
    }

    /// Fills a new temp file with `body`, then fsync, rename over `path`, fsync directory.
    /// A leftover temp file (an earlier failed attempt, or a planted link) is removed and
    /// the temp created exclusively, so the bytes go into a file of our own; the rename
    /// replaces whatever is at `path` without writing through it.
    package static func writeAtomically(to path: String, faults: (any DurableFaultInjector)?, _ body: (SystemFile) throws -> Void) throws {
        let temp = path + ".tmp"
        try unlinkIfPresent(temp, faults: faults)
        let file = try SystemFile.open(temp, flags: O_WRONLY | O_CREAT | O_EXCL, faults: faults)
        do {
            try body(file)
            try file.sync()
            file.close()
            try rename(temp, to: path, faults: faults)
        } catch {
            file.close()
            try? unlinkIfPresent(temp, faults: faults)
            throw error
        }
    }

    /// rename(2) then fsync of the destination directory.
    package static func rename(_ from: String, to: String, faults: (any DurableFaultInjector)?) throws(FileIOError) {
        faults?.beforeRemoving(path: to)
        guard Glibc.rename(from, to) == 0 else { throw FileIOError(operation: "rename", path: from, errno: errno) }
        try syncParentDirectory(of: to, faults: faults)
    }

    /// fsync of the directory holding `path` (the current one for a bare name).
    package static func syncParentDirectory(of path: String, faults: (any DurableFaultInjector)?) throws(FileIOError) {
        let directory = (path as NSString).deletingLastPathComponent
        try syncDirectory(directory.isEmpty ? "." : directory, faults: faults)
    }

    package static func unlinkIfPresent(_ path: String, faults: (any DurableFaultInjector)?) throws(FileIOError) {
        faults?.beforeRemoving(path: path)
        if Glibc.unlink(path) != 0 && errno != ENOENT {
            throw FileIOError(operation: "unlink", path: path, errno: errno)
        }
    }

    /// The whole file, or nothing if it does not exist. Plain read(2): Foundation's
    /// `contents(atPath:)` leaks a 4 KiB buffer for every empty file on Linux (an empty
    /// journal is the normal state of a drained queue).
    package static func readAllIfPresent(_ path: String) throws(FileIOError) -> [UInt8] {
        let file: SystemFile
        do {
            file = try SystemFile.openReadOnly(path)
        } catch where error.errno == ENOENT {
            return []
        }
        defer { file.close() }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(try file.size())
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(file.descriptor, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: "read", path: path, errno: errno)
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}
