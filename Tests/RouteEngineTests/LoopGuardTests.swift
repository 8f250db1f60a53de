import RouteEngine
import Testing

struct LoopGuardTests {
    static let me = NodeID("node-b")!
    static func ids(_ names: String...) -> [NodeID] { names.map { NodeID($0)! } }
    static func found(_ names: String...) -> LoopTraceScan {
        .found(LoopTrace(path: names.map { NodeID($0)! }), fieldLength: 40)
    }

    static let cases: [(scan: LoopTraceScan?, trusted: Bool, received: Int, maxHops: Int, verdict: ForwardVerdict)] = [
        // No trace: this node starts the path.
        (nil, false, 0, 10, .forward(LoopTrace(path: ids("node-b")))),
        (.absent, true, 3, 10, .forward(LoopTrace(path: ids("node-b")))),
        // A trusted trace is extended.
        (found("node-a"), true, 1, 10, .forward(LoopTrace(path: ids("node-a", "node-b")))),
        // Back at a node already on the path: a loop.
        (found("node-b"), true, 1, 10, .stop(.ownIDInPath(ids("node-b")))),
        (found("node-a", "NODE-B", "node-c"), true, 3, 10, .stop(.ownIDInPath(ids("node-a", "node-b", "node-c")))),
        // An untrusted listener ignores any trace, even one naming this node.
        (found("node-b"), false, 1, 10, .forward(LoopTrace(path: ids("node-b")))),
        (.malformed("bad"), false, 1, 10, .forward(LoopTrace(path: ids("node-b")))),
        // Hops: hops+1 may not pass max_hops.
        (found("n1", "n2"), true, 2, 3, .forward(LoopTrace(path: ids("n1", "n2", "node-b")))),
        (found("n1", "n2", "n3"), true, 3, 3, .stop(.tooManyHops(4, limit: 3))),
        (nil, false, 0, 0, .stop(.tooManyHops(1, limit: 0))),
        // Received fields: more than 50 stops it, trusted or not.
        (nil, false, 50, 10, .forward(LoopTrace(path: ids("node-b")))),
        (nil, false, 51, 10, .stop(.tooManyReceivedFields(51))),
        (found("node-a"), true, 51, 10, .stop(.tooManyReceivedFields(51))),
        // A trusted peer that sends a trace we cannot read gets no forwarding.
        (.malformed("no path"), true, 1, 10, .stop(.malformedTrace("no path"))),
        (.needsMoreBytes, true, 0, 10, .stop(.malformedTrace("the message ends inside its first header field"))),
    ]

    @Test(arguments: cases)
    func verdicts(scan: LoopTraceScan?, trusted: Bool, received: Int, maxHops: Int, verdict: ForwardVerdict) {
        #expect(LoopGuard.verdict(scan: scan, trustedListener: trusted, nodeID: Self.me,
                                  receivedFields: received, maxHops: maxHops) == verdict)
    }

    @Test func newTraceCarriesTheRelayedLength() {
        let verdict = LoopGuard.verdict(scan: Self.found("node-a"), trustedListener: true, nodeID: Self.me,
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
        var scan: LoopTraceScan? = nil
        var forwardedBy: [NodeID] = []
        for node in ring + ring {
            let verdict = LoopGuard.verdict(scan: scan, trustedListener: scan != nil, nodeID: node, receivedFields: forwardedBy.count, maxHops: 10)
            guard case .forward(let trace) = verdict else {
                #expect(verdict == .stop(.ownIDInPath(ring)))
                break
            }
            forwardedBy.append(node)
            scan = LoopTraceParser.scan(Array((trace.headerField + "Subject: x\r\n\r\n").utf8))
        }
        #expect(forwardedBy == ring)
    }
}
