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
        let configuration = """
            [[connection]]
            name = "peer"
            host = "127.0.0.1"
            port = \(deadPort)
            tls = "none"

            [[route]]
            name = "journal"
            listeners = ["journal"]
            forward = ["peer"]
            """
        // A token of role read for the API, as an operator makes one.
        let made = try await runProcess(node.binary, ["token", "create", "auditor", "--role", "read"], in: workspace.root)
        let printed = String(decoding: made.stdout, as: UTF8.self)
        let secret = try #require(printed.split(separator: "\n").first?.split(separator: " ").last.map(String.init), "\(printed)")
        let tokenLines = try #require(printed.range(of: "[[token]]").map { String(printed[$0.lowerBound...]) })
        try Data(tokenLines.utf8).write(to: URL(fileURLWithPath: workspace.root + "/tokens.toml"))
        try node.writeConfig(configuration, nodeExtra: "admin_hosts = [\"archive.example\"]\nadmin_tokens_file = \"\(workspace.root)/tokens.toml\"")
        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail([("alice@example.com", "Subject: queued\r\n\r\nfor the peer\r\n")], port: node.journalPort,
                                           root: workspace.root)

        // Finding 1: one GET with "?=" stopped the node.
        let crashers = ["/healthz?=", "/healthz?==", "/healthz?&=&", "/healthz?a&=", "/?="]
        #expect(try await ask(node, crashers.map { "GET \($0)" }) == [200, 200, 200, 200, 401])
        #expect(try await ask(node, ["GET /healthz"]) == [200])

        // Finding 2 and issue 26: a cross-site request, a rebound host name, no token, a GET
        // on a change: none changes the queue, whatever token it carries.
        let local = try String(contentsOfFile: node.dataDir + "/admin/local.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let auth = "Authorization: Bearer \(local)"
        #expect(try await ask(node, [
            "POST /queue/delete?id=1|Origin: https://evil.example|\(auth)",
            "POST /queue/delete?id=1|Origin: null|\(auth)",
            "POST /queue/delete?id=1|Sec-Fetch-Site: cross-site|\(auth)",
            "POST /queue/delete?id=1|Host: attacker.example:\(node.adminPort)|\(auth)",
            "GET /queue|Host: attacker.example|\(auth)",
            "POST /queue/delete?id=1",
            "GET /queue/delete?id=1|\(auth)",
            "POST /queue/delete?id=1|Authorization: Bearer \(secret)",
            "GET /metrics|Host: archive.example:\(node.adminPort)",
            "GET /queue|Host: localhost|\(auth)",
        ]) == [403, 403, 403, 403, 403, 401, 405, 403, 200, 200])
        #expect(try await node.queueDepth() == 1, "a refused request changed the queue")
        #expect(try await node.metric("admin_requests_refused_total{reason=\"origin\"}") == 3)
        #expect(try await node.metric("admin_requests_refused_total{reason=\"host\"}") == 2)
        #expect(try await node.metric("admin_requests_refused_total{reason=\"token\"}") == 2, "/?= and the POST without a token")

        // An API read is audited under the token's name before it is answered.
        #expect(try await ask(node, ["GET /archive/search?q=queued|Authorization: Bearer \(secret)"]) == [200])
        let audit = try String(contentsOfFile: node.dataDir + "/audit/audit.log", encoding: .utf8)
        #expect(audit.contains("token:auditor") && audit.contains("archive.search"), "\(audit)")
        // The audit log is read through the API by admin only (the local token), and that read is audited too.
        #expect(try await ask(node, ["GET /audit|Authorization: Bearer \(secret)", "GET /audit?since=2000-01-01|\(auth)"]) == [403, 200])
        #expect(try String(contentsOfFile: node.dataDir + "/audit/audit.log", encoding: .utf8).contains("audit.read"))

        // The CLI sends the node's local token; its change is logged and counted.
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
