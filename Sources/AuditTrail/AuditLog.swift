import DurableFiles
import Foundation

/// The audit log of a data directory, `<data-dir>/audit/` (docs/FORMAT.md, "Audit log"):
/// `audit.log`, one hash-chained JSON entry per line, and `audit.head`, the last sequence
/// and hash, rewritten after each append so that cutting entries off the end shows.
/// Any number of processes append at once (the node, operators' CLIs): each append holds
/// an exclusive `flock` on the log from reading its tail to writing the head. Holds no
/// descriptor between calls, so one instance serves any number of threads.
public final class AuditLog: AuditRecorder, Sendable {
    public let directory: String
    public let logPath: String
    public let headPath: String

    /// Creates `<data-dir>/audit/` (0750) and an empty log (0640) when missing. An existing
    /// log is not opened here, so a user who may only read it can still read and verify it.
    public init(dataDirectory: URL) throws(AuditLogError) {
        directory = dataDirectory.appendingPathComponent("audit").path
        logPath = directory + "/audit.log"
        headPath = directory + "/audit.head"
        var info = stat()
        guard lstat(logPath, &info) != 0 else { return }
        try fail {
            let existed = FileManager.default.fileExists(atPath: directory)
            try FilePermissions.createDirectories(directory)
            if !existed { try Durable.syncParentDirectory(of: directory, faults: nil) }
            let file = try SystemFile.open(logPath, flags: O_RDWR | O_CREAT)
            file.close()
            try Durable.syncDirectory(directory, faults: nil)
        }
    }

    /// Appends `entry` after the log's last one; returns once the line is on disk
    /// (fdatasync) and the head names it. A torn last line (a crash mid-append) is first
    /// moved aside to `audit.log.<offset>.broken`. Refuses to append to a log whose end
    /// does not match its head (entries cut off, or the last one unreadable): that is for
    /// an operator to look at, and an append would bury it.
    public func record(_ entry: AuditEntry) throws {
        try fail {
            let file = try SystemFile.open(logPath, flags: O_RDWR | O_CREAT)
            defer { file.close() }
            try Self.lock(file, LOCK_EX)
            let tail = try AuditLogTail(file: file)
            var last: AuditRecord?
            if let line = tail.lastLine {
                do {
                    last = try AuditRecord(line: Substring(decoding: line, as: UTF8.self))
                } catch {
                    throw AuditLogError(path: logPath, reason: "its last entry is unreadable (\(error)); run `archiverelay archive audit verify`")
                }
            }
            let head = try AuditHead.read(headPath)
            if let head {
                let lastSequence = last?.sequence ?? 0
                if head.sequence > lastSequence {
                    throw AuditLogError(path: logPath, reason: "it ends at seq \(lastSequence) but its head says \(head.sequence): entries were cut off; run `archiverelay archive audit verify`")
                }
                if head.sequence == lastSequence, head.hash != last?.hash {
                    throw AuditLogError(path: logPath, reason: "its last entry is not the one its head names; run `archiverelay archive audit verify`")
                }
            }
            if tail.tornBytes > 0 {
                let torn = try file.read(at: tail.completeEnd, count: tail.tornBytes)
                try Durable.writeAtomically(torn, to: logPath + ".\(tail.completeEnd).broken", faults: nil)
                try file.truncate(to: tail.completeEnd)
            }
            let record = AuditRecord(entry: entry, after: last?.tail)
            try file.write(Array(record.line.utf8)[...], at: tail.completeEnd)
            try file.dataSync()
            try AuditHead.write(record.tail, to: headPath)
        }
    }

    /// Every readable entry at or after `since` (all when nil), in log order. Lines that
    /// are not entries are left out: `verify` lists them.
    public func entries(since: Date? = nil) throws -> [AuditRecord] {
        try fail {
            let lines = try readLines()
            return lines.complete.compactMap { try? AuditRecord(line: $0) }.filter { record in since.map { record.entry.time >= $0 } ?? true }
        }
    }

    /// The log's bytes under a shared lock (no append half-written), split into lines.
    func readLines() throws -> AuditLogLines {
        let file = try SystemFile.open(logPath, flags: O_RDONLY)
        defer { file.close() }
        try Self.lock(file, LOCK_SH)
        let bytes = try file.read(at: 0, count: try file.size())
        return AuditLogLines(bytes: bytes)
    }

    static func lock(_ file: SystemFile, _ operation: Int32) throws(FileIOError) {
        while flock(file.descriptor, operation) != 0 {
            guard errno == EINTR else { throw FileIOError(operation: "flock", path: file.path, errno: errno) }
        }
    }

    /// Runs `body`, naming the audit log in whatever it throws.
    private func fail<T>(_ body: () throws -> T) throws(AuditLogError) -> T {
        do {
            return try body()
        } catch let error as AuditLogError {
            throw error
        } catch {
            throw AuditLogError(path: logPath, reason: "\(error)")
        }
    }
}

/// The audit log could not be written or read; `description` names it.
public struct AuditLogError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "audit log \(path): \(reason)" }
}
