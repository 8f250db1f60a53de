import Foundation
import TestSupport
import Testing

/// The audit trail through the real binary: every archive read of the CLIs leaves its entry
/// (the OS user, the query or id, the count) before it prints; eight searches at once leave
/// one sound chain; `archive audit verify` finds an edit; and a log that cannot be written
/// stops a read with exit 75 and nothing printed.
@Suite(.serialized) struct AuditCommandTests {
    static var operatingSystemUser: String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "user:\(geteuid())" }
        return "user:" + String(cString: name)
    }

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(3)))
    func archiveReadsAreRecordedBeforeTheyPrint() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let node = try ChainNode(id: "audit", root: root)
        try node.writeConfig("")
        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail(SearchCommandTests.messages, port: node.journalPort, root: root)
        await node.stop(process)

        func cli(_ arguments: [String]) async throws -> ProcessRun {
            try await runProcess(node.binary, ["archive"] + arguments + ["--data-dir", node.dataDir], in: root)
        }
        func auditEntries() async throws -> [[String: Any]] {
            let run = try await cli(["audit", "--json"])
            try #require(run.status == 0, "\(run.stderr)")
            return try String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
        }

        let listed = try await cli(["list", "--json", "--sender", "alice@example.com"])
        let alice = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout)) as? [String: Any])["id"] as? String
        let id = try #require(alice, "\(listed.stderr)")
        #expect(try await cli(["search", "merger"]).status == 0)
        #expect(try await cli(["search", "--count", "from:carol"]).status == 0)
        #expect(try await cli(["show", id]).status == 0)
        #expect(try await cli(["get", id]).stdout.count > 0)
        let mbox = root + "/merger.mbox"
        #expect(try await cli(["export", "--format", "mbox", "--out", mbox, "--query", "merger"]).status == 0)

        let entries = try await auditEntries()
        let user = Self.operatingSystemUser
        func entry(_ action: String) -> [String: Any]? { entries.first { $0["action"] as? String == action } }
        #expect(entries.count == 6, "\(entries)")
        #expect(entries.allSatisfy { $0["actor"] as? String == user }, "\(entries)")
        #expect(entries.map { $0["seq"] as? Int } == Array(1...6))
        #expect(entry("archive.list")?["arguments"] as? [String: String] == ["sender": "alice@example.com"])
        #expect(entry("archive.list")?["result_count"] as? Int == 1)
        let searches = entries.filter { $0["action"] as? String == "archive.search" }
        #expect(searches.map { $0["arguments"] as? [String: String] } == [["query": "merger", "limit": "100"], ["query": "from:carol", "count": "true"]])
        #expect(searches.map { $0["result_count"] as? Int } == [2, 1])
        #expect(entry("archive.show")?["arguments"] as? [String: String] == ["id": id] && entry("archive.show")?["result_count"] as? Int == 1)
        #expect(entry("archive.get")?["arguments"] as? [String: String] == ["id": id] && entry("archive.get")?["result_count"] as? Int == 1)
        #expect(entry("archive.export")?["arguments"] as? [String: String] == ["format": "mbox", "out": mbox, "query": "merger"])
        #expect(entry("archive.export")?["result_count"] as? Int == 2)
        // Reading the log is recorded too, after what it read.
        let readable = try await cli(["audit"])
        let lines = String(decoding: readable.stdout, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 7 && lines.last?.contains("\(user)  audit.read  format=json  count=6") == true, "\(lines)")
        #expect(lines.first?.contains("archive.list  sender=alice@example.com  count=1") == true, "\(lines)")

        // Eight searches at once, each appending under the log's lock.
        let searchRuns = try await withThrowingTaskGroup(of: ProcessRun.self) { group in
            for _ in 0..<8 { group.addTask { try await cli(["search", "lunch"]) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(searchRuns.allSatisfy { $0.status == 0 }, "\(searchRuns.map(\.stderr))")
        let afterSearches = try await auditEntries()
        #expect(afterSearches.count == 16 && afterSearches.map { $0["seq"] as? Int } == Array(1...16))
        #expect(afterSearches.filter { ($0["arguments"] as? [String: String])?["query"] == "lunch" }.count == 8)
        let verified = try await cli(["audit", "verify"])
        #expect(verified.status == 0, "\(String(decoding: verified.stdout, as: UTF8.self))")
        #expect(String(decoding: verified.stdout, as: UTF8.self).hasSuffix("17 entries, head seq 17, 0 problems\n"))

        // An edited entry: verify names its line, and reads stop (the log refuses appends
        // after a last entry that is not the head's).
        let logPath = node.dataDir + "/audit/audit.log"
        let original = readFile(logPath)
        let edited = String(decoding: original, as: UTF8.self).replacingOccurrences(of: "\"query\":\"merger\"", with: "\"query\":\"lunch\"")
        try writeFile(logPath, Array(edited.utf8))
        let tampered = try await cli(["audit", "verify"])
        #expect(tampered.status == 1)
        #expect(String(decoding: tampered.stdout, as: UTF8.self).contains("PROBLEM line 2, seq 2: edited"), "\(String(decoding: tampered.stdout, as: UTF8.self))")
        try writeFile(logPath, original)

        // A log that cannot be written: nothing of the read is printed, exit 75.
        try FileManager.default.removeItem(atPath: logPath)
        try FileManager.default.createDirectory(atPath: logPath, withIntermediateDirectories: false)
        for read in [["get", id], ["search", "merger"], ["list"], ["show", id]] {
            let refused = try await cli(read)
            #expect(refused.status == 75, "\(read): \(refused.stderr)")
            #expect(refused.stdout.isEmpty, "\(read)")
            #expect(refused.stderr.contains("audit log \(logPath)"), "\(read): \(refused.stderr)")
        }
        let refusedExport = try await cli(["export", "--format", "mbox", "--out", root + "/refused.mbox"])
        #expect(refusedExport.status == 75 && !FileManager.default.fileExists(atPath: root + "/refused.mbox"))
    }
}
