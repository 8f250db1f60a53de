import Foundation
import TestSupport
import Testing

/// `archive hold` and `archive expire --dry-run` as an operator runs them against a node's
/// archive: create (a name in use, a query that does not parse), list, show (count and
/// ids), release (only with --yes), the plan before and after the release, and an audit
/// entry for every command; when the audit log cannot take an entry the command exits 75
/// and neither prints nor changes anything.
@Suite(.serialized) struct HoldCommandTests {
    @Test(.timeLimit(NodeTestSupport.scaledMinutes(2)))
    func holdsKeepWhatTheyMatchAndEveryCommandIsAudited() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let node = try ChainNode(id: "holds", root: root)
        try node.writeConfig("""
            [retention]
            default = "30d"

            [[retention.rule]]
            name = "lunch"
            keep = "1y"
            query = "subject:lunch"
            """)
        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail(SearchCommandTests.messages, port: node.journalPort, root: root)
        await node.stop(process)

        func run(_ arguments: [String]) async throws -> ProcessRun {
            try await runProcess(node.binary, ["archive"] + arguments + ["--data-dir", node.dataDir], in: root)
        }
        func text(_ run: ProcessRun) -> String { String(decoding: run.stdout, as: UTF8.self) }
        let later = ISO8601DateFormatter().string(from: Date() + 31 * 86_400)
        func expire() async throws -> ProcessRun {
            try await run(["expire", "--dry-run", "--config", node.configPath, "--at", later])
        }
        var bySender: [String: String] = [:]
        for line in text(try await run(["list", "--json"])).split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if let id = object["id"] as? String, let sender = (object["senders"] as? [String])?.first { bySender[sender] = id }
        }
        let alice = try #require(bySender["alice@example.com"]), carol = try #require(bySender["carol@example.com"])
        let erin = try #require(bySender["erin@example.com"])

        let created = try await run(["hold", "create", "case-1", "--query", "merger", "--reason", "SEC inquiry 42"])
        #expect(created.status == 0, "\(created.stderr)")
        let again = try await run(["hold", "create", "case-1", "--query", "x", "--reason", "r"])
        #expect(again.status == 1 && again.stderr.contains("an open hold is already named \"case-1\""), "\(again.stderr)")
        let unparsed = try await run(["hold", "create", "case-2", "--query", "a (from:bob c", "--reason", "r"])
        #expect(unparsed.status == 64 && unparsed.stderr.contains("column 14: expected ')'"), "\(unparsed.stderr)")

        let listed = try await run(["hold", "list"])
        #expect(listed.status == 0 && text(listed).hasPrefix("case-1  open  created "), "\(text(listed)) \(listed.stderr)")
        let shown = try await run(["hold", "show", "case-1", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout)) as? [String: Any], "\(shown.stderr)")
        #expect(object["count"] as? Int == 2 && Set(object["ids"] as? [String] ?? []) == [alice, carol])
        #expect(object["reason"] as? String == "SEC inquiry 42" && object["state"] as? String == "open")

        // 31 days on: erin's mail has passed the default, alice's too but the hold keeps it,
        // carol's is kept a year by the "lunch" rule.
        let held = try await expire()
        #expect(held.status == 0, "\(held.stderr)")
        let plan = text(held).split(separator: "\n").map { $0.components(separatedBy: "  ") }
        #expect(plan.count == 2 && plan.first?.prefix(2) == [erin, "default"], "\(text(held))")
        #expect(plan.last == ["expired: 1, kept by hold: 1, originals: 3"])
        // Removing as of another day would remove mail before its time: --at only plans.
        let refused = try await run(["expire", "--config", node.configPath, "--at", later])
        #expect(refused.status == 64 && refused.stderr.contains("give it with --dry-run"), "\(refused.stderr)")

        #expect(try await run(["hold", "release", "case-1"]).status == 64)
        let released = try await run(["hold", "release", "case-1", "--yes"])
        #expect(released.status == 0, "\(released.stderr)")
        let free = try await expire()
        #expect(Set(text(free).split(separator: "\n").dropLast().compactMap { $0.split(separator: " ").first.map(String.init) }) == [alice, erin])
        #expect(text(free).hasSuffix("expired: 2, kept by hold: 0, originals: 3\n"), "\(text(free))")

        let log = try String(contentsOfFile: node.dataDir + "/audit/audit.log", encoding: .utf8)
        // The archive reads above (`archive list`) have entries of their own (AuditCommandTests).
        let entries = try log.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }.filter { $0["action"] as? String != "archive.list" }
        #expect(entries.map { $0["action"] as? String } == ["hold.create", "hold.list", "hold.show", "archive.expire", "hold.release", "archive.expire"])
        #expect(entries.allSatisfy { ($0["actor"] as? String)?.hasPrefix("user:") == true })
        #expect((entries.first?["arguments"] as? [String: String])?["hold"] == "case-1")
        #expect(entries[2]["result_count"] as? Int == 2)
        #expect((entries[3]["arguments"] as? [String: String])?["dry_run"] == "true" && entries[3]["result_count"] as? Int == 1)

        // An audit log that cannot take an entry: nothing shown, nothing changed.
        let head = node.dataDir + "/audit/audit.head"
        let saved = try Data(contentsOf: URL(fileURLWithPath: head))
        try Data("not a head".utf8).write(to: URL(fileURLWithPath: head))
        for arguments in [["hold", "list"], ["hold", "show", "case-1"], ["hold", "create", "case-3", "--query", "lunch", "--reason", "r"]] {
            let failed = try await run(arguments)
            #expect(failed.status == 75 && failed.stdout.isEmpty && failed.stderr.contains("audit"), "\(arguments) \(failed.stderr)")
        }
        let blind = try await expire()
        #expect(blind.status == 75 && blind.stdout.isEmpty, "\(blind.stderr)")
        try saved.write(to: URL(fileURLWithPath: head))
        let after = try await run(["hold", "list", "--json"])
        let holds = text(after).split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(holds.map { $0["name"] as? String } == ["case-1"])
        #expect(holds.first?["state"] as? String == "released" && (holds.first?["released_by"] as? String)?.hasPrefix("user:") == true)
    }
}
