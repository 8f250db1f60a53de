import Foundation
import TestSupport
import Testing

/// `archive search` and `archive export --query` as an operator runs them, against a node's
/// archive: the hit lines, `--count`, `--limit`, `--json` with its snippet, a query that
/// begins with `-` after `--`, a refused query (exit 64 and its column), and an export of
/// exactly the hits that Python's `mailbox` reads back.
@Suite(.serialized) struct SearchCommandTests {
    static let messages: [(sender: String, text: String)] = [
        ("alice@example.com", "From: Alice <alice@example.com>\r\nTo: bob@example.com\r\nSubject: merger plans\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nThe merger closes in March. Keep it quiet.\r\n"),
        ("carol@example.com", "From: carol@example.com\r\nTo: dave@example.com\r\nSubject: lunch\r\nDate: Tue, 03 Mar 2026 12:00:00 +0000\r\n\r\nLunch at noon? The merger can wait.\r\n"),
        ("erin@example.com", "From: erin@example.com\r\nTo: frank@example.com\r\nSubject: room booking\r\nContent-Type: text/plain; charset=utf-8\r\nDate: Wed, 04 Mar 2026 09:00:00 +0000\r\n\r\n来週の会議室を予約しました。\r\n"),
    ]

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(2)))
    func searchAndExportFindExactlyTheMatchingMessages() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let node = try ChainNode(id: "search", root: root)
        try node.writeConfig("")
        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail(Self.messages, port: node.journalPort, root: root)
        await node.stop(process)

        func search(_ arguments: [String]) async throws -> ProcessRun {
            try await runProcess(node.binary, ["archive", "search", "--data-dir", node.dataDir] + arguments, in: root)
        }
        func lines(_ run: ProcessRun) -> [String] {
            String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        }

        let merger = try await search(["merger"])
        #expect(merger.status == 0, "\(merger.stderr)")
        #expect(lines(merger).count == 2)
        // Newest first: carol's was archived after alice's.
        #expect(lines(merger).first?.contains("carol@example.com") == true && lines(merger).last?.contains("alice@example.com") == true)
        #expect(String(decoding: try await search(["--count", "merger", "from:alice"]).stdout, as: UTF8.self) == "1\n")
        #expect(lines(try await search(["--limit", "1", "merger"])).count == 1)
        #expect(String(decoding: try await search(["--count", "--", "-merger"]).stdout, as: UTF8.self) == "1\n")
        #expect(String(decoding: try await search(["--count", "before:2026-03-03"]).stdout, as: UTF8.self) == "1\n")

        let json = try await search(["--json", "会議室"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any], "\(json.stderr)")
        #expect(object["snippet"] as? String == "来週の[会議室]を予約しました。")
        #expect(object["has_attachment"] as? Bool == false)
        #expect(object["date"] as? String == "2026-03-04T09:00:00.000Z")
        #expect((object["senders"] as? [String]) == ["erin@example.com"])

        let refused = try await search(["a (from:bob c"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("column 14: expected ')' to close the '(' at column 3"), "\(refused.stderr)")

        let mbox = root + "/hits.mbox"
        let export = try await runProcess(node.binary, ["archive", "export", "--format", "mbox", "--out", mbox, "--query", "merger",
                                                        "--data-dir", node.dataDir], in: root)
        #expect(export.status == 0, "\(export.stderr)")
        let read = try await runProcess(NodeTestSupport.python, [ArchiveExportTests.reader, mbox], in: root)
        try #require(read.status == 0, "\(read.stderr)")
        let exported = try String(decoding: read.stdout, as: UTF8.self).split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        }.compactMap { $0["bytes"].flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } }
        #expect(Set(exported) == Set(Self.messages.prefix(2).map(\.text)))
    }
}
