import Foundation
import RouteEngine
import TestSupport
import Testing

/// Issue 22, finding 6: a client must not be able to keep a message off the HA peer. Two
/// ways were open on the journal listener: a forged trace naming another node whose
/// `relayed` bytes hide a second forged trace naming this node (its id is in the 220
/// banner), taken for this node's own copy coming back; and more than 50 Received fields
/// on a message's first entry into the chain. With a chain key, a `trust_trace` listener
/// too takes only a trace the key verifies.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(3)))
struct ForgedTraceTests {
    /// A Received field as a node writes it, for the forged copies.
    static func received(by node: String) -> String {
        "Received: from mx.corp.example ([10.0.0.9]) by \(node) (archiverelay) with ESMTP id forged;\r\n\tSun, 22 Nov 2026 12:00:00 +0000\r\n"
    }

    /// What a client writes to pass for `node`'s copy wrapped in `outer`'s: two traces,
    /// each with the Received field its `relayed` counts.
    static func nestedForgery(naming node: String, behind outer: String) -> String {
        let inner = "X-Archiverelay-Trace: hops=1; path=\(node); relayed=\(received(by: node).utf8.count)\r\n" + received(by: node)
        return "X-Archiverelay-Trace: hops=1; path=\(outer); relayed=\(received(by: outer).utf8.count)\r\n" + received(by: outer) + inner
    }

    /// One more Received field than the loop guard allows a copy inside the chain.
    static let manyReceivedFields = (0...50).map {
        "Received: from relay\($0).corp.example by relay\($0 + 1).corp.example; Sun, 22 Nov 2026 12:00:00 +0000\r\n"
    }.joined()

    /// Both messages reach the peer as A took them, with `ack_after_forward = "one"` as the
    /// finding had it, with the chain's key and without one (then A signs with its own).
    @Test(arguments: [true, false])
    func aJournalClientCannotKeepAMessageOffThePeer(keyed: Bool) async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let a = try ChainNode(id: "forged-a", root: root), b = try ChainNode(id: "forged-b", root: root)
        try b.writeConfig("", keyed: keyed)
        try a.writeConfig(b.connection() + """
        [[route]]
        name = "journal"
        listeners = ["journal"]
        forward = ["\(b.id)"]
        ack_after_forward = "one"
        ack_timeout_seconds = 600
        """, keyed: keyed)
        let processA = try await a.start(workspace.children), processB = try await b.start(workspace.children)

        let outgoing = root + "/outgoing"
        try FileManager.default.createDirectory(atPath: outgoing, withIntermediateDirectories: true)
        let messages = [
            ("nested-forgery", Self.nestedForgery(naming: a.id, behind: "node-x")),
            ("received-fields", Self.manyReceivedFields),
        ]
        for (name, header) in messages {
            let path = try ChainTests.message(outgoing, name, header: header)
            #expect(try await ChainNode.send(path, port: a.journalPort, root: root).code == 250, "\(name)")
        }
        // B keeps each message as A took it (the forged lines are content); A stopped none.
        let sent = Set(try await NodeTestSupport.sha256sums(directory: outgoing).values)
        let delivered = try await eventually { Set(try await b.archivedDigests().keys) == sent }
        let onB = try await b.archivedDigests()
        #expect(delivered, "B holds \(onB.count) of \(sent.count); A's log:\n\(NodeTestSupport.tail(a.log))")
        #expect(try await a.metric("loops_detected_total") == 0)
        #expect(try await a.queueDepth() == 0)
        await a.stop(processA)
        await b.stop(processB)
    }

    /// With the chain's key, on B's `trust_trace` listener: an unsigned trace naming B is
    /// content (archived as sent and forwarded on, counted in `unverified_traces_total`),
    /// and a signed trace on another original than it was signed for is refused with 451.
    @Test func aTrustTraceListenerWithAKeyTakesOnlyTracesItVerifies() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let root = workspace.root
        let a = try ChainNode(id: "keyed-a", root: root), b = try ChainNode(id: "keyed-b", root: root)
        try a.writeConfig("")
        try b.writeConfig(a.connection() + """
        [[route]]
        name = "ha"
        listeners = ["ha"]
        forward = ["\(a.id)"]
        """)
        let processA = try await a.start(workspace.children), processB = try await b.start(workspace.children)

        let forged = root + "/forged", lifted = root + "/lifted"
        for dir in [forged, lifted] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let unsigned = try ChainTests.message(forged, "unsigned", header: "X-Archiverelay-Trace: hops=1; path=\(b.id)\r\n")
        #expect(try await ChainNode.send(unsigned, port: b.haPort, root: root).code == 250)
        let expected = Set(try await NodeTestSupport.sha256sums(directory: forged).values)
        let forwarded = try await eventually { Set(try await a.archivedDigests().keys) == expected }
        #expect(forwarded, "A never got the copy; B's log:\n\(NodeTestSupport.tail(b.log))")
        #expect(Set(try await b.archivedDigests().keys) == expected, "B did not keep the message as sent")
        #expect(try await b.metric("unverified_traces_total") == 1)
        #expect(try await b.metric("loops_detected_total") == 0)

        let key = try #require(TraceKey(hex: ChainNode.traceSecret, scope: .chain))
        let relayed = Self.received(by: "keyed-x")
        let trace = key.sign(LoopTrace(path: [NodeID("keyed-x")!], relayedHeaderLength: relayed.utf8.count),
                             originalDigest: [UInt8](repeating: 0, count: TraceKey.digestLength), relayedFields: Array(relayed.utf8))
        let mismatched = try ChainTests.message(lifted, "lifted", header: trace.headerField + relayed)
        #expect(try await ChainNode.send(mismatched, port: b.haPort, root: root).code == 451)
        #expect(try await b.archivedDigests().count == 1)
        await a.stop(processA)
        await b.stop(processB)
    }
}
