import Foundation
import TestSupport
import Testing

/// The MailArchiva mistake: every node's `[[connection]]` aims at the next node's JOURNAL
/// listener instead of its HA listener. There a copy is content (the trace is not
/// stripped, so the peer stores a different SHA-256 and forwards it again), and nothing
/// in one file shows the mistake. The copy must still stop after one round: back at the
/// node it entered at, that node finds its own copy inside and stops it
/// (`loops_detected_total{reason="loop"}`), well before the 50 Received fields would. It
/// knows its copy by the trace it signed: with the chain's key, or without one with the
/// key it made at start.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(2)))
struct MisconfigurationTests {
    static let messagesPerNode = 3

    /// A pair that forwards to each other's journal port, and a ring of three that does,
    /// with and without a chain key.
    @Test(arguments: [2, 3], [true, false])
    func forwardingToThePeersJournalPortStopsAfterOneRound(nodeCount: Int, keyed: Bool) async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let nodes = try (0..<nodeCount).map { try ChainNode(id: "journal-port-\($0)", root: root) }
        try ChainNode.configureChain(nodes, peerPort: \.journalPort, keyed: keyed)
        var processes: [Process] = []
        for node in nodes { processes.append(try await node.start(workspace.children)) }

        var originals: [String: Set<String>] = [:]
        for node in nodes {
            let outgoing = root + "/to-\(node.id)"
            try FileManager.default.createDirectory(atPath: outgoing, withIntermediateDirectories: true)
            for n in 0..<Self.messagesPerNode {
                let path = try ChainTests.message(outgoing, "audit-\(n)")
                #expect(try await ChainNode.send(path, port: node.journalPort, root: root).code == 250)
            }
            originals[node.id] = Set(try await NodeTestSupport.sha256sums(directory: outgoing).values)
        }

        // One round per message: the node it entered at keeps the original and, when its
        // copy comes back, that copy (a different SHA-256: the others' traces are content
        // here); every other node keeps the one copy it was handed.
        let perNode = Self.messagesPerNode * (nodeCount + 1)
        func settled() async throws -> Bool {
            for node in nodes {
                let (depth, held) = (try await node.queueDepth(), try await node.archivedDigests().count)
                if depth != 0 || held != perNode { return false }
            }
            return true
        }
        #expect(try await eventually { try await settled() })
        try await Task.sleep(for: .seconds(2))
        for node in nodes {
            let digests = try await node.archivedDigests()
            #expect(digests.count == perNode, "\(node.id) holds \(digests.count) messages, expected \(perNode) after one round")
            #expect(digests.values.allSatisfy { $0 == 1 }, "\(node.id) stored a message twice")
            #expect(originals[node.id, default: []].isSubset(of: Set(digests.keys)), "\(node.id) lost an original it took")
            #expect(try await node.queueDepth() == 0)
            #expect(try await node.metric("loops_detected_total{reason=\"loop\"}") == Double(Self.messagesPerNode))
            #expect(try await node.metric("loops_detected_total{reason=\"received_fields\"}") == 0)
        }
        for (node, process) in zip(nodes, processes) { await node.stop(process) }
    }
}
