import Foundation
import TestSupport
import Testing

/// Nodes chained through their HA listeners, as real processes: every node ends up with
/// every message (same SHA-256 for the same original), copies that come back around a
/// ring are stopped, forged traces from clients do not stop forwarding, a full queue
/// refuses and a retry after a dedupe still forwards, and `ack_after_forward = "one"`.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(5))) struct ChainTests {
    static func message(_ root: String, _ name: String, header: String = "") throws -> String {
        let path = root + "/\(name).eml"
        try (header + "From: journal@corp.example\r\nTo: audit@corp.example\r\nSubject: \(name)\r\nMessage-ID: <\(name)-\(UUID().uuidString)@corp.example>\r\n\r\nbody of \(name)\r\n.starts with a dot\r\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func haPairHoldsEveryMessageOnBothNodesWithTheSameDigests() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let a = try ChainNode(id: "node-a", root: root), b = try ChainNode(id: "node-b", root: root)
        try ChainNode.configurePair(a, b)
        let processA = try await a.start(workspace.children), processB = try await b.start(workspace.children)

        // The corpus into A; messages of our own into B, one with a forged trace naming B
        // (it came through B's journal listener, so it is content and must be forwarded).
        let outgoing = root + "/outgoing", own = root + "/own"
        for dir in [outgoing, own] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let files = try FileManager.default.contentsOfDirectory(atPath: NodeTestSupport.corpus).filter { $0.hasPrefix("nice_") || $0.hasPrefix("spam_") }
        for file in files {
            let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: NodeTestSupport.corpus + "/" + file)))
            try Data(NodeTests.canonical(raw)).write(to: URL(fileURLWithPath: outgoing + "/" + file))
        }
        let corpus = try await runProcess(NodeTestSupport.python, [NodeTestSupport.clientScript, "send", "\(a.journalPort)", outgoing, root + "/sent-a.txt"], in: root)
        #expect(corpus.status == 0, "\(String(decoding: corpus.stdout, as: UTF8.self)) \(corpus.stderr)")
        let forged = try Self.message(own, "forged", header: "X-Archiverelay-Trace: hops=1; path=node-b\r\n")
        #expect(try await ChainNode.send(forged, port: b.journalPort, root: root).code == 250)
        for n in 0..<20 {
            #expect(try await ChainNode.send(try Self.message(own, "b-\(n)"), port: b.journalPort, root: root).code == 250)
        }
        // What both archives must hold: the originals byte for byte (no trace, no Received).
        let originals = Set(try await NodeTestSupport.sha256sums(directory: outgoing).values)
            .union(try await NodeTestSupport.sha256sums(directory: own).values)
        let expected = originals.count

        // Both hold every message, and both queues are empty: a copy leaves its queue
        // only once the peer's 250 is back, a moment after the peer has stored it.
        let complete = try await eventually {
            let (da, db) = (try await a.archivedDigests(), try await b.archivedDigests())
            let depths = (try await a.queueDepth(), try await b.queueDepth())
            return da.count == expected && db.count == expected && depths == (0, 0)
        }
        let (digestsA, digestsB) = (try await a.archivedDigests(), try await b.archivedDigests())
        #expect(complete, "A has \(digestsA.count), B has \(digestsB.count) of \(expected)")
        #expect(Set(digestsA.keys) == originals && Set(digestsB.keys) == originals, "the nodes hold other bytes than were sent")
        #expect(digestsA.values.allSatisfy { $0 == 1 } && digestsB.values.allSatisfy { $0 == 1 }, "a copy was stored twice")
        let (digestLinesA, digestLinesB) = (try await a.digest(), try await b.digest())
        #expect(!digestLinesA.isEmpty && digestLinesA == digestLinesB)
        let depths = (try await a.queueDepth(), try await b.queueDepth())
        #expect(depths == (0, 0))
        let loops = (try await a.metric("loops_detected_total"), try await b.metric("loops_detected_total"))
        #expect(loops == (0, 0))
        for (node, process) in [(a, processA), (b, processB)] {
            await node.stop(process)
            let verify = try await runProcess(node.binary, ["archive", "verify", "--data-dir", node.dataDir], in: root)
            #expect(verify.status == 0, "\(node.id): \(String(decoding: verify.stdout, as: UTF8.self))")
        }
    }

    @Test func aRingOfThreeStopsTheCopyThatComesBack() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let nodes = try ["ring-a", "ring-b", "ring-c"].map { try ChainNode(id: $0, root: root) }
        for (index, node) in nodes.enumerated() {
            let next = nodes[(index + 1) % nodes.count]
            try node.writeConfig(next.connection() + """
            [[route]]
            name = "all"
            forward = ["\(next.id)"]
            """)
        }
        var processes: [Process] = []
        for node in nodes { processes.append(try await node.start(workspace.children)) }

        let path = try Self.message(root, "ring")
        #expect(try await ChainNode.send(path, port: nodes[0].journalPort, root: root).code == 250)
        // Stopped at ring-a, and the last queue empty: ring-c drops its copy once ring-a's
        // 250 is back, a moment after ring-a counted the loop.
        let stopped = try await eventually {
            let loops = try await nodes[0].metric("loops_detected_total{reason=\"loop\"}")
            let lastDepth = try await nodes[2].queueDepth()
            return loops == 1 && lastDepth == 0
        }
        #expect(stopped, "ring-a never saw its copy come back: \(NodeTestSupport.tail(nodes[0].log))")
        for node in nodes {
            let digests = try await node.archivedDigests()
            #expect(digests.count == 1 && digests.values.first == 1, "\(node.id): \(digests)")
            #expect(try await node.queueDepth() == 0)
        }
        #expect(Set(try await nodes[0].archivedDigests().keys) == Set(try await nodes[2].archivedDigests().keys))
        #expect(NodeTestSupport.tail(nodes[0].log, bytes: 20000).contains("loop: own id in path ring-a,ring-b,ring-c"))
        for (node, process) in zip(nodes, processes) { await node.stop(process) }
    }

    @Test func fullQueueRefusesAndARetryAfterADedupeStillForwards() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let a = try ChainNode(id: "full-a", root: root), b = try ChainNode(id: "full-b", root: root)
        try b.writeConfig("")
        let archiveOnly = """
        [[route]]
        name = "journal"
        listeners = ["journal"]
        """
        try a.writeConfig(b.connection(extra: "queue_limit = 1") + archiveOnly)
        let processA = try await a.start(workspace.children)

        // Archived while the route does not forward yet.
        let early = try Self.message(root, "early")
        #expect(try await ChainNode.send(early, port: a.journalPort, root: root).code == 250)

        // Now forward (B still down): one message fills the queue, the next is refused.
        try a.writeConfig(b.connection(extra: "queue_limit = 1") + archiveOnly + "\nforward = [\"full-b\"]\n")
        processA.sendSignal(SIGHUP)
        #expect(try await eventually {
            NodeTestSupport.tail(a.log, bytes: 20000).contains("configuration reloaded")
        })
        let first = try Self.message(root, "first")
        #expect(try await ChainNode.send(first, port: a.journalPort, root: root).code == 250)
        let second = try Self.message(root, "second")
        #expect(try await ChainNode.send(second, port: a.journalPort, root: root).code == 452)

        // B comes up: the queue drains; the retries are accepted, and the early message,
        // already in A's archive (a dedupe), is still queued and reaches B.
        let processB = try await b.start(workspace.children)
        #expect(try await eventually { try await a.queueDepth() == 0 })
        #expect(try await ChainNode.send(second, port: a.journalPort, root: root).code == 250)
        #expect(try await eventually { try await a.queueDepth() == 0 })
        #expect(try await ChainNode.send(early, port: a.journalPort, root: root).code == 250)
        let delivered = try await eventually { try await b.archivedDigests().count == 3 }
        let (onA, onB) = (try await a.archivedDigests(), try await b.archivedDigests())
        #expect(delivered, "B has \(onB.count) of 3")
        #expect(Set(onA.keys) == Set(onB.keys))
        await a.stop(processA)
        await b.stop(processB)
    }

    @Test func ackAfterOneWaitsForThePeerOrItsTimeout() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let a = try ChainNode(id: "sync-a", root: root), b = try ChainNode(id: "sync-b", root: root)
        try b.writeConfig("")
        func configureA(ackTimeout: Int) throws {
            try a.writeConfig(b.connection() + """
            [[route]]
            name = "journal"
            listeners = ["journal"]
            forward = ["sync-b"]
            ack_after_forward = "one"
            ack_timeout_seconds = \(ackTimeout)
            """)
        }
        try configureA(ackTimeout: 2)
        let processA = try await a.start(workspace.children)

        // B down: the 250 comes after the timeout, and the queue keeps the copy.
        let waited = try await ChainNode.send(try Self.message(root, "while-down"), port: a.journalPort, root: root)
        #expect(waited.code == 250)
        #expect(waited.seconds >= 1.9, "the 250 did not wait for ack_timeout_seconds: \(waited.seconds) s")
        #expect(try await a.queueDepth() == 1)

        // B up, and the timeout set far out (reloaded): when A answers 250, B already holds
        // the message, however long its copy takes to get there on a loaded machine.
        try configureA(ackTimeout: 600)
        processA.sendSignal(SIGHUP)
        #expect(try await eventually {
            NodeTestSupport.tail(a.log, bytes: 20000).contains("configuration reloaded")
        })
        let processB = try await b.start(workspace.children)
        #expect(try await eventually { try await a.queueDepth() == 0 })
        for n in 0..<5 {
            let path = try Self.message(root, "sync-\(n)")
            let reply = try await ChainNode.send(path, port: a.journalPort, root: root)
            #expect(reply.code == 250)
            let onB = try await b.archivedDigests()
            #expect(onB.count == n + 2, "B did not hold the message when A acknowledged it")
        }
        await a.stop(processA)
        await b.stop(processB)
    }
}
