import RouteEngine
import SMTPProtocol
import Testing

struct RoutingTableTests {
    static let node = NodeID("archive-a")!

    static func address(_ text: String) -> Mailbox { AddressPatternTests.mailbox(text) }
    static func sender(_ text: String) -> ReversePath { text == "<>" ? .null : .mailbox(address(text)) }
    static func recipient(_ text: String) -> ForwardPath { text == "postmaster" ? .postmaster : .mailbox(address(text)) }

    /// journal: journal listener, journal recipients → archive + forward to peer
    /// bounces: null sender on any listener → archive only
    /// ha: ha listener, anything → archive only
    /// relay: *.example.com senders to @partner.example → forward only to relay
    static let table = RoutingTable(nodeID: node, routes: [
        Route(name: "bounces", senders: [.nullSender], action: RouteAction(archive: true)),
        Route(name: "journal", listeners: ["journal"], recipients: [.address(localPart: "journal", domain: "example.com"), .domain("journal.example.com")],
              action: RouteAction(archive: true, forward: ["peer"])),
        Route(name: "ha", listeners: ["ha"], action: RouteAction(archive: true)),
        Route(name: "relay", senders: [.subdomains(of: "example.com")], recipients: [.domain("partner.example")],
              action: RouteAction(archive: false, forward: ["relay"], ackAfterForward: .afterOnePeer, ackTimeoutSeconds: 20)),
    ])

    static let cases: [(listener: String, sender: String, recipient: String, route: String?)] = [
        ("journal", "<>", "journal@example.com", "bounces"),
        ("journal", "a@mail.example.com", "journal@example.com", "journal"),
        ("journal", "a@mail.example.com", "JOURNAL@EXAMPLE.COM", nil),
        ("journal", "a@mail.example.com", "journal@EXAMPLE.COM", "journal"),
        ("journal", "a@mail.example.com", "x@journal.example.com", "journal"),
        ("journal", "a@mail.example.com", "x@other.example", nil),
        ("ha", "a@mail.example.com", "x@other.example", "ha"),
        ("ha", "<>", "postmaster", "bounces"),
        ("other", "a@mail.example.com", "b@partner.example", "relay"),
        ("other", "a@example.com", "b@partner.example", nil),
        ("journal", "a@mail.example.com", "b@partner.example", "relay"),
        ("other", "a@mail.example.com", "postmaster", nil),
    ]

    @Test(arguments: cases)
    func firstMatchingRouteWins(listener: String, sender: String, recipient: String, route: String?) {
        let result = Self.table.route(listener: listener, sender: Self.sender(sender), recipient: Self.recipient(recipient))
        if let route {
            let expected = Self.table.routes.first { $0.name == route }!
            #expect(result == .accepted(route: route, expected.action))
        } else {
            #expect(result == .refused(RoutingTable.noRouteReply))
        }
    }

    @Test func noRouteReplyIs550WithReason() {
        let reply = RoutingTable.noRouteReply
        #expect(reply.code == 550)
        #expect(reply.enhancedCode == EnhancedStatusCode(5, 7, 1))
        #expect(reply.lines.first?.contains("no route") == true)
    }

    @Test(arguments: [("journal", "<>", "postmaster"), ("any", "a@b.example", "c@d.example")])
    func withoutRoutesEverythingIsArchivedNothingForwarded(listener: String, sender: String, recipient: String) {
        let empty = RoutingTable(nodeID: Self.node)
        let result = empty.route(listener: listener, sender: Self.sender(sender), recipient: Self.recipient(recipient))
        #expect(result == .accepted(route: nil, RouteAction(archive: true, forward: [])))
    }

    @Test func traceTrustIsPerListener() {
        let table = RoutingTable(nodeID: Self.node, traceTrustingListeners: ["ha"])
        #expect(table.trustsTrace(onListener: "ha"))
        #expect(!table.trustsTrace(onListener: "journal"))
    }
}
