import Foundation
import TestSupport
import Testing

/// The product as its users run it: real nginx (stream module, PROXY protocol) balancing
/// journal connections over an HA pair. Every message a client got 250 for ends up on
/// both nodes, also when one node is SIGKILLed in the middle and comes back later.
@Suite(.serialized) struct NginxChainTests {
    static let nginx = "/usr/sbin/nginx"
    static let streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

    /// nginx on 127.0.0.1:`port`, round-robin over `upstreams` with a PROXY v1 header.
    static func startNginx(port: Int, upstreams: [Int], root: String, children: ChildProcesses) async throws -> Process {
        let dir = root + "/nginx"
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        try """
        load_module \(streamModule);
        pid \(dir)/nginx.pid;
        error_log \(dir)/logs/error.log info;
        # One process, no workers: the SIGKILL that ends the test ends all of nginx (a
        # killed master leaves its workers running, listening, for good).
        master_process off;
        events { worker_connections 256; }
        stream {
            upstream journal {
        \(upstreams.map { "        server 127.0.0.1:\($0) max_fails=1 fail_timeout=2s;" }.joined(separator: "\n"))
            }
            server {
                listen 127.0.0.1:\(port);
                proxy_pass journal;
                proxy_protocol on;
                proxy_connect_timeout 2s;
                proxy_timeout 60s;
            }
        }
        """.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
        let process = try children.launch(nginx, ["-p", dir, "-c", dir + "/nginx.conf", "-g", "daemon off;"], log: dir + "/stderr.log")
        try await NodeTestSupport.waitUntilListening(process, ports: [port], log: dir + "/stderr.log")
        return process
    }

    /// Fails the test (with how to get it) when nginx or its stream module is missing.
    static func requireNginx() throws {
        try #require(FileManager.default.isExecutableFile(atPath: nginx) && FileManager.default.fileExists(atPath: streamModule),
                     "nginx with the stream module is needed (apt-get install nginx libnginx-mod-stream)")
    }

    static let floodScript = NodeTestSupport.packageRoot.appendingPathComponent("Tests/NodeTests/Scripts/journal_flood.py").path
    static let messages = 5000 * TestScale.soak, sessions = 8
    /// Seconds the flood, and then the nodes' catching up, may take: about 30 s in all on
    /// an idle machine (debug build), several times that with the suite sharing two cores.
    static let floodPatience = 300 * TestScale.time

    /// The SHA-256 lines of the client's manifest (one per message that got 250).
    static func acknowledged(_ manifest: String) -> [String] {
        (try? String(contentsOfFile: manifest, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    /// Polls until the client has `count` messages acknowledged (or has exited).
    static func waitForAcknowledged(_ count: Int, manifest: String, client: Process) async throws {
        while acknowledged(manifest).count < count, client.isRunning { try await Task.sleep(for: .milliseconds(20)) }
    }

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(15)))
    func haPairBehindNginxKeepsEveryAcknowledgedMessageThroughANodeCrash() async throws {
        try Self.requireNginx()
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let a = try ChainNode(id: "edge-a", root: root), b = try ChainNode(id: "edge-b", root: root)
        try ChainNode.configurePair(a, b, journalExtra: "trusted_proxies = [\"127.0.0.1\"]")
        let processA = try await a.start(workspace.children)
        var processB = try await b.start(workspace.children)
        let port = try freePort()
        _ = try await Self.startNginx(port: port, upstreams: [a.journalPort, b.journalPort], root: root, children: workspace.children)

        // 5,000 (times the soak factor) distinct messages over 8 sessions through nginx, each retried until it gets 250.
        let manifest = root + "/acknowledged.txt", clientLog = root + "/client.log"
        let client = try workspace.children.launch(NodeTestSupport.python, [Self.floodScript, "\(port)", "\(Self.messages)", "\(Self.sessions)", manifest, "\(Self.floodPatience)"], log: clientLog)

        // B dies without warning after a third; nginx fails over to A; B comes back after two thirds.
        try await Self.waitForAcknowledged(Self.messages / 3, manifest: manifest, client: client)
        let balanced = (try await a.metric("smtp_messages_received_total{listener=\"journal\""), try await b.metric("smtp_messages_received_total{listener=\"journal\""))
        #expect(balanced.0 > 0 && balanced.1 > 0, "nginx did not balance: \(balanced)")
        kill(processB.processIdentifier, SIGKILL)
        #expect(await processB.waitForExit(timeout: .seconds(patience)), "B survived SIGKILL")
        try await Self.waitForAcknowledged(2 * Self.messages / 3, manifest: manifest, client: client)
        processB = try await b.start(workspace.children)
        #expect(await client.waitForExit(timeout: .seconds(Self.floodPatience + patience)))
        #expect(client.terminationStatus == 0, "client: \(NodeTestSupport.tail(clientLog))")
        let acknowledged = Self.acknowledged(manifest)
        #expect(acknowledged.count == Self.messages && Set(acknowledged).count == Self.messages,
                "\(acknowledged.count) acknowledged, \(Set(acknowledged).count) distinct: \(NodeTestSupport.tail(clientLog))")

        // B catches up from A's queue (and A from B's, for what B took before it died), and
        // both queues empty (a copy leaves once the peer's 250 is back, after it stored it).
        let expected = Set(acknowledged)
        let complete = try await eventually(within: Self.floodPatience) {
            let (onA, onB) = (Set(try await a.archivedDigests().keys), Set(try await b.archivedDigests().keys))
            let depths = (try await a.queueDepth(), try await b.queueDepth())
            return onA == expected && onB == expected && depths == (0, 0)
        }
        let (onA, onB) = (try await a.archivedDigests(), try await b.archivedDigests())
        #expect(complete, "acknowledged \(expected.count): missing on A \(expected.subtracting(onA.keys).count), on B \(expected.subtracting(onB.keys).count); not acknowledged on A \(Set(onA.keys).subtracting(expected).count), on B \(Set(onB.keys).subtracting(expected).count)")
        #expect(onA.values.allSatisfy { $0 == 1 } && onB.values.allSatisfy { $0 == 1 }, "a message was stored twice")
        let depths = (try await a.queueDepth(), try await b.queueDepth())
        #expect(depths == (0, 0))
        let (digestA, digestB) = (try await a.digest(), try await b.digest())
        #expect(!digestA.isEmpty && digestA == digestB)
        await a.stop(processA)
        await b.stop(processB)
        for node in [a, b] {
            let verify = try await runProcess(node.binary, ["archive", "verify", "--data-dir", node.dataDir], in: root)
            #expect(verify.status == 0, "\(node.id): \(String(decoding: verify.stdout, as: UTF8.self))")
        }
    }
}
