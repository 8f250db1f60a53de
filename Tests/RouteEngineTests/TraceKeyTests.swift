import RouteEngine
import Testing

/// `TraceKey`: a trace verifies only under the key that signed it, and only with the
/// parameters and relayed fields it was signed over; the signed field stays a well-formed,
/// folded trace that parses back whole.
struct TraceKeyTests {
    typealias F = TraceFixtures
    static let relayed = Array(F.received(by: "node-b").utf8)
    static let unsigned = LoopTrace(path: F.ids("node-a", "node-b"), relayedHeaderLength: relayed.count)
    static let signed = F.chainKey.sign(unsigned, originalDigest: F.digest(F.original), relayedFields: relayed)

    @Test func aSignedTraceVerifiesUnderItsKeyOnly() {
        #expect(F.chainKey.authenticates(Self.signed, relayedFields: Self.relayed))
        #expect(!F.otherKey.authenticates(Self.signed, relayedFields: Self.relayed))
        #expect(!F.chainKey.authenticates(Self.unsigned, relayedFields: Self.relayed))
        // The scope says who holds the key, not how it signs.
        let sameBytes = TraceKey(hex: String(repeating: "5a", count: 32), scope: .node)!
        #expect(sameBytes.authenticates(Self.signed, relayedFields: Self.relayed))
    }

    static let tampered: [(String, LoopTrace, [UInt8])] = [
        ("path", { var t = signed; t.path = F.ids("node-x", "node-b"); return t }(), relayed),
        ("hops and path", { var t = signed; t.path = F.ids("node-b"); return t }(), relayed),
        ("relayed length", { var t = signed; t.relayedHeaderLength -= 2; return t }(), Array(relayed.dropLast(2))),
        ("relayed bytes", signed, Array(F.received(by: "node-c").utf8)),
        ("digest", { var t = signed; t.originalDigest = F.digest("another original") ; return t }(), relayed),
        ("no digest", { var t = signed; t.originalDigest = nil; return t }(), relayed),
    ]

    @Test(arguments: tampered)
    func anyChangeFailsTheMac(what: String, trace: LoopTrace, relayedFields: [UInt8]) {
        #expect(!F.chainKey.authenticates(trace, relayedFields: relayedFields), "\(what)")
    }

    @Test(arguments: [1, 3, 12])
    func theSignedFieldFoldsAndParsesBack(hops: Int) {
        let path = (0..<hops).map { NodeID("archive-node-\($0).dc\($0 % 3).example.com")! }
        let trace = F.chainKey.sign(LoopTrace(path: path, relayedHeaderLength: 4096), originalDigest: F.digest("x"), relayedFields: [UInt8](repeating: 0x41, count: 4096))
        let field = trace.headerField
        let lines = field.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast()
        for line in lines { #expect(line.utf8.count <= 78, "\(line)") }
        for line in lines.dropFirst() { #expect(line.hasPrefix(" ")) }
        #expect(field.contains("sha256=") && field.contains("mac="))
        #expect(LoopTraceParser.scan(Array((field + "Subject: x\r\n").utf8)) == .found(trace, fieldLength: field.utf8.count))
    }

    static let badParameters: [(String, LoopTraceScan)] = [
        ("sha256=abc", .malformed("sha256 must be 64 hex digits")),
        ("sha256=" + String(repeating: "zz", count: 32), .malformed("sha256 must be 64 hex digits")),
        ("mac=" + String(repeating: "00", count: 31), .malformed("mac must be 64 hex digits")),
        ("mac=" + String(repeating: "AB", count: 32), .found(LoopTrace(path: F.ids("a"), authenticationCode: [UInt8](repeating: 0xAB, count: 32)), fieldLength: 108)),
    ]

    @Test(arguments: badParameters)
    func hexParametersAreChecked(parameter: String, expected: LoopTraceScan) {
        let message = "X-Archiverelay-Trace: hops=1; path=a; \(parameter)\r\n\r\n"
        #expect(LoopTraceParser.scan(Array(message.utf8)) == expected)
    }

    static let keyTexts: [(String, Bool)] = [
        (String(repeating: "0f", count: 32), true),
        (String(repeating: "0F", count: 32) + "\n", true),
        ("  " + String(repeating: "ab", count: 48) + "\r\n", true),
        (String(repeating: "0f", count: 31), false),
        (String(repeating: "0f", count: 32) + "0", false),
        (String(repeating: "xy", count: 32), false),
        ("", false),
    ]

    @Test(arguments: keyTexts)
    func keysAreAtLeast32BytesOfHex(text: String, valid: Bool) {
        #expect((TraceKey(hex: text, scope: .chain) != nil) == valid)
    }

    @Test func aKeyNeverPrintsItself() {
        #expect("\(F.chainKey)" == "TraceKey(chain)")
        #expect(!"\(RoutingTable(nodeID: NodeID("a")!, traceKey: F.chainKey))".contains("5a5a"))
    }
}
