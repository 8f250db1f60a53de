import SMTPProtocol

/// The routes of one validated configuration, with the node facts loop detection needs.
/// A value: a reload builds a new table and swaps it in whole, so a transaction routes
/// every recipient with one table.
public struct RoutingTable: Hashable, Sendable {
    public var nodeID: NodeID
    public var routes: [Route]
    /// Listeners whose incoming trace headers are honoured (`trust_trace = true`).
    public var traceTrustingListeners: Set<String>
    public var maxHops: Int
    /// The chain's key (`[node] trace_secret` or `trace_key_file`); nil when none is set.
    public var traceKey: TraceKey?
    /// Listeners that archive journal reports as plain mail (`journal_reports = "off"`);
    /// every other listener unwraps them (docs/CONFIG.md).
    public var journalReportsOff: Set<String>

    public static let defaultMaxHops = 10

    public init(nodeID: NodeID, routes: [Route] = [], traceTrustingListeners: Set<String> = [],
                maxHops: Int = RoutingTable.defaultMaxHops, traceKey: TraceKey? = nil, journalReportsOff: Set<String> = []) {
        self.journalReportsOff = journalReportsOff
        self.nodeID = nodeID
        self.routes = routes
        self.traceTrustingListeners = traceTrustingListeners
        self.maxHops = maxHops
        self.traceKey = traceKey
    }

    /// The reply to a RCPT no route takes.
    public static let noRouteReply = SMTPReply(550, EnhancedStatusCode(5, 7, 1), "Recipient not accepted here: no route takes it")

    /// Routes one recipient at RCPT time: the first route that matches wins. Without any
    /// route every recipient is archived and nothing is forwarded.
    public func route(listener: String, sender: ReversePath, recipient: ForwardPath) -> RecipientRouting {
        guard !routes.isEmpty else { return .accepted(route: nil, RouteAction.archiveOnly) }
        guard let route = Self.firstMatch(routes, listener: listener, sender: sender, recipient: recipient) else {
            return .refused(Self.noRouteReply)
        }
        return .accepted(route: route.name, route.action)
    }

    /// The route of `routes` that takes a recipient: the first that matches (retention's
    /// route rules ask it too).
    public static func firstMatch(_ routes: [Route], listener: String, sender: ReversePath, recipient: ForwardPath) -> Route? {
        routes.first { $0.matches(listener: listener, sender: sender, recipient: recipient) }
    }

    /// Whether a message on `listener` that is a journal report is unwrapped.
    public func unwrapsJournalReports(onListener listener: String) -> Bool {
        !journalReportsOff.contains(listener)
    }

    public func trustsTrace(onListener listener: String) -> Bool {
        traceTrustingListeners.contains(listener)
    }

    /// How `listener` treats a trace: content, or honoured by the listener's allowlist
    /// (no chain key) or by the chain key.
    public func traceTrust(onListener listener: String) -> TraceTrust {
        guard trustsTrace(onListener: listener) else { return .untrusted }
        return traceKey.map { .byKey($0) } ?? .byListener
    }
}

/// The outcome of routing one recipient.
public enum RecipientRouting: Hashable, Sendable {
    /// The route's name (nil for the no-routes default) and what it asks for.
    case accepted(route: String?, RouteAction)
    /// RCPT gets this reply; the transaction goes on with its other recipients.
    case refused(SMTPReply)
}
