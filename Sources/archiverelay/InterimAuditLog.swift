import AuditTrail
import Foundation

/// Stands in for branch audit's `AuditLog` until it is merged (same initializer), so the
/// admin API can be built and tested: one JSON line per entry in `<data-dir>/audit/interim.log`,
/// synced before `record` returns. Deleted at the merge.
final class AuditLog: AuditRecorder, @unchecked Sendable {
    let path: String
    private let lock = NSLock()

    init(dataDirectory: URL) throws {
        let folder = dataDirectory.appendingPathComponent("audit").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        path = folder + "/interim.log"
    }

    func record(_ entry: AuditEntry) throws {
        var object: [String: Any] = ["actor": entry.actor, "action": entry.action, "arguments": entry.arguments]
        if let count = entry.resultCount { object["result_count"] = count }
        let line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) + Data("\n".utf8)
        try lock.withLock {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission) }
            defer { close(fd) }
            let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == line.count, fsync(fd) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }
}
