import Foundation
import TestSupport
import Testing

/// What OPERATIONS.md promises of `/metrics`: every metric it names is exported, and the
/// listener's and the archive's counters move with the mail. `smtp_message_bytes_received_total`
/// was documented and exported but never incremented until 2026-11-30.
@Suite(.serialized) struct MetricsTests {
    /// One message over DATA (with lines the client dot-stuffs) and one over BDAT, then
    /// QUIT; prints nothing, exits 1 unless both got 250.
    static let client = #"""
    import smtplib, socket, sys
    port, first, second = int(sys.argv[1]), open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
    with smtplib.SMTP("127.0.0.1", port) as s:
        s.sendmail("a@example.com", ["journal@archive.example"], first)
    c = socket.create_connection(("127.0.0.1", port)); f = c.makefile("rb")
    def reply():
        while True:
            line = f.readline()
            if line[3:4] != b"-": return line
    reply()
    for command in (b"EHLO metrics.test\r\n", b"MAIL FROM:<a@example.com>\r\n", b"RCPT TO:<journal@archive.example>\r\n"):
        c.sendall(command); assert reply().startswith(b"250"), command
    c.sendall(b"BDAT %d LAST\r\n" % len(second) + second)
    final = reply(); c.sendall(b"QUIT\r\n"); reply()
    sys.exit(0 if final.startswith(b"250") else 1)
    """#

    /// The metric names of OPERATIONS.md's `/metrics` paragraph.
    static let documented = [
        "smtp_connections_total", "smtp_connections_open", "smtp_connections_rejected_total",
        "smtp_messages_received_total", "smtp_message_bytes_received_total", "smtp_replies_total",
        "smtp_timeouts_total", "archive_messages_archived_total", "archive_duplicates_total",
        "archive_bytes_raw_total", "archive_bytes_stored_total", "archive_fsync_errors_total",
        "archive_free_bytes", "archive_append_duration", "archive_group_commit_batch_size", "archive_index_faults_total",
        "archive_inflight_bytes", "archive_inflight_peak_bytes", "archive_inflight_spilled_bytes", "archive_draft_spills_total",
        "node_ready", "archive_min_free_bytes", "archive_digest_previous_day_arrivals", "archive_digest_previous_day_fingerprint",
    ]

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(2)))
    func documentedMetricsAreExportedAndCountTheMail() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "metrics", root: workspace.root)
        try node.writeConfig("")
        let process = try await node.start(workspace.children)

        let first = Array("Subject: over DATA\r\n\r\n.leading dot\r\n..two\r\nend\r\n".utf8)
        let second = Array("Subject: over BDAT\r\n\r\n".utf8) + Array(repeating: UInt8(ascii: "b"), count: 5000) + Array("\r\n".utf8)
        let firstPath = workspace.root + "/first.eml", secondPath = workspace.root + "/second.eml"
        try Data(first).write(to: URL(fileURLWithPath: firstPath))
        try Data(second).write(to: URL(fileURLWithPath: secondPath))
        let sent = try await runProcess(NodeTestSupport.python, ["-c", Self.client, "\(node.journalPort)", firstPath, secondPath],
                                                 in: workspace.root)
        try #require(sent.status == 0, "client: \(sent.stderr)\nlog:\n\(NodeTestSupport.tail(node.log))")

        let text = try await node.metricsText()
        for name in Self.documented {
            #expect(text.split(separator: "\n").contains { $0.hasPrefix(name) && !$0.hasPrefix("#") }, "\(name) is not exported")
        }
        let bytes = Double(first.count + second.count)
        #expect(try await node.metric("smtp_messages_received_total{listener=\"journal\"}") == 2)
        #expect(try await node.metric("smtp_message_bytes_received_total{listener=\"journal\"}") == bytes)
        #expect(try await node.metric("archive_messages_archived_total") == 2)
        #expect(try await node.metric("archive_bytes_raw_total") == bytes)
        // A fresh node is ready, keeps the documented default floor, and had no mail yesterday.
        #expect(try await node.metric("node_ready") == 1)
        #expect(try await node.metric("archive_min_free_bytes") == Double(1 << 30))
        #expect(try await node.metric("archive_digest_previous_day_arrivals") == 0)
        await node.stop(process)
    }
}
