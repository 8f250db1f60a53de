import RouteEngine
import Testing

/// `ReturningCopyDetector`: in a message whose leading bytes are content, this node's own
/// copy wrapped in other nodes' copies (a peer forwarding to the journal port) is
/// recognised, but only by a trace its key verifies over the original it was signed for;
/// anything a client can write is not (issue 22, finding 6).
struct ReturningCopyTests {
    typealias F = TraceFixtures
    static let original = F.original
    static func copy(by node: String, of content: String, key: TraceKey? = F.chainKey) -> String {
        F.copy(by: node, of: content, key: key)
    }

    static let nodeKeyA = TraceKey(hex: String(repeating: "0a", count: 32), scope: .node)!
    static let nodeKeyB = TraceKey(hex: String(repeating: "0b", count: 32), scope: .node)!

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var message: String
        var node: String
        var key: TraceKey = F.chainKey
        var path: [NodeID]?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "a pair forwarding to each other's journal ports", message: copy(by: "node-b", of: copy(by: "node-a", of: original)),
             node: "node-a", path: F.ids("node-a", "node-b")),
        Case(name: "ids compare case-insensitively", message: copy(by: "node-b", of: copy(by: "node-a", of: original)),
             node: "NODE-A", path: F.ids("node-a", "node-b")),
        Case(name: "a ring of three: two copies deep",
             message: copy(by: "node-c", of: copy(by: "node-b", of: copy(by: "node-a", of: original))),
             node: "node-a", path: F.ids("node-a", "node-b", "node-c")),
        Case(name: "its own copy straight back", message: copy(by: "node-a", of: original), node: "node-a", path: F.ids("node-a")),
        // Without a chain key each node signs with its own: only the returning node's trace
        // has to verify, and it does with that node's key.
        Case(name: "node keys: its own trace inside a peer's",
             message: copy(by: "node-b", of: copy(by: "node-a", of: original, key: nodeKeyA), key: nodeKeyB),
             node: "node-a", key: nodeKeyA, path: F.ids("node-a", "node-b")),
        Case(name: "node keys: a peer's trace naming this node does not verify",
             message: F.trace(by: "node-b", after: F.ids("node-a"), of: original, key: nodeKeyB) + F.received(by: "node-b") + original,
             node: "node-a", key: nodeKeyA, path: nil),
        // The first arrival at the peer, and a copy of another archive's copy: forwarded.
        Case(name: "the first arrival at the peer", message: copy(by: "node-a", of: original), node: "node-b", path: nil),
        Case(name: "another archive's copy inside", message: copy(by: "node-b", of: copy(by: "other-archive", of: original)),
             node: "node-a", path: nil),
        // What a client can write: no mac, another key's mac, a real trace lifted onto
        // another original.
        Case(name: "unsigned nested copies (the forgery)",
             message: copy(by: "node-b", of: copy(by: "node-a", of: original, key: nil), key: nil), node: "node-a", path: nil),
        Case(name: "an unsigned inner copy in a signed one",
             message: copy(by: "node-b", of: copy(by: "node-a", of: original, key: nil)), node: "node-a", path: nil),
        Case(name: "signed with another key", message: copy(by: "node-b", of: copy(by: "node-a", of: original, key: F.otherKey)),
             node: "node-a", path: nil),
        Case(name: "a real trace lifted onto another original",
             message: copy(by: "node-b", of: F.trace(by: "node-a", of: original) + F.received(by: "node-a") + "Subject: other\r\n\r\nx\r\n"),
             node: "node-a", path: nil),
        // No trace first, or one that cannot be read: content.
        Case(name: "no trace first", message: original + copy(by: "node-a", of: original), node: "node-a", path: nil),
        Case(name: "an unreadable trace first", message: "X-Archiverelay-Trace: hops=x\r\n" + copy(by: "node-a", of: original),
             node: "node-a", path: nil),
    ]

    static func path(of bytes: [UInt8], at node: String, key: TraceKey, chunk: Int) -> [NodeID]? {
        var detector = ReturningCopyDetector(nodeID: NodeID(node)!, key: key)
        var start = 0
        while start < bytes.count {
            detector.consume(bytes[start..<min(bytes.count, start + chunk)])
            start += chunk
        }
        return detector.finish()
    }

    @Test(arguments: cases)
    func recognisesOnlyItsOwnSignedCopyComingBack(_ c: Case) {
        let bytes = Array(c.message.utf8)
        for chunk in [1, 7, 100, bytes.count] {
            #expect(Self.path(of: bytes, at: c.node, key: c.key, chunk: chunk) == c.path, "chunks of \(chunk)")
        }
    }

    /// Issue 22, finding 6: the nested copies a journal client can write itself (this
    /// node's id is in its 220 banner) must not pass for this node's copy coming back.
    @Test func aForgedNestedTraceDoesNotStopForwarding() {
        let forged = "X-Archiverelay-Trace: hops=1; path=node-x; relayed=13\r\nReceived: x\r\n"
            + "X-Archiverelay-Trace: hops=1; path=node-a; relayed=13\r\nReceived: y\r\n" + Self.original
        #expect(Self.path(of: Array(forged.utf8), at: "node-a", key: F.chainKey, chunk: forged.utf8.count) == nil)
    }

    @Test func aCopyCutOffBeforeItsOriginalEndsIsForwarded() {
        let message = Array(Self.copy(by: "node-b", of: Self.copy(by: "node-a", of: Self.original)).utf8)
        let innerStart = Self.copy(by: "node-b", of: "").utf8.count
        for end in [innerStart, innerStart + 10, message.count - 1] {
            #expect(Self.path(of: Array(message[..<end]), at: "node-a", key: F.chainKey, chunk: 64) == nil, "cut at \(end)")
        }
    }

    /// Past `window` leading bytes no copy is looked for, and nothing is held.
    @Test func nestingBeyondTheWindowIsNotFollowed() {
        let padding = "X-Pad: " + String(repeating: "p", count: ReturningCopyDetector.window) + "\r\n"
        let received = F.received(by: "node-b") + padding
        let outer = "X-Archiverelay-Trace: hops=1; path=node-b; relayed=\(received.utf8.count)\r\n" + received
        let message = Array((outer + Self.copy(by: "node-a", of: Self.original)).utf8)
        #expect(Self.path(of: message, at: "node-a", key: F.chainKey, chunk: 4096) == nil)
    }
}
