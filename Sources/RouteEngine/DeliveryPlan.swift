/// What happens to one message: the union over the routes of its accepted recipients.
///
/// It is archived when any of those routes archives, forwarded to every connection any of
/// them names (first mention first, each once), and acknowledged under the strongest
/// `ack_after_forward` among routes that forward, with the longest of their timeouts.
public struct DeliveryPlan: Hashable, Sendable {
    public var archive = false
    public var forward: [String] = []
    public var ackAfterForward: AckPolicy = .afterArchive
    /// Meaningful when `ackAfterForward` is not `.afterArchive`.
    public var ackTimeoutSeconds = 0

    public init() {}

    public init(_ actions: some Sequence<RouteAction>) {
        for action in actions { add(action) }
    }

    /// Adds one accepted recipient's route action.
    public mutating func add(_ action: RouteAction) {
        archive = archive || action.archive
        for name in action.forward where !forward.contains(name) { forward.append(name) }
        guard !action.forward.isEmpty, action.ackAfterForward != .afterArchive else { return }
        if action.ackAfterForward > ackAfterForward {
            ackAfterForward = action.ackAfterForward
        }
        ackTimeoutSeconds = max(ackTimeoutSeconds, action.ackTimeoutSeconds)
    }

    /// True when nothing would keep the message (no recipient accepted, or only routes
    /// that neither archive nor forward).
    public var isEmpty: Bool { !archive && forward.isEmpty }
}
