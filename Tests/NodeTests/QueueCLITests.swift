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
}
