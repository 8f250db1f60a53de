import ArchiveStore
import RouteEngine
import SMTPProtocol

/// One `[[retention.rule]]`: which arrivals it takes and how long it keeps them. Every
/// key it has must match (each list: any of its entries); an empty list is no key.
public struct RetentionRule: Hashable, Sendable {
    public var name: String
    public var keep: RetentionPeriod
    /// Matched against MAIL FROM and every real sender the index holds for the original.
    public var senders: [AddressPattern]
    /// Matched against RCPT TO and every recipient the index holds for the original
    /// (a journal report's To, Cc, Bcc and expanded recipients).
    public var recipients: [AddressPattern]
    public var listeners: Set<String>
    /// Matches when one of these routes takes any of the arrival's RCPT TO recipients.
    public var routes: Set<String>
    /// A search query the original must match (evaluated in the search database).
    public var query: String?

    public init(name: String, keep: RetentionPeriod, senders: [AddressPattern] = [], recipients: [AddressPattern] = [],
                listeners: Set<String> = [], routes: Set<String> = [], query: String? = nil) {
        self.name = name
        self.keep = keep
        self.senders = senders
        self.recipients = recipients
        self.listeners = listeners
        self.routes = routes
        self.query = query
    }

    /// Whether it has no match key at all (a configuration error: it would match everything).
    public var matchesNothingSpecific: Bool {
        senders.isEmpty && recipients.isEmpty && listeners.isEmpty && routes.isEmpty && query == nil
    }

    /// Whether the rule takes `arrival` of `original`; `queryMatched` is whether the
    /// original matches the rule's query (ignored without one).
    func matches(_ arrival: RetainedArrival, of original: RetainedOriginal, routes configured: [Route], queryMatched: Bool) -> Bool {
        if query != nil && !queryMatched { return false }
        if !listeners.isEmpty && !listeners.contains(arrival.listener) { return false }
        if !senders.isEmpty {
            let paths = ([arrival.sender] + original.senders).map(Self.reversePath)
            guard senders.contains(where: { pattern in paths.contains { pattern.matches($0) } }) else { return false }
        }
        if !recipients.isEmpty {
            let paths = (arrival.recipients + original.recipients).map(Self.forwardPath)
            guard recipients.contains(where: { pattern in paths.contains { pattern.matches($0) } }) else { return false }
        }
        if !routes.isEmpty {
            let sender = Self.reversePath(arrival.sender)
            let routed = arrival.recipients.contains { recipient in
                let route = RoutingTable.firstMatch(configured, listener: arrival.listener, sender: sender,
                                                    recipient: Self.forwardPath(recipient))
                return route.map { routes.contains($0.name) } ?? false
            }
            guard routed else { return false }
        }
        return true
    }

    /// An address as the index keeps it, as the envelope carried it: empty is `<>`.
    static func reversePath(_ address: String) -> ReversePath {
        address.isEmpty ? .null : .mailbox(mailbox(address))
    }

    /// `postmaster` without a domain is the bare `<Postmaster>`.
    static func forwardPath(_ address: String) -> ForwardPath {
        address.lowercased() == "postmaster" ? .postmaster : .mailbox(mailbox(address))
    }

    private static func mailbox(_ address: String) -> Mailbox {
        guard let at = address.lastIndex(of: "@") else { return Mailbox(localPart: address, domain: "") }
        return Mailbox(localPart: String(address[..<at]), domain: String(address[address.index(after: at)...]))
    }
}
