import SMTPProtocol

/// The routes of a node, in configuration order. A value: a reload builds a new table and
/// swaps it in whole, so a session sees one table or the other, never a mix.
public struct RoutingTable: Hashable, Sendable {
    public var routes: [Route]

    public init(routes: [Route] = []) {
        self.routes = routes
    }

    /// The reply to a RCPT that no route takes (only possible when routes exist).
    public static let noRoute = SMTPReply(550, EnhancedStatusCode(5, 7, 1), "No route for this recipient on this listener")

    /// What a recipient gets: the first route that matches wins. With no routes at all
    /// every message is archived and nothing forwarded; with routes and no match, nil
    /// (refuse the recipient with `noRoute`).
    public func route(listener: String, sender: String, recipient: String) -> Route? {
        if routes.isEmpty { return Self.archiveEverything }
        return routes.first { $0.matches(listener: listener, sender: sender, recipient: recipient) }
    }

    static let archiveEverything = Route(name: "(default: archive everything)")
}

/// What happens to one message: the union over the routes its accepted recipients took.
/// Archived if any of them archives; a copy to every connection any of them names (in
/// first-seen order, each once); the strongest acknowledgement policy among them.
public struct DeliveryPlan: Hashable, Sendable {
    public private(set) var archive = false
    public private(set) var forward: [String] = []
    public private(set) var acknowledgement = ForwardAcknowledgement.queued
    public private(set) var routeNames: [String] = []

    public init() {}

    public mutating func add(_ route: Route) {
        if !routeNames.contains(route.name) { routeNames.append(route.name) }
        archive = archive || route.archive
        for connection in route.forward where !forward.contains(connection) { forward.append(connection) }
        acknowledgement = acknowledgement.strongest(route.acknowledgement)
    }

    /// A plan that neither archives nor forwards would drop the message: never accept it.
    public var keepsTheMessage: Bool { archive || !forward.isEmpty }
}
