import ArchiveStore
import ForwardQueue
import Logging
import MessageIntake
import NIOCore
import RouteEngine
import SMTPProtocol

/// The listener's next stage: routes each recipient, then archives the message and queues
/// a copy for every connection its routes name, all durable before the reply to the
/// final dot (docs/ARCHITECTURE.md, "The pipeline").
public struct RelayReceiver: MessageReceiver {
    let store: ArchiveStore
    let queue: ForwardQueue
    let routing: RoutingState
    let logger: Logger

    /// Connects the archive's commits to the queue: from here on, the forwarding promise in
    /// every new record becomes queue entries on the archive's writer thread before its
    /// commit returns (docs/ARCHITECTURE.md, "One fdatasync per forwarded message"). Make
    /// it before any listener starts; `disconnect()` before the queue closes.
    public init(store: ArchiveStore, queue: ForwardQueue, routing: RoutingState, logger: Logger) {
        self.store = store
        self.queue = queue
        self.routing = routing
        self.logger = logger
        store.observeCommits(queue)
    }

    /// Stops handing the archive's commits to the queue (shutdown: the queue closes next;
    /// promises committed after this are queued from the archive at the next open).
    public func disconnect() {
        store.stopObservingCommits(queue)
    }

    public static let insufficientStorage = SMTPReply(452, EnhancedStatusCode(4, 3, 1), "Insufficient system storage")
    public static let queueFull = SMTPReply(452, EnhancedStatusCode(4, 3, 1), "Forward queue full, try again later")
    public static let temporaryFailure = SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Temporary failure storing the message, try again")
    /// A trace the chain signed, on another original than the one it was signed for: a
    /// lifted trace, or a copy damaged on the way. Temporary, so a peer's copy is retried
    /// rather than dropped.
    public static let traceMismatch = SMTPReply(451, EnhancedStatusCode(4, 7, 0), "Trace header was signed for another message")

    /// MAIL FROM: refused while storage is low; otherwise a transaction that routes with
    /// the table current now, to its final dot.
    public func openTransaction(sender: ReversePath, parameters: MailParameters, session: SessionSnapshot) -> TransactionStart {
        if store.capacity.isLow { return .refused(Self.insufficientStorage) }
        return .opened(RelayTransaction(receiver: self, routing: routing.routing, sender: sender, listener: session.listener))
    }
}

/// One transaction: each recipient is routed once, at RCPT, with the table the transaction
/// started with; the final dot does what those routes said (docs/ARCHITECTURE.md,
/// "Routing").
struct RelayTransaction: MailTransaction {
    let receiver: RelayReceiver
    let routing: RoutingTable
    let sender: ReversePath
    let listener: String
    var plan = ForwardingPlan()

    /// First matching route wins; with routes configured, a recipient none of them takes
    /// is refused with 550 5.7.1. A recipient whose route forwards to a full queue that
    /// tempfails is refused with 452 4.3.1 here already (the final dot checks again).
    mutating func addRecipient(_ recipient: ForwardPath) -> SMTPReply? {
        switch routing.route(listener: listener, sender: sender, recipient: recipient) {
        case .refused(let reply):
            return reply
        case .accepted(let route, let action):
            if !action.archive && action.forward.isEmpty {
                // The configuration check refuses such a route; a table built another way
                // must still not accept mail it keeps nowhere.
                receiver.logger.error("route neither archives nor forwards; recipient refused for now", metadata: ["route": "\(route ?? "(default)")"])
                return RelayReceiver.temporaryFailure
            }
            for connection in action.forward where receiver.queue.admit(connection: connection, size: 0) == .full {
                return RelayReceiver.queueFull
            }
            plan.add(recipient, action)
            return nil
        }
    }

    func beginMessage(_ envelope: Envelope) -> any MessageSink {
        RelaySink(receiver: receiver, envelope: envelope, routing: routing, plan: plan,
                  stripper: TraceStripper(trust: routing.traceTrust(onListener: envelope.listener)),
                  traceKey: routing.traceKey ?? receiver.routing.ownTraceKey)
    }
}

/// What one message's recipients asked for: archive or not, and per connection the
/// recipients whose routes forward there (a peer gets only the envelope it should).
struct ForwardingPlan: Sendable {
    var delivery = DeliveryPlan()
    var recipientsByConnection: [String: [String]] = [:]

    mutating func add(_ recipient: ForwardPath, _ action: RouteAction) {
        delivery.add(action)
        for connection in action.forward where recipientsByConnection[connection]?.contains(recipient.description) != true {
            recipientsByConnection[connection, default: []].append(recipient.description)
        }
    }
}
