import RouteEngine
import Testing

struct TraceStripperTests {
    static let original = "Received: from mx.example.com\r\nSubject: hi\r\n\r\nbody\r\n.. dots\r\n"
    static let relayed = "Received: from node-a by node-b; Mon, 23 Nov 2026 10:00:00 +0000\r\n"

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var message: String
        var trust: TraceTrust
        /// What must come out as the original.
        var content: String
        var prepended: String
        var scan: LoopTraceScan?
        var testDescription: String { name }
    }

    static let trace = "X-Archiverelay-Trace: hops=1; path=node-a; relayed=\(relayed.utf8.count)\r\n"
    static let cases: [Case] = [
        Case(name: "untrusted listener keeps everything", message: trace + relayed + original, trust: .untrusted,
             content: trace + relayed + original, prepended: "", scan: nil),
        Case(name: "no trace", message: original, trust: .byListener, content: original, prepended: "", scan: .absent),
        Case(name: "trace and relayed fields are stripped", message: trace + relayed + original, trust: .byListener,
             content: original, prepended: trace + relayed,
             scan: .found(LoopTrace(path: [NodeID("node-a")!], relayedHeaderLength: relayed.utf8.count), fieldLength: trace.utf8.count)),
        Case(name: "trace without relayed", message: "X-Archiverelay-Trace: hops=1; path=a\r\n" + original, trust: .byListener,
             content: original, prepended: "X-Archiverelay-Trace: hops=1; path=a\r\n",
             scan: .found(LoopTrace(path: [NodeID("a")!]), fieldLength: 38)),
        Case(name: "malformed trace stays content", message: "X-Archiverelay-Trace: hops=x\r\n" + original, trust: .byListener,
             content: "X-Archiverelay-Trace: hops=x\r\n" + original, prepended: "",
             scan: .malformed("hops must be a number of at least 1")),
        Case(name: "relayed past the end", message: "X-Archiverelay-Trace: hops=1; path=a; relayed=999\r\n" + original, trust: .byListener,
             content: "X-Archiverelay-Trace: hops=1; path=a; relayed=999\r\n" + original, prepended: "",
             scan: .malformed("the message ends inside the relayed header fields")),
        Case(name: "relayed not at a line end", message: "X-Archiverelay-Trace: hops=1; path=a; relayed=5\r\n" + original, trust: .byListener,
             content: "X-Archiverelay-Trace: hops=1; path=a; relayed=5\r\n" + original, prepended: "",
             scan: .malformed("relayed does not end at a line end")),
        Case(name: "absurd relayed", message: "X-Archiverelay-Trace: hops=1; path=a; relayed=99999999\r\n" + original, trust: .byListener,
             content: "X-Archiverelay-Trace: hops=1; path=a; relayed=99999999\r\n" + original, prepended: "",
             scan: .malformed("relayed=99999999 is more than 1048576 bytes")),
        Case(name: "message shorter than the field name", message: "X-Arch", trust: .byListener,
             content: "X-Arch", prepended: "", scan: .needsMoreBytes),
        // With the chain's key only a trace it verifies is stripped.
        Case(name: "signed trace with the chain key", message: signed + relayed + original, trust: .byKey(TraceFixtures.chainKey),
             content: original, prepended: signed + relayed,
             scan: LoopTraceParser.scan(Array((signed + relayed).utf8))),
        Case(name: "unsigned trace with the chain key", message: trace + relayed + original, trust: .byKey(TraceFixtures.chainKey),
             content: trace + relayed + original, prepended: "", scan: .malformed("not signed with this chain's trace key")),
        Case(name: "trace signed with another key", message: signed + relayed + original, trust: .byKey(TraceFixtures.otherKey),
             content: signed + relayed + original, prepended: "", scan: .malformed("not signed with this chain's trace key")),
        Case(name: "signed trace with other relayed bytes", message: signed + relayed.uppercased() + original,
             trust: .byKey(TraceFixtures.chainKey),
             content: signed + relayed.uppercased() + original, prepended: "", scan: .malformed("not signed with this chain's trace key")),
    ]

    static let signed = TraceFixtures.chainKey.sign(LoopTrace(path: [NodeID("node-a")!], relayedHeaderLength: relayed.utf8.count),
                                                    originalDigest: TraceFixtures.digest(original), relayedFields: Array(relayed.utf8)).headerField

    @Test(arguments: cases)
    func splitsAtEveryChunkBoundary(_ c: Case) {
        let bytes = Array(c.message.utf8)
        for split in 0...bytes.count {
            for size in [1, 7, bytes.count + 1] where size == 1 ? split == 0 : true {
                var stripper = TraceStripper(trust: c.trust)
                var out: [UInt8] = []
                var start = 0
                // First chunk ends at `split`, the rest comes `size` bytes at a time.
                var bounds = [split]
                while bounds.last! < bytes.count { bounds.append(min(bounds.last! + size, bytes.count)) }
                for end in bounds where end >= start {
                    out += stripper.consume(bytes[start..<end])
                    start = end
                }
                out += stripper.finish()
                #expect(String(decoding: out, as: UTF8.self) == c.content, "split \(split) size \(size)")
                #expect(String(decoding: stripper.prepended, as: UTF8.self) == c.prepended, "split \(split) size \(size)")
                #expect(stripper.scan == c.scan, "split \(split) size \(size)")
            }
        }
    }

    /// What the leading bytes count for, per listener: only a stripped trace is the
    /// chain's; a trace the chain's key does not verify is content and never stops a copy.
    static let standings: [(message: String, trust: TraceTrust, standing: TraceStanding)] = [
        (trace + relayed + original, .untrusted, .entering),
        ("X-Archiverelay-Trace: hops=x\r\n" + original, .untrusted, .entering),
        (original, .byListener, .entering),
        (trace + relayed + original, .byListener,
         .inChain(LoopTrace(path: [NodeID("node-a")!], relayedHeaderLength: relayed.utf8.count))),
        ("X-Archiverelay-Trace: hops=x\r\n" + original, .byListener, .unreadable("hops must be a number of at least 1")),
        ("X-Arch", .byListener, .unreadable("the message ends inside its first header field")),
        (signed + relayed + original, .byKey(TraceFixtures.chainKey), .inChain(Self.signedTrace)),
        (trace + relayed + original, .byKey(TraceFixtures.chainKey), .entering),
        ("X-Archiverelay-Trace: hops=x\r\n" + original, .byKey(TraceFixtures.chainKey), .entering),
        ("X-Arch", .byKey(TraceFixtures.chainKey), .entering),
    ]

    static var signedTrace: LoopTrace {
        guard case .found(let trace, _) = LoopTraceParser.scan(Array((signed + relayed).utf8)) else { return LoopTrace(path: []) }
        return trace
    }

    @Test(arguments: standings)
    func standing(message: String, trust: TraceTrust, standing: TraceStanding) {
        var stripper = TraceStripper(trust: trust)
        _ = stripper.consume(Array(message.utf8)) + stripper.finish()
        #expect(stripper.standing == standing)
    }

    /// With the chain's key: a trace kept as content says why (for the log and
    /// `unverified_traces_total`), and a stripped one is checked against the original's
    /// digest at the end.
    @Test func withTheChainKeyTheStripperSaysWhatItDidNotTrust() {
        let key = TraceFixtures.chainKey
        func stripped(_ message: String, _ trust: TraceTrust) -> TraceStripper {
            var stripper = TraceStripper(trust: trust)
            _ = stripper.consume(Array(message.utf8)) + stripper.finish()
            return stripper
        }
        #expect(stripped(Self.trace + Self.relayed + Self.original, .byKey(key)).unverifiedTrace == "not signed with this chain's trace key")
        #expect(stripped("X-Archiverelay-Trace: hops=x\r\n" + Self.original, .byKey(key)).unverifiedTrace
            == "hops must be a number of at least 1")
        #expect(stripped(Self.original, .byKey(key)).unverifiedTrace == nil)
        #expect(stripped(Self.signed + Self.relayed + Self.original, .byKey(key)).unverifiedTrace == nil)
        #expect(stripped(Self.trace + Self.relayed + Self.original, .byListener).unverifiedTrace == nil)

        let signed = stripped(Self.signed + Self.relayed + Self.original, .byKey(key))
        #expect(!signed.strippedTraceIsForAnotherOriginal(than: TraceFixtures.digest(Self.original)))
        #expect(signed.strippedTraceIsForAnotherOriginal(than: TraceFixtures.digest("another original")))
        // Without the key nothing was signed, so there is nothing to hold the digest to.
        let byListener = stripped(Self.signed + Self.relayed + Self.original, .byListener)
        #expect(!byListener.strippedTraceIsForAnotherOriginal(than: TraceFixtures.digest("another original")))
    }

    @Test func relayedFieldsFollowTheTrace() {
        var stripper = TraceStripper(trust: .byListener)
        let out = stripper.consume(Array((Self.trace + Self.relayed + Self.original).utf8)) + stripper.finish()
        #expect(String(decoding: out, as: UTF8.self) == Self.original)
        #expect(String(decoding: stripper.relayedFields, as: UTF8.self) == Self.relayed)
        #expect(stripper.isPassingThrough)
    }
}
