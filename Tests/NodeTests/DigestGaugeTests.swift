import Foundation
import TestSupport
import Testing

/// `archive_digest_previous_day_arrivals` and `_fingerprint` are a day's line of
/// `archive digest` (what the pair alert of examples/monitoring compares). Mail cannot be
/// made a day old, so the test hook ARCHIVERELAY_DIGEST_DAY names today's line instead.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(2)))
struct DigestGaugeTests {
    @Test func theGaugesAreTheDigestLineOfTheirDay() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "digest", root: workspace.root)
        try node.writeConfig("")
        let first = try await node.start(workspace.children)
        for index in 0..<3 {
            let path = workspace.root + "/m\(index).eml"
            try "Subject: digest \(index)\r\n\r\nbody \(index)\r\n".write(toFile: path, atomically: true, encoding: .utf8)
            let sent = try await ChainNode.send(path, port: node.journalPort, root: workspace.root)
            try #require(sent.code == 250, "message \(index): \(sent)")
        }
        await node.stop(first)

        let fields = try await node.digest().split(separator: "\n").first.map { $0.split(separator: " ") } ?? []
        try #require(fields.count == 3, "archive digest: \(fields)")
        let (day, arrivals) = (String(fields[0]), Double(fields[1]))
        let fingerprint = Int64(fields[2].prefix(12), radix: 16).map(Double.init)
        #expect(arrivals == 3)

        let second = try await node.start(workspace.children, environment: ["ARCHIVERELAY_DIGEST_DAY": day])
        let shown = try await eventually { try await node.metric("archive_digest_previous_day_arrivals") == 3 }
        #expect(shown, "log:\n\(NodeTestSupport.tail(node.log))")
        #expect(try await node.metric("archive_digest_previous_day_fingerprint") == fingerprint)
        #expect(fingerprint != nil && fingerprint != 0)
        await node.stop(second)
    }
}
