import SMTPProtocol

/// When the final 250 may go out for a message a route forwards.
///
/// Ordered: a message whose recipients matched routes with different policies gets the
/// strongest (`Comparable`'s maximum).
public enum AckPolicy: String, Hashable, Sendable, Comparable, CaseIterable {
    /// `none`: 250 once archived (and durably queued for every peer). The default.
    case afterArchive = "none"
    /// `one`: 250 only after at least one peer accepted its copy, a 4xx at `ack_timeout_seconds`.
    case afterOnePeer = "one"

    private var strength: Int { self == .afterArchive ? 0 : 1 }
    public static func < (lhs: AckPolicy, rhs: AckPolicy) -> Bool { lhs.strength < rhs.strength }
}

/// One `[[route]]`: which transactions it takes and what happens to them.
public struct Route: Hashable, Sendable {
    public var name: String
    /// Listener names; empty matches every listener.
    public var listeners: Set<String>
    /// Empty matches every sender.
    public var senders: [AddressPattern]
    /// Empty matches every recipient.
    public var recipients: [AddressPattern]
    public var action: RouteAction

    public init(name: String, listeners: Set<String> = [], senders: [AddressPattern] = [],
                recipients: [AddressPattern] = [], action: RouteAction = RouteAction()) {
        self.name = name
        self.listeners = listeners
        self.senders = senders
        self.recipients = recipients
        self.action = action
    }

    public func matches(listener: String, sender: ReversePath, recipient: ForwardPath) -> Bool {
        (listeners.isEmpty || listeners.contains(listener))
            && (senders.isEmpty || senders.contains { $0.matches(sender) })
            && (recipients.isEmpty || recipients.contains { $0.matches(recipient) })
    }
}

/// What a route does with a recipient it takes.
public struct RouteAction: Hashable, Sendable {
    public var archive: Bool
    /// Connection names, in the order the route lists them.
    public var forward: [String]
    public var ackAfterForward: AckPolicy
    public var ackTimeoutSeconds: Int

    public static let defaultAckTimeoutSeconds = 10

    public init(archive: Bool = true, forward: [String] = [], ackAfterForward: AckPolicy = .afterArchive,
                ackTimeoutSeconds: Int = RouteAction.defaultAckTimeoutSeconds) {
        self.archive = archive
        self.forward = forward
        self.ackAfterForward = ackAfterForward
        self.ackTimeoutSeconds = ackTimeoutSeconds
    }

    /// What happens without any `[[route]]`: archive everything, forward nothing.
    public static let archiveOnly = RouteAction()
}
