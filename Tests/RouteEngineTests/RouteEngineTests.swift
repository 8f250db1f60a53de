import RouteEngine
import Testing

@Suite struct AddressPatternTests {
    @Test(arguments: [
        ("*", "a@b.example", true), ("*", "", true),
        ("<>", "", true), ("<>", "a@b.example", false),
        ("@corp.example", "x@corp.example", true), ("@corp.example", "x@CORP.example", true),
        ("@corp.example", "x@mail.corp.example", false),
        ("*.corp.example", "x@mail.corp.example", true), ("*.corp.example", "x@corp.example", false),
        ("*.corp.example", "x@evilcorp.example", false),
        ("audit@corp.example", "audit@Corp.Example", true), ("audit@corp.example", "Audit@corp.example", false),
        ("postmaster@corp.example", "PostMaster@corp.example", true),
        ("postmaster@corp.example", "postmaster", true),
        ("audit@corp.example", "", false),
    ])
    func matching(_ pattern: String, _ address: String, _ expected: Bool) throws {
        let p = try #require(AddressPattern(pattern))
        #expect(p.matches(address) == expected, "\(pattern) vs \(address)")
    }

    @Test(arguments: ["", "corp.example", "@", "*.", "a@", "@.corp", "a b@corp.example", "*.a..b", "<a@b.c>"])
    func invalidPatternsAreRefused(_ text: String) {
        #expect(AddressPattern(text) == nil, "\(text) parsed")
    }
}

@Suite struct RoutingTableTests {
    static let table = RoutingTable(routes: [
        Route(name: "ha", listeners: ["ha"], archive: true),
        Route(name: "legal", listeners: ["journal"], recipients: [AddressPattern("@legal.example")!], archive: true, forward: ["b", "c"],
              acknowledgement: .onePeer(timeout: .seconds(10))),
        Route(name: "journal", listeners: ["journal"], archive: true, forward: ["b"]),
        Route(name: "bounces", senders: [AddressPattern("<>")!], archive: false, forward: ["c"]),
    ])

    @Test(arguments: [
        ("ha", "a@x.example", "r@legal.example", "ha"),
        ("journal", "a@x.example", "r@legal.example", "legal"),
        ("journal", "a@x.example", "r@other.example", "journal"),
        ("submission", "", "r@other.example", "bounces"),
        ("submission", "a@x.example", "r@other.example", nil),
    ] as [(String, String, String, String?)])
    func firstMatchWins(_ listener: String, _ sender: String, _ recipient: String, _ expected: String?) {
        #expect(Self.table.route(listener: listener, sender: sender, recipient: recipient)?.name == expected)
    }

    @Test func noRoutesArchivesEverythingAndForwardsNothing() throws {
        let route = try #require(RoutingTable().route(listener: "any", sender: "", recipient: "x@y.example"))
        #expect(route.archive && route.forward.isEmpty)
        #expect(RoutingTable.noRoute.code == 550)
    }

    @Test func planIsTheUnionOfItsRecipientsRoutes() throws {
        var plan = DeliveryPlan()
        #expect(!plan.keepsTheMessage)
        for recipient in ["a@other.example", "b@legal.example", "c@other.example"] {
            plan.add(try #require(Self.table.route(listener: "journal", sender: "s@x.example", recipient: recipient)))
        }
        #expect(plan.archive && plan.forward == ["b", "c"] && plan.routeNames == ["journal", "legal"])
        #expect(plan.acknowledgement == .onePeer(timeout: .seconds(10)))
        var bounce = DeliveryPlan()
        bounce.add(try #require(Self.table.route(listener: "x", sender: "", recipient: "r@y.example")))
        #expect(!bounce.archive && bounce.forward == ["c"] && bounce.keepsTheMessage)
    }
}

@Suite struct LoopDetectionTests {
    @Test func traceHeaderRoundTripsAndIsFoundOnlyAtTheTop() throws {
        let trace = TraceHeader(hops: 2, path: ["node-a", "node_b.example"])
        let message = Array((trace.line + "Subject: x\r\n\r\nbody\r\n").utf8)
        let (found, length) = try #require(TraceHeader.leading(in: message))
        #expect(found == trace && length == trace.line.utf8.count)
        #expect(TraceHeader.leading(in: Array(("Subject: x\r\n" + trace.line + "\r\n").utf8)) == nil)
        let folded = Array("x-archiverelay-trace: hops=1;\r\n path=a\r\nSubject: y\r\n\r\n".utf8)
        #expect(TraceHeader.leading(in: folded)?.0 == TraceHeader(hops: 1, path: ["a"]))
        #expect(TraceHeader.leading(in: folded)?.length == 40)
    }

    @Test(arguments: [
        "X-Archiverelay-Trace: hops=1; path=a b\r\n\r\n", "X-Archiverelay-Trace: hops=0; path=a,b\r\n\r\n",
        "X-Archiverelay-Trace: path=a\r\n\r\n", "X-Archiverelay-Trace: hops=-1; path=\r\n\r\n",
        "X-Archiverelay-Trace: hops=1; path=a; extra=1\r\n\r\n", "X-Archiverelay-Trace: hops=1; path=a",
    ])
    func malformedTraceHeadersAreNotTraces(_ text: String) {
        #expect(TraceHeader.leading(in: Array(text.utf8)) == nil)
    }

    @Test(arguments: [
        // (incoming path, trusted, received, expected: forward path or stop reason prefix)
        ([String]?.none, true, 1, "forward:b"),
        (["a"], true, 1, "forward:a,b"),
        (["a", "b", "c"], true, 1, "stop:loop"),
        (["a", "b", "c"], false, 1, "forward:b"),   // a client's forged trace changes nothing
        (["a"], true, 51, "stop:too many Received"),
        (["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"], true, 1, "stop:too many relay hops"),
    ] as [([String]?, Bool, Int, String)])
    func verdicts(_ path: [String]?, _ trusted: Bool, _ received: Int, _ expected: String) {
        let incoming = path.map { TraceHeader(hops: $0.count, path: $0) }
        let verdict = LoopGuard.verdict(incoming: incoming, trusted: trusted, nodeID: "b", receivedHeaders: received, maximumHops: 10)
        switch verdict {
        case .forward(let trace):
            #expect(expected == "forward:" + trace.path.joined(separator: ","))
            #expect(trace.hops == trace.path.count)
        case .stop(let reason):
            #expect(expected.hasPrefix("stop:") && reason.hasPrefix(expected.dropFirst(5)), "\(reason)")
        }
    }

    @Test func receivedHeadersAreCountedInTheHeaderSectionOnly() {
        let message = "Received: from a\r\nreceived: from b\r\n\tby c\r\nX-Received: no\r\nSubject: x\r\n\r\nReceived: in the body\r\n"
        #expect(ReceivedHeaders.count(in: Array(message.utf8)) == 2)
    }
}
