import Crypto
import RouteEngine

/// Copies as nodes write them, signed or not, for the trace and loop tests.
enum TraceFixtures {
    static let chainKey = TraceKey(hex: String(repeating: "5a", count: 32), scope: .chain)!
    static let otherKey = TraceKey(hex: String(repeating: "a5", count: 32), scope: .chain)!
    static let original = "From: journal@corp.example\r\nSubject: audit\r\n\r\nbody\r\n"

    static func ids(_ names: String...) -> [NodeID] { names.map { NodeID($0)! } }

    static func received(by node: String) -> String {
        "Received: from mx.corp.example ([10.0.0.9]) by \(node) (archiverelay) with ESMTP id 1;\r\n\tSun, 22 Nov 2026 12:00:00 +0000\r\n"
    }

    static func digest(_ text: String) -> [UInt8] { Array(SHA256.hash(data: Array(text.utf8))) }

    /// The trace `node` writes on its copy of `content` (`path`, when given, is the path
    /// before it), signed with `key`, or unsigned (what a client can write) when nil.
    static func trace(by node: String, after path: [NodeID] = [], of content: String, key: TraceKey? = chainKey) -> String {
        let trace = LoopTrace(path: path + [NodeID(node)!], relayedHeaderLength: received(by: node).utf8.count)
        guard let key else { return trace.headerField }
        return key.sign(trace, originalDigest: digest(content), relayedFields: Array(received(by: node).utf8)).headerField
    }

    /// What `node` forwards when it took `content` as content: its trace, its Received
    /// field, the content.
    static func copy(by node: String, of content: String, key: TraceKey? = chainKey) -> String {
        trace(by: node, of: content, key: key) + received(by: node) + content
    }
}
