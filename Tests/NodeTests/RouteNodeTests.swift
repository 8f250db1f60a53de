import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Routes through the real binary: `check-config`, 550 5.7.1 for recipients no route takes,
/// and `kill -HUP` swapping routes without a restart (and refusing a broken file).
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(2)))
struct RouteNodeTests {
    @Test func examplesCheckClean() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let examples = NodeTestSupport.packageRoot.appendingPathComponent("examples").path
        let files = try FileManager.default.contentsOfDirectory(atPath: examples).filter { $0.hasSuffix(".toml") }
        try #require(!files.isEmpty)
        for file in files {
            let run = try await runProcess(workspace.node.binary, ["check-config", examples + "/" + file], in: workspace.root)
            #expect(run.status == 0, "\(file): \(String(decoding: run.stdout, as: UTF8.self)) \(run.stderr)")
        }
    }

    @Test func checkConfigReportsEveryProblemWithItsLocation() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let file = workspace.root + "/bad.toml"
        try """
        [node]
        id = "bad id"
        [[listener]]
        name = "journal"
        address = "0.0.0.0:2525"
        [[listener]]
        name = "ha"
        address = "127.0.0.1:2525"
        [[route]]
        name = "r1"
        listeners = ["jornal"]
        recipients = ["not a pattern"]
        [[route]]
        name = "r1"
        archive = false
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try await runProcess(workspace.node.binary, ["check-config", file], in: workspace.root)
        let out = String(decoding: run.stdout, as: UTF8.self)
        #expect(run.status != 0)
        for expected in ["listener[2] \"ha\": port 2525 is already taken by listener[1] \"journal\"",
                         "route[1] \"r1\": listeners names unknown listener \"jornal\"",
                         "route[1] \"r1\": recipients: pattern \"not a pattern\"", "route[2] \"r1\": the name is already used by route[1]",
                         "route[2] \"r1\": archive = false and no forward", "node: id: \"bad id\" is not a node id"] {
            #expect(out.contains(expected), "missing \(expected) in:\n\(out)")
        }
    }

    @Test func routesRefuseUnroutedRecipientsAndReloadOnHup() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let (root, children, node) = (workspace.root, workspace.children, workspace.node)
        let config = root + "/node.toml"
        func write(recipients: String) throws {
            try """
            [node]
            id = "route-test"
            data_dir = "\(node.dataDir)"
            admin = "127.0.0.1:\(node.adminPort)"
            [[listener]]
            name = "journal"
            address = "127.0.0.1:\(node.smtpPort)"
            [[route]]
            name = "journal"
            listeners = ["journal"]
            recipients = [\(recipients)]
            """.write(toFile: config, atomically: true, encoding: .utf8)
        }
        func rcpt(_ address: String) async throws -> String {
            let run = try await runProcess(NodeTestSupport.python, [NodeTestSupport.clientScript, "rcpt", "\(node.smtpPort)", address], in: root)
            return String(decoding: run.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func reloaded(_ count: Int) async throws -> Bool {
            try await eventually {
                let log = NodeTestSupport.tail(node.log, bytes: 20000)
                return log.components(separatedBy: "configuration reloaded").count - 1 + log.components(separatedBy: "reload refused").count - 1 >= count
            }
        }

        try write(recipients: "\"@archive.example\"")
        let server = try children.launch(node.binary, ["serve", "--config", config], log: node.log)
        try await NodeTestSupport.waitUntilListening(server, ports: [node.smtpPort], log: node.log)
        #expect(try await rcpt("j@archive.example") == "250 250")
        #expect(try await rcpt("j@other.example") == "550")

        try write(recipients: "\"@archive.example\", \"@other.example\"")
        server.sendSignal(SIGHUP)
        #expect(try await reloaded(1), "no reload in the log: \(NodeTestSupport.tail(node.log))")
        #expect(try await rcpt("j@other.example") == "250 250")

        try "[[route]]\nname = \"broken\"\nrecipients = [\"no pattern\"]\n".write(toFile: config, atomically: true, encoding: .utf8)
        server.sendSignal(SIGHUP)
        #expect(try await reloaded(2))
        #expect(NodeTestSupport.tail(node.log, bytes: 20000).contains("reload refused"))
        #expect(try await rcpt("j@other.example") == "250 250", "a broken file replaced the running routes")
        #expect(server.isRunning)
        // Both reloads are in the audit log, by the node, with their outcome.
        let audit = try await runProcess(node.binary, ["archive", "audit", "--json", "--data-dir", node.dataDir], in: root)
        let reloads = try String(decoding: audit.stdout, as: UTF8.self).split(separator: "\n").compactMap { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }.filter { $0["action"] as? String == "config.reload" }
        #expect(reloads.map { $0["actor"] as? String } == ["node", "node"], "\(audit.stderr)")
        #expect(reloads.map { ($0["arguments"] as? [String: String])?["result"] } == ["applied", "refused"])
        #expect(reloads.allSatisfy { ($0["arguments"] as? [String: String])?["file"] == config })
        await node.stop(server)
    }
}
