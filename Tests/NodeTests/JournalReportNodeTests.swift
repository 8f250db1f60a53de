import Foundation
import TestSupport
import Testing

/// Journal reports through a running node (issue 24): two reports of one original and a
/// plain copy of it are one original with three arrivals; the Bcc recipient only a report
/// names is found; each arrival's bytes come back as received; a report that is not well
/// formed is archived as plain mail. In a pair, both nodes hold the same arrivals.
@Suite(.serialized) struct JournalReportNodeTests {
    static let script = NodeTestSupport.packageRoot.appendingPathComponent("Tests/NodeTests/Scripts/journal_reports.py").path

    /// Sends the script's reports to `node`'s journal listener; the ids each 250 named.
    static func sendReports(_ node: ChainNode, port: Int? = nil, into dir: String) async throws -> [String: String] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let run = try await runProcess(NodeTestSupport.python, [script, "\(port ?? node.journalPort)", dir], in: node.root)
        try #require(run.status == 0, "\(String(decoding: run.stdout, as: UTF8.self)) \(run.stderr)")
        let ids = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/ids.json"))) as? [String: String]
        return try #require(ids)
    }

    static func cli(_ node: ChainNode, _ arguments: [String]) async throws -> [UInt8] {
        let run = try await runProcess(node.binary, ["archive"] + arguments + ["--data-dir", node.dataDir], in: node.root)
        try #require(run.status == 0, "archive \(arguments): \(run.stderr)")
        return run.stdout
    }

    static func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// `archive list --json`, one object per original.
    static func list(_ node: ChainNode, _ filter: [String] = []) async throws -> [[String: Any]] {
        try await cli(node, ["list", "--json"] + filter).split(separator: UInt8(ascii: "\n")).map { try json(Array($0)) }
    }

    @Test func reportsOfOneOriginalAreOneOriginalWithEveryArrival() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "journal-a", root: workspace.root)
        try node.writeConfig("")
        let process = try await node.start(workspace.children)
        let sent = workspace.root + "/sent"
        let ids = try await Self.sendReports(node, into: sent)
        let file = { (name: String) in [UInt8](try Data(contentsOf: URL(fileURLWithPath: sent + "/" + name + ".eml"))) }
        let original = try file("original")

        let parsed = try await node.metric("archive_journal_reports_total{outcome=\"parsed\"}")
        let malformed = try await node.metric("archive_journal_reports_total{outcome=\"malformed\"}")
        #expect(parsed == 2 && malformed == 1)
        await node.stop(process)

        // The three arrivals of the original, and the malformed report as plain mail.
        let all = try await Self.list(node)
        #expect(all.count == 2)
        let entry = try #require(all.first { ($0["arrivals"] as? Int) == 3 })
        #expect(entry["journal"] as? Bool == true)
        let recipients = Set((entry["recipients"] as? [String]) ?? [])
        #expect(recipients.isSuperset(of: ["bob@corp.example", "dave@corp.example", "carol@corp.example", "frank@corp.example",
                                           "board@corp.example", "eve@corp.example"]), "\(recipients)")
        let id = try #require(entry["id"] as? String)
        #expect(try await Self.list(node, ["--recipient", "dave@corp.example"]).map { $0["id"] as? String } == [id])
        #expect(try await Self.list(node, ["--sender", "alice@corp.example"]).map { $0["id"] as? String } == [id])
        #expect(try await Self.list(node, ["--sender", "journaling@corp.example"]).count == 1, "only the malformed report, as plain mail")

        // show: every arrival with its envelope; the reports' with what they name.
        let shown = try Self.json(try await Self.cli(node, ["show", id, "--json"]))
        let arrivals = (shown["arrivals"] as? [[String: Any]]) ?? []
        #expect(Set(arrivals.compactMap { $0["id"] as? String }) == Set(["report-1", "report-2", "plain"].compactMap { ids[$0] }))
        let first = try #require(arrivals.first { $0["id"] as? String == ids["report-1"] })
        let report = try #require(first["report"] as? [String: Any])
        #expect(report["sender"] as? String == "alice@corp.example")
        let named = (report["recipients"] as? [[String: Any]]) ?? []
        #expect(named.contains { $0["address"] as? String == "dave@corp.example" && $0["kind"] as? String == "bcc" })
        #expect(first["mail_from"] as? String == "journaling@corp.example")

        // get: the original; get --as-received: each arrival byte for byte.
        #expect(try await Self.cli(node, ["get", id, "--raw"]) == original)
        for name in ["report-1", "report-2", "plain"] {
            let arrival = try #require(ids[name])
            #expect(try await Self.cli(node, ["get", "--as-received", arrival, "--raw"]) == (try file(name == "plain" ? "original" : name)), "\(name)")
        }
        let plainMalformed = try #require(ids["malformed"])
        #expect(try await Self.cli(node, ["get", plainMalformed, "--raw"]) == (try file("malformed")))
        let verify = try await runProcess(node.binary, ["archive", "verify", "--data-dir", node.dataDir], in: node.root)
        #expect(verify.status == 0, "\(String(decoding: verify.stdout, as: UTF8.self))")
    }

    /// A pair behind nginx stream (round robin, PROXY): each report lands on either node,
    /// which forwards it as received; the peer unwraps it and records the same arrival
    /// (same id): both nodes hold the same originals and arrivals, and equal digests.
    @Test func aPairBehindNginxHoldsTheSameArrivals() async throws {
        try NginxChainTests.requireNginx()
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let a = try ChainNode(id: "node-a", root: root), b = try ChainNode(id: "node-b", root: root)
        try ChainNode.configurePair(a, b, journalExtra: "trusted_proxies = [\"127.0.0.1\"]")
        let processA = try await a.start(workspace.children), processB = try await b.start(workspace.children)
        let port = try freePort()
        _ = try await NginxChainTests.startNginx(port: port, upstreams: [a.journalPort, b.journalPort], root: root, children: workspace.children)
        let ids = try await Self.sendReports(a, port: port, into: root + "/sent")
        let settled = try await eventually {
            let (da, db) = (try await a.digest(), try await b.digest())
            let depths = (try await a.queueDepth(), try await b.queueDepth())
            return !da.isEmpty && da == db && depths == (0, 0)
        }
        let (digestA, digestB) = (try await a.digest(), try await b.digest())
        #expect(settled, "A: \(digestA) B: \(digestB)")
        // Each node unwrapped both reports: the one nginx gave it and its peer's copy.
        #expect(try await a.metric("archive_journal_reports_total{outcome=\"parsed\"}") == 2)
        #expect(try await b.metric("archive_journal_reports_total{outcome=\"parsed\"}") == 2)
        await a.stop(processA)
        await b.stop(processB)
        for name in ["report-1", "report-2", "plain"] {
            let arrival = try #require(ids[name])
            let (onA, onB) = (try await Self.cli(a, ["get", "--as-received", arrival, "--raw"]),
                              try await Self.cli(b, ["get", "--as-received", arrival, "--raw"]))
            #expect(onA == onB && !onA.isEmpty, "\(name)")
        }
        let (listA, listB) = (try await Self.list(a), try await Self.list(b))
        #expect(listA.count == 2 && listB.count == 2)
        #expect(Set(listA.compactMap { $0["sha256"] as? String }) == Set(listB.compactMap { $0["sha256"] as? String }))
    }
}
