import AuditTrail
import Foundation
import TestSupport
import Testing

@Suite struct AuditLogTests {
    @Test func recordsAndReadsBack() throws {
        let dir = try makeTempDirectory("audit")
        defer { removeTempDirectory(dir) }
        let log = try AuditLog(dataDirectory: URL(fileURLWithPath: dir))
        try log.record(AuditEntry(actor: "user:alice", action: "archive.search", arguments: ["query": "merger"], resultCount: 2))
        let entries = try log.entries()
        #expect(entries.count == 1)
        #expect(log.verify().isSound)
    }
}
