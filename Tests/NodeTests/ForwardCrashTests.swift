import Foundation
import TestSupport
import Testing

/// The forwarding side killed mid-delivery: a node with a queued backlog is SIGKILLed
/// while it delivers to a real peer (aiosmtpd), restarted, and must still deliver every
/// message it acknowledged (duplicates allowed: the peer's dedupe absorbs them).
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(5))) struct ForwardCrashTests {
    static let peerScript = NodeTestSupport.packageRoot.appendingPathComponent("Tests/ForwardQueueTests/Scripts/recording_peer.py").path
    /// Seconds the peer lives at most: beyond the suite's time limit (it is killed with the
    /// test's other children), so only a test process that died leaves it behind that long.
    static let peerLifetime = 600 * TestScale.time

    /// A node whose one route archives and forwards everything to a peer on a free port
    /// (nothing listens there yet), two sessions at most, retried every second.
    static func forwardingNode(_ id: String, root: String) throws -> (ChainNode, peerPort: Int) {
        let node = try ChainNode(id: id, root: root)
        let peerPort = try freePort()
        try node.writeConfig("""
        [[connection]]
        name = "peer"
        host = "127.0.0.1"
        port = \(peerPort)
        tls = "none"
        max_connections = 2
        min_backoff_seconds = 1
        max_backoff_seconds = 1

        [[route]]
        name = "all"
        forward = ["peer"]
        """)
        return (node, peerPort)
    }

    static func files(_ directory: String, suffix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
    }

    @Test func sigkillDuringDeliveryLosesNoQueuedEntry() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let (a, peerPort) = try Self.forwardingNode("crash-a", root: root)
        var node = try await a.start(workspace.children)

        // A backlog while the peer is down; the client keeps what got 250.
        let acked = root + "/acked"
        try FileManager.default.createDirectory(atPath: acked, withIntermediateDirectories: true)
        let fill = try await runProcess(NodeTestSupport.python, [NodeTestSupport.clientScript, "fill", "\(a.journalPort)", acked, "400", "3000"], in: root)
        #expect(fill.status == 0, "\(fill.stderr)")
        let originals = try Self.files(acked, suffix: ".eml").map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: acked + "/" + $0))) }
        try #require(originals.count >= 390, "only \(originals.count) of 400 acknowledged")

        // The peer comes up; A is killed once deliveries are under way, then restarted. The
        // peer holds back every message past the first 200 until the restart, so the kill
        // lands mid-delivery however fast the machine delivers or the test notices.
        let received = root + "/peer"
        try FileManager.default.createDirectory(atPath: received, withIntermediateDirectories: true)
        _ = try workspace.children.launch("/usr/bin/python3", [Self.peerScript, "\(peerPort)", received, "--lifetime", "\(Self.peerLifetime)",
                                                               "--hold-after", "200"], log: root + "/peer.log")
        let started = try await eventually { Self.files(received, suffix: ".eml").count >= 40 }
        try #require(started, "the peer got nothing: \(NodeTestSupport.tail(a.log))")
        kill(node.processIdentifier, SIGKILL)
        #expect(await node.waitForExit(timeout: .seconds(patience)), "A survived SIGKILL")
        let beforeRestart = Self.files(received, suffix: ".eml").count
        #expect(beforeRestart < originals.count, "everything was delivered before the kill; the test proved nothing")
        _ = FileManager.default.createFile(atPath: received + "/RELEASE", contents: nil)
        node = try await a.start(workspace.children)
        let drained = try await eventually { try await a.queueDepth() == 0 }
        #expect(drained, "the queue did not drain after the restart")

        // Every acknowledged original reached the peer (after the trace and Received prefix).
        var delivered: [String: Int] = [:]
        for name in Self.files(received, suffix: ".eml") {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: received + "/" + name)))
            guard let subject = Self.subject(bytes) else { continue }
            delivered[subject, default: 0] += 1
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: acked + "/" + subject + ".eml")))
            #expect(bytes.count > original.count && Array(bytes.suffix(original.count)) == original,
                    "\(name): not the acknowledged original after the trace prefix")
        }
        let missing = originals.compactMap(Self.subject).filter { delivered[$0] == nil }
        #expect(missing.isEmpty, "\(missing.count) acknowledged messages never reached the peer")
        let duplicates = delivered.values.filter { $0 > 1 }.count
        print("forward crash: \(originals.count) acknowledged, \(beforeRestart) delivered before SIGKILL, \(duplicates) delivered twice")
        await a.stop(node)
    }

    /// A machine crash that kept every queue entry written since the start off the disk:
    /// the journal is put back as the node's start left it (synced) after a SIGKILL. The
    /// forwarding promises in the archive records must bring every acknowledged message
    /// to the peer after the restart (docs/ARCHITECTURE.md, "One fdatasync per forwarded
    /// message"); without them the peer would get none.
    @Test func entriesAPowerLossKeptOffTheDiskComeBackFromTheArchive() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let (a, peerPort) = try Self.forwardingNode("power-a", root: root)
        var node = try await a.start(workspace.children)
        let journal = a.dataDir + "/queue/journal"
        let atStart = try Data(contentsOf: URL(fileURLWithPath: journal))

        let acked = root + "/acked"
        try FileManager.default.createDirectory(atPath: acked, withIntermediateDirectories: true)
        let fill = try await runProcess(NodeTestSupport.python, [NodeTestSupport.clientScript, "fill", "\(a.journalPort)", acked, "60", "2000"], in: root)
        #expect(fill.status == 0, "\(fill.stderr)")
        let subjects = try Self.files(acked, suffix: ".eml").map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: acked + "/" + $0))) }.compactMap(Self.subject)
        try #require(subjects.count >= 55, "only \(subjects.count) of 60 acknowledged")
        kill(node.processIdentifier, SIGKILL)
        #expect(await node.waitForExit(timeout: .seconds(patience)), "A survived SIGKILL")
        try atStart.write(to: URL(fileURLWithPath: journal))

        let received = root + "/peer"
        try FileManager.default.createDirectory(atPath: received, withIntermediateDirectories: true)
        _ = try workspace.children.launch("/usr/bin/python3", [Self.peerScript, "\(peerPort)", received, "--lifetime", "\(Self.peerLifetime)"], log: root + "/peer.log")
        node = try await a.start(workspace.children)
        let arrived = try await eventually {
            Set(Self.files(received, suffix: ".eml").compactMap { name in
                (try? Data(contentsOf: URL(fileURLWithPath: received + "/" + name))).flatMap { Self.subject([UInt8]($0)) }
            }).isSuperset(of: subjects)
        }
        #expect(arrived, "\(Self.files(received, suffix: ".eml").count) of \(subjects.count) reached the peer: \(NodeTestSupport.tail(a.log))")
        #expect(NodeTestSupport.tail(a.log, bytes: 100_000).contains("took promises a crash kept out of its journal"))
        let drained = try await eventually { try await a.queueDepth() == 0 }
        #expect(drained, "the queue did not drain after the restart")
        await a.stop(node)
    }

    /// The `Subject:` value (fill's messages carry their file name there).
    static func subject(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
        guard let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("Subject: ") }) else { return nil }
        return String(line.dropFirst("Subject: ".count))
    }
}
