import RouteEngine
import Testing

struct LoopGuardTests {
    static let me = NodeID("node-b")!
    static func ids(_ names: String...) -> [NodeID] { names.map { NodeID($0)! } }
    static func inChain(_ names: String...) -> TraceStanding {
        .inChain(LoopTrace(path: names.map { NodeID($0)! }))
    }

    static let cases: [(standing: TraceStanding, received: Int, maxHops: Int, verdict: ForwardVerdict)] = [
        // Entering the chain: this node starts the path.
        (.entering, 0, 10, .forward(LoopTrace(path: ids("node-b")))),
        (.entering, 3, 10, .forward(LoopTrace(path: ids("node-b")))),
        // A copy inside the chain: its trace is extended.
        (inChain("node-a"), 1, 10, .forward(LoopTrace(path: ids("node-a", "node-b")))),
        // Back at a node already on the path: a loop.
        (inChain("node-b"), 1, 10, .stop(.ownIDInPath(ids("node-b")))),
        (inChain("node-a", "NODE-B", "node-c"), 3, 10, .stop(.ownIDInPath(ids("node-a", "node-b", "node-c")))),
        // Hops: hops+1 may not pass max_hops.
        (inChain("n1", "n2"), 2, 3, .forward(LoopTrace(path: ids("n1", "n2", "node-b")))),
        (inChain("n1", "n2", "n3"), 3, 3, .stop(.tooManyHops(4, limit: 3))),
        (.entering, 0, 0, .stop(.tooManyHops(1, limit: 0))),
        // Received fields: more than 50 stop a copy inside the chain, never a message
        // entering it (issue 22: a client writes as many as it likes).
        (inChain("node-a"), 50, 10, .forward(LoopTrace(path: ids("node-a", "node-b")))),
        (inChain("node-a"), 51, 10, .stop(.tooManyReceivedFields(51))),
        (.entering, 51, 10, .forward(LoopTrace(path: ids("node-b")))),
        (.entering, 500, 10, .forward(LoopTrace(path: ids("node-b")))),
        // A trust_trace listener without a chain key that cannot read a peer's trace.
        (.unreadable("no path"), 1, 10, .stop(.malformedTrace("no path"))),
    ]

    @Test(arguments: cases)
    func verdicts(standing: TraceStanding, received: Int, maxHops: Int, verdict: ForwardVerdict) {
        #expect(LoopGuard.verdict(standing: standing, nodeID: Self.me, receivedFields: received, maxHops: maxHops) == verdict)
    }

    /// Only a message entering here can be this node's copy coming back inside a peer's
    /// (`ReturningCopyDetector`); then it stops whatever else holds.
    @Test func aReturningCopyStopsAMessageEnteringHere() {
        let path = Self.ids("node-b", "node-x")
        #expect(LoopGuard.verdict(standing: .entering, returningCopy: path, nodeID: Self.me, receivedFields: 0, maxHops: 10)
            == .stop(.ownIDInPath(path)))
    }

    /// Issue 22, finding 6: Received fields a client wrote do not stop a message entering
    /// the chain; the limit is for copies already inside it.
    @Test func receivedFieldsDoNotStopAFirstEntry() {
        #expect(LoopGuard.verdict(standing: .entering, nodeID: Self.me, receivedFields: 51, maxHops: 10)
            == .forward(LoopTrace(path: Self.ids("node-b"))))
    }

    @Test func newTraceCarriesTheRelayedLength() {
        let verdict = LoopGuard.verdict(standing: Self.inChain("node-a"), nodeID: Self.me,
                                        receivedFields: 2, maxHops: 10, relayedHeaderLength: 180)
        #expect(verdict == .forward(LoopTrace(path: Self.ids("node-a", "node-b"), relayedHeaderLength: 180)))
        guard case .forward(let trace) = verdict else { return }
        #expect(trace.headerField == "X-Archiverelay-Trace: hops=2; path=node-a,node-b; relayed=180\r\n")
    }

    static let reasons: [(LoopStopReason, String, String)] = [
        (.ownIDInPath(ids("node-a", "node-b")), "loop: own id in path node-a,node-b", "loop"),
        (.tooManyHops(11, limit: 10), "too many hops (11 > max_hops 10)", "max_hops"),
        (.tooManyReceivedFields(51), "too many Received headers (51 > 50)", "received_fields"),
        (.malformedTrace("no path"), "malformed trace header: no path", "malformed_trace"),
    ]

    @Test(arguments: reasons)
    func reasonsReadWell(reason: LoopStopReason, text: String, label: String) {
        #expect(reason.description == text)
        #expect(reason.label == label)
    }

    /// A ring A → B → C → A: each node forwards onward; the copy that comes back to A stops.
    @Test func ringStopsWhereItStarted() {
        let ring = Self.ids("node-a", "node-b", "node-c")
        var standing = TraceStanding.entering
        var forwardedBy: [NodeID] = []
        for node in ring + ring {
            let verdict = LoopGuard.verdict(standing: standing, nodeID: node, receivedFields: forwardedBy.count, maxHops: 10)
            guard case .forward(let trace) = verdict else {
                #expect(verdict == .stop(.ownIDInPath(ring)))
                break
            }
            forwardedBy.append(node)
            var stripper = TraceStripper(trust: .byListener)
            _ = stripper.consume(Array((trace.headerField + "Subject: x\r\n\r\n").utf8))
            standing = stripper.standing
        }
        #expect(forwardedBy == ring)
    }
}
