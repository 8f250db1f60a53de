import ForwardQueue
import RelayPipeline
import RouteEngine
import SMTPProtocol
import Testing

/// A configuration reload (SIGHUP) between RCPT and DATA: the transaction keeps the routes
/// it accepted its recipients with (docs/ARCHITECTURE.md, "Routing").
@Suite struct ReloadTests {
    static let node = NodeID("node-a")!
    /// Forwards everything to peer-a and archives nothing: a forward-only relay.
    static let forwardOnly = RoutingTable(nodeID: node, routes: [
        Route(name: "relay", action: RouteAction(archive: false, forward: ["peer-a"])),
    ])
    /// Takes only carol: bob, accepted before, has no route any more.
    static let carolOnly = RoutingTable(nodeID: node, routes: [
        Route(name: "carol", recipients: [.address(localPart: "carol", domain: "example.com")], action: RouteAction(archive: true)),
    ])
    /// Archives everything and forwards nothing.
    static let archiveOnly = RoutingTable(nodeID: node, routes: [Route(name: "all", action: RouteAction(archive: true))])

    @Test func aRecipientWhoseRouteIsReloadedAwayIsStillKept() async throws {
        try await PipelineHarness.with(Self.forwardOnly) { pipeline in
            let sent = try await pipeline.send(to: ["bob@example.com"], content: message()) {
                pipeline.routing.replace(routing: Self.carolOnly)
            }
            #expect(sent.recipientReplies == [nil])
            guard case .stored = sent.outcome else {
                Issue.record("expected 250, got \(String(describing: sent.outcome))")
                return
            }
            // Acknowledged, so kept: the copy bob's route promised at RCPT is queued.
            #expect(pipeline.queued() == [.init(connection: "peer-a", recipients: ["bob@example.com"])])
            #expect(try pipeline.archived().isEmpty)
        }
    }

    @Test func aReloadThatAddsForwardingDoesNotChangeATransactionUnderWay() async throws {
        try await PipelineHarness.with(Self.archiveOnly) { pipeline in
            let sent = try await pipeline.send(to: ["bob@example.com"], content: message()) {
                pipeline.routing.replace(routing: Self.forwardOnly)
            }
            guard case .stored = sent.outcome else {
                Issue.record("expected 250, got \(String(describing: sent.outcome))")
                return
            }
            #expect(try pipeline.archived().map(\.recipients) == [["bob@example.com"]])
            #expect(pipeline.queued().isEmpty)
            // The next transaction routes with the new table.
            let next = try await pipeline.send(to: ["bob@example.com"], content: message())
            guard case .stored = next.outcome else {
                Issue.record("expected 250, got \(String(describing: next.outcome))")
                return
            }
            #expect(pipeline.queued() == [.init(connection: "peer-a", recipients: ["bob@example.com"])])
        }
    }
}
