import RouteEngine
import Testing

/// `LoopGuard.returningCopyPath`: on a listener without `trust_trace`, a message that is
/// this node's own copy wrapped in other nodes' copies (a peer forwarding to the journal
/// port) is recognised; anything a client could put first on its own is not.
struct ReturningCopyTests {
    static let original = "From: journal@corp.example\r\nSubject: audit\r\n\r\nbody\r\n"

    /// What `node` forwards when it took `content`: its trace, its Received field, the content.
    static func copy(by node: String, of content: String) -> String {
        let received = "Received: from mx.corp.example ([10.0.0.9]) by \(node) (archiverelay) with ESMTP id 1;\r\n\tSun, 22 Nov 2026 12:00:00 +0000\r\n"
        return LoopTrace(path: [NodeID(node)!], relayedHeaderLength: received.utf8.count).headerField + received + content
    }

    static func ids(_ names: String...) -> [NodeID] { names.map { NodeID($0)! } }

    static let cases: [(message: String, node: String, path: [NodeID]?)] = [
        // A pair forwarding to each other's journal ports: node-a's copy comes back inside node-b's.
        (copy(by: "node-b", of: copy(by: "node-a", of: original)), "node-a", ids("node-a", "node-b")),
        (copy(by: "node-b", of: copy(by: "node-a", of: original)), "NODE-A", ids("node-a", "node-b")),
        // A ring of three doing the same: found two copies deep.
        (copy(by: "node-c", of: copy(by: "node-b", of: copy(by: "node-a", of: original))), "node-a", ids("node-a", "node-b", "node-c")),
        // The first arrival at the peer, and a copy of another archive's copy: forwarded.
        (copy(by: "node-a", of: original), "node-b", nil),
        (copy(by: "node-b", of: copy(by: "other-archive", of: original)), "node-a", nil),
        // The outermost trace never counts, even with relayed fields and naming this node.
        (copy(by: "node-a", of: original), "node-a", nil),
        ("X-Archiverelay-Trace: hops=1; path=node-a\r\n" + original, "node-a", nil),
        // A trace with no relayed fields was never a node's copy: nothing inside it counts.
        ("X-Archiverelay-Trace: hops=1; path=node-b\r\n" + copy(by: "node-a", of: original), "node-a", nil),
        // No trace first, or one that cannot be read: content.
        (original + copy(by: "node-a", of: original), "node-a", nil),
        ("X-Archiverelay-Trace: hops=x\r\n" + copy(by: "node-a", of: original), "node-a", nil),
    ]

    @Test(arguments: cases)
    func recognisesOnlyItsOwnCopyComingBack(message: String, node: String, path: [NodeID]?) {
        #expect(LoopGuard.returningCopyPath(Array(message.utf8), nodeID: NodeID(node)!) == path)
    }

    @Test func aCopyCutOffBeforeTheInnerTraceIsForwarded() {
        let message = Array(Self.copy(by: "node-b", of: Self.copy(by: "node-a", of: Self.original)).utf8)
        let innerStart = Self.copy(by: "node-b", of: "").utf8.count
        #expect(LoopGuard.returningCopyPath(Array(message[..<(innerStart + 10)]), nodeID: NodeID("node-a")!) == nil)
        #expect(LoopGuard.returningCopyPath(Array(message[..<innerStart]), nodeID: NodeID("node-a")!) == nil)
    }
}
