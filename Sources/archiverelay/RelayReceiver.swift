import ArchiveStore
import ForwardQueue
import Logging
import NIOCore
import RouteEngine
import SMTPListener
import SMTPProtocol

/// The listener's next stage: routes each recipient, then archives the message and queues
/// a copy for every connection its routes name, all durable before the reply to the
/// final dot (docs/ARCHITECTURE.md, "The pipeline").
struct RelayReceiver: MessageReceiver {
    let store: ArchiveStore
    let queue: ForwardQueue
    let node: NodeState
    let logger: Logger

    static let insufficientStorage = SMTPReply(452, EnhancedStatusCode(4, 3, 1), "Insufficient system storage")
    static let queueFull = SMTPReply(452, EnhancedStatusCode(4, 3, 1), "Forward queue full, try again later")
    static let temporaryFailure = SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Temporary failure storing the message, try again")
    /// A trace the chain signed, on another original than the one it was signed for: a
    /// lifted trace, or a copy damaged on the way. Temporary, so a peer's copy is retried
    /// rather than dropped.
    static let traceMismatch = SMTPReply(451, EnhancedStatusCode(4, 7, 0), "Trace header was signed for another message")

    func vetSender(_ sender: ReversePath, parameters: MailParameters, session: SessionSnapshot) -> SMTPReply? {
        store.capacity.isLow ? Self.insufficientStorage : nil
    }

    /// First matching route wins; with routes configured, a recipient none of them takes
    /// is refused with 550 5.7.1. A recipient whose route forwards to a full queue that
    /// tempfails is refused with 452 4.3.1 here already (the final dot checks again).
    func vetRecipient(_ recipient: ForwardPath, sender: ReversePath, session: SessionSnapshot) -> SMTPReply? {
        switch node.routing.route(listener: session.listener, sender: sender, recipient: recipient) {
        case .refused(let reply):
            return reply
        case .accepted(_, let action):
            for connection in action.forward where queue.admit(connection: connection, size: 0) == .full {
                return Self.queueFull
            }
            return nil
        }
    }

    func beginMessage(_ envelope: Envelope) -> any MessageSink {
        // The plan at DATA time: a reload between RCPT and DATA counts from here on.
        let routing = node.routing
        let forwarding = ForwardingPlan(routing: routing, envelope: envelope)
        return RelaySink(receiver: self, envelope: envelope, routing: routing, plan: forwarding,
                         stripper: TraceStripper(trust: routing.traceTrust(onListener: envelope.listener)),
                         traceKey: routing.traceKey ?? node.ownTraceKey)
    }
}

/// What one message's recipients asked for: archive or not, and per connection the
/// recipients whose routes forward there (a peer gets only the envelope it should).
struct ForwardingPlan: Sendable {
    var delivery = DeliveryPlan()
    var recipientsByConnection: [String: [String]] = [:]

    init(routing: RoutingTable, envelope: Envelope) {
        for recipient in envelope.recipients {
            guard case .accepted(_, let action) = routing.route(listener: envelope.listener, sender: envelope.sender, recipient: recipient)
            else { continue }
            delivery.add(action)
            for connection in action.forward where recipientsByConnection[connection]?.contains(recipient.description) != true {
                recipientsByConnection[connection, default: []].append(recipient.description)
            }
        }
    }
}
