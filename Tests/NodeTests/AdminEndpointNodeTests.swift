import Foundation
import TestSupport
import Testing

/// The admin endpoint of a real node, asked by Python's http.client (issue 22, findings 1
/// and 2): the requests that killed the node, then what a web page can send it, then the
/// CLI's changes, each logged and counted.
@Suite struct AdminEndpointNodeTests {
    /// Sends each request given as `METHOD PATH [Header: value]...` (one per argument) on a
    /// connection of its own and prints `STATUS` per request, one per line.
    static let client = #"""
    import http.client, sys
    port = int(sys.argv[1])
    for spec in sys.argv[2:]:
        parts = spec.split("|")
        method, path = parts[0].split(" ", 1)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        headers = dict(h.split(": ", 1) for h in parts[1:])
        headers.setdefault("Host", "127.0.0.1:%d" % port)
        for name, value in headers.items():
            if value != "-":
                c.putheader(name, value)
        c.endheaders()
        print(c.getresponse().status, flush=True)
        c.close()
    """#

    func ask(_ node: ChainNode, _ requests: [String]) async throws -> [Int] {
        let run = try await runProcess(NodeTestSupport.python, ["-c", Self.client, "\(node.adminPort)"] + requests, in: node.root)
        try #require(run.status == 0, "client: \(run.stderr)\nlog:\n\(NodeTestSupport.tail(node.log))")
        return String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
    }

    @Test(.timeLimit(.minutes(3)))
    func theAdminEndpointServesItsOperatorsAndNoWebPage() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "admin", root: workspace.root)
        // A peer nothing listens on: the message stays queued, entry 1.
        let deadPort = try freePort()
        try node.writeConfig("""
            [[connection]]
            name = "peer"
            host = "127.0.0.1"
            port = \(deadPort)
            tls = "none"

            [[route]]
            name = "journal"
            listeners = ["journal"]
            forward = ["peer"]
            """, nodeExtra: "admin_hosts = [\"archive.example\"]")
        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail([("alice@example.com", "Subject: queued\r\n\r\nfor the peer\r\n")], port: node.journalPort,
                                           root: workspace.root)

        // Finding 1: one GET with "?=" stopped the node.
        let crashers = ["/healthz?=", "/healthz?==", "/healthz?&=&", "/healthz?a&=", "/?="]
        #expect(try await ask(node, crashers.map { "GET \($0)" }) == [200, 200, 200, 200, 404])
        #expect(try await ask(node, ["GET /healthz"]) == [200])

        // Finding 2: a cross-site form post, a rebound host name, a change without the header.
        let change = "X-Archiverelay-Admin: 1"
        #expect(try await ask(node, [
            "POST /queue/delete?id=1|Origin: https://evil.example|\(change)",
            "POST /queue/delete?id=1|Origin: null|\(change)",
            "POST /queue/delete?id=1|Sec-Fetch-Site: cross-site|\(change)",
            "POST /queue/delete?id=1|Host: attacker.example:\(node.adminPort)|\(change)",
            "GET /queue|Host: attacker.example",
            "POST /queue/delete?id=1",
            "GET /metrics|Host: archive.example:\(node.adminPort)",
            "GET /queue|Host: localhost",
        ]) == [403, 403, 403, 403, 403, 403, 200, 200])
        #expect(try await node.queueDepth() == 1, "a refused request changed the queue")
        #expect(try await node.metric("admin_requests_refused_total{reason=\"origin\"}") == 3)
        #expect(try await node.metric("admin_requests_refused_total{reason=\"host\"}") == 2)
        #expect(try await node.metric("admin_requests_refused_total{reason=\"change_header\"}") == 1)

        // The CLI sends the header; its change is logged and counted.
        let cli = try await runProcess(node.binary, ["queue", "hold", "1", "--data-dir", node.dataDir,
                                                              "--admin", "127.0.0.1:\(node.adminPort)"], in: workspace.root)
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(try await node.metric("admin_changes_total{action=\"hold\"}") == 1)
        let log = try String(contentsOfFile: node.log, encoding: .utf8)
        #expect(log.contains("admin change") && log.contains("action=hold"), "\(NodeTestSupport.tail(node.log))")
        #expect(log.contains("admin request refused"))
        await node.stop(process)
    }
}
