import Foundation
import TestSupport
import Testing

/// `archiverelay queue …` against a running node (admin endpoint) and a stopped one (files
/// under the queue lock).
@Suite struct QueueCLITests {
    @Test func queueCommandsGoThroughTheNodeOrTheFiles() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let (root, children, node) = (workspace.root, workspace.children, workspace.node)
        let target = ["--data-dir", node.dataDir, "--admin", "127.0.0.1:\(node.adminPort)"]
        func queue(_ arguments: [String], _ extra: [String] = []) async throws -> (status: Int32, stdout: String, stderr: String) {
            let r = try await runProcess(node.binary, ["queue"] + arguments + (extra.isEmpty ? target : extra), in: root)
            return (r.status, String(decoding: r.stdout, as: UTF8.self), r.stderr)
        }

        var r = try await queue(["dump", "--json"])
        #expect(r.status == 0 && r.stdout.isEmpty, "offline dump of an empty data directory: \(r.stderr)")

        let server = try await node.start(children)
        r = try await queue(["dump"])
        #expect(r.status == 0, "\(r.stderr)")
        r = try await queue(["hold", "7"])
        #expect(r.status != 0 && r.stderr.contains("no queue entry 7"), "\(r.stderr)")
        r = try await queue(["retry", "--all"])
        #expect(r.status == 0 && r.stdout.contains("0 entries due now"), "\(r.stdout) \(r.stderr)")
        let silentPort = try freePort()
        r = try await queue(["dump"], ["--data-dir", node.dataDir, "--admin", "127.0.0.1:\(silentPort)"])
        #expect(r.status != 0 && r.stderr.contains("locked by a running node"), "\(r.stderr)")
        r = try await queue(["delete", "7"])
        #expect(r.status != 0 && r.stderr.contains("--yes"), "\(r.stderr)")
        await node.stop(server)

        r = try await queue(["release", "--all"])
        #expect(r.status == 0 && r.stdout.contains("0 entries released"), "offline release: \(r.stdout) \(r.stderr)")
        r = try await queue(["show", "7"])
        #expect(r.status != 0 && r.stderr.contains("no queue entry 7"), "\(r.stderr)")
    }

    /// A node whose admin endpoint serves TLS: the CLIs reach it with the CA that signed its
    /// certificate, and are refused (never silently sent to the files) without it, with
    /// another CA, or over plain HTTP.
    @Test(.timeLimit(NodeTestSupport.scaledMinutes(3)))
    func theCLIsReachATLSAdminEndpointWithItsCA() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let pki = try await TestPKI.shared()
        let node = try ChainNode(id: "tls-admin", root: workspace.root)
        try node.writeConfig("", nodeExtra: """
            admin_tls_certificate_file = "\(pki.leaf.certificate)"
            admin_tls_key_file = "\(pki.leaf.key)"
            """)
        let process = try await node.start(workspace.children)
        func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            let r = try await runProcess(node.binary, arguments, in: workspace.root)
            return (r.status, String(decoding: r.stdout, as: UTF8.self), r.stderr)
        }
        let address = "127.0.0.1:\(node.adminPort)"
        let data = ["--data-dir", node.dataDir]

        var r = try await run(["queue", "retry", "--all", "--admin", address, "--admin-ca", pki.authority] + data)
        #expect(r.status == 0 && r.stdout.contains("0 entries due now"), "\(r.stdout) \(r.stderr)")
        r = try await run(["queue", "dump", "--admin", "https://" + address, "--admin-ca", pki.authority] + data)
        #expect(r.status == 0, "\(r.stderr)")
        r = try await run(["queue", "dump", "--admin", "https://" + address] + data)
        #expect(r.status != 0 && r.stderr.contains("TLS") && r.stderr.contains("--admin-ca"), "no CA: \(r.stderr)")
        r = try await run(["queue", "dump", "--admin", address, "--admin-ca", pki.stranger.certificate] + data)
        #expect(r.status != 0 && r.stderr.contains("TLS"), "another CA: \(r.stderr)")
        r = try await run(["queue", "dump", "--admin", address] + data)
        #expect(r.status != 0 && r.stderr.contains("no answer from the admin endpoint"), "plain HTTP: \(r.stderr)")
        // archive expire with the node running goes through the endpoint too, https by the config.
        r = try await run(["archive", "expire", "--config", node.configPath, "--admin-ca", pki.authority])
        #expect(r.status == 0 && r.stdout.contains("by the node at"), "\(r.stdout) \(r.stderr)")
        await node.stop(process)
    }
}
