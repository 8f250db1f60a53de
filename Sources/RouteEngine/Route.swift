/// When the 250 for a routed message may go out (docs/CONFIG.md, `ack_after_forward`).
public enum ForwardAcknowledgement: Hashable, Sendable {
    /// As soon as the message is archived and durably queued for its peers.
    case queued
    /// Also after at least one peer accepted its copy, or `timeout` passed (then the
    /// queue delivers it as usual): a healthy pair never holds a message on one node only.
    case onePeer(timeout: Duration)

    /// The stronger of two policies (longer wait wins).
    func strongest(_ other: ForwardAcknowledgement) -> ForwardAcknowledgement {
        switch (self, other) {
        case (.queued, let x), (let x, .queued): return x
        case (.onePeer(let a), .onePeer(let b)): return .onePeer(timeout: max(a, b))
        }
    }
}

/// One `[[route]]`: which messages it takes and what happens to them.
public struct Route: Hashable, Sendable {
    public var name: String
    /// Listener names; empty means every listener.
    public var listeners: Set<String>
    /// Sender patterns; empty means any sender.
    public var senders: [AddressPattern]
    /// Recipient patterns; empty means any recipient.
    public var recipients: [AddressPattern]
    public var archive: Bool
    /// Connection names, each gets a copy.
    public var forward: [String]
    public var acknowledgement: ForwardAcknowledgement

    public init(name: String, listeners: Set<String> = [], senders: [AddressPattern] = [], recipients: [AddressPattern] = [],
                archive: Bool = true, forward: [String] = [], acknowledgement: ForwardAcknowledgement = .queued) {
        self.name = name
        self.listeners = listeners
        self.senders = senders
        self.recipients = recipients
        self.archive = archive
        self.forward = forward
        self.acknowledgement = acknowledgement
    }

    public func matches(listener: String, sender: String, recipient: String) -> Bool {
        (listeners.isEmpty || listeners.contains(listener))
            && (senders.isEmpty || senders.contains { $0.matches(sender) })
            && (recipients.isEmpty || recipients.contains { $0.matches(recipient) })
    }
}
