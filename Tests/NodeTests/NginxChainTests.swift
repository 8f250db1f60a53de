import Foundation
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
        worker_processes 1;
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
        try await NodeTestSupport.waitUntilListening(process, ports: [port], log: dir + "/stderr.log", seconds: 10)
        return process
    }

    @Test func haPairBehindNginxKeepsEveryAcknowledgedMessageThroughANodeCrash() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.nginx) && FileManager.default.fileExists(atPath: Self.streamModule),
                     "nginx with the stream module is needed (apt-get install nginx libnginx-mod-stream)")
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let a = try ChainNode(id: "edge-a", root: root), b = try ChainNode(id: "edge-b", root: root)
        try ChainNode.configurePair(a, b, journalExtra: "trusted_proxies = [\"127.0.0.1\"]")
        let processA = try await a.start(workspace.children)
        var processB = try await b.start(workspace.children)
        let port = try NodeTestSupport.freePort()
        _ = try await Self.startNginx(port: port, upstreams: [a.journalPort, b.journalPort], root: root, children: workspace.children)

        var acknowledged: Set<String> = []
        let own = root + "/own"
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        func send(_ name: String) async throws -> Int {
            let path = try ChainTests.message(own, name)
            let reply = try await ChainNode.send(path, port: port, root: root)
            if reply.code == 250 {
                let sums = try await NodeTestSupport.sha256sums(directory: own)
                acknowledged.insert(try #require(sums[name + ".eml"]))
            }
            return reply.code
        }
        for n in 0..<20 { #expect(try await send("before-\(n)") == 250) }
        // Both nodes took connections from nginx (round robin), through the PROXY header.
        let direct = (try await a.metric("smtp_messages_received_total{listener=\"journal\""), try await b.metric("smtp_messages_received_total{listener=\"journal\""))
        #expect(direct.0 > 0 && direct.1 > 0, "nginx did not balance: \(direct)")

        // B dies without warning; nginx fails over to A; every 250 still counts.
        kill(processB.processIdentifier, SIGKILL)
        _ = await processB.waitForExit(timeout: .seconds(5))
        for n in 0..<20 { _ = try await send("during-\(n)") }
        #expect(acknowledged.count >= 35, "too few messages acknowledged while one node was down: \(acknowledged.count)")

        // B comes back and catches up from A's queue; A's copies of B's earlier messages were already there.
        processB = try await b.start(workspace.children)
        let complete = try await ChainNode.eventually(seconds: 60) {
            let (onA, onB) = (Set(try await a.archivedDigests().keys), Set(try await b.archivedDigests().keys))
            return acknowledged.isSubset(of: onA) && acknowledged.isSubset(of: onB)
        }
        let (onA, onB) = (Set(try await a.archivedDigests().keys), Set(try await b.archivedDigests().keys))
        #expect(complete, "acknowledged \(acknowledged.count): missing on A \(acknowledged.subtracting(onA).count), on B \(acknowledged.subtracting(onB).count)")
        #expect(onA == onB)
        await a.stop(processA)
        await b.stop(processB)
        for node in [a, b] {
            let verify = try await NodeTestSupport.run(node.binary, ["archive", "verify", "--data-dir", node.dataDir], in: root)
            #expect(verify.status == 0, "\(node.id): \(String(decoding: verify.stdout, as: UTF8.self))")
        }
    }
}
