import ArchiveStore
import ForwardQueue
import Foundation
import Logging
import MessageIntake
import Metrics
import NIOCore
import NIOPosix
import RouteEngine
import SMTPProtocol

/// One message on its way through the node. Chunks pass the `TraceStripper` (on a
/// `trust_trace` listener it removes what the path's nodes prepended, so the archive gets
/// the original) and the `ReceivedFieldCounter` into a `MessageDraft`. At the final dot:
/// the loop guard, the queue admission, the archive commit (or the spool), the queue
/// entries, and for `ack_after_forward = "one"` the wait for a peer: only then the reply.
struct RelaySink: MessageSink {
    let receiver: RelayReceiver
    let envelope: Envelope
    let routing: RoutingTable
    let plan: ForwardingPlan
    var stripper: TraceStripper
    /// Signs the trace of the copies (the chain's key, or this node's own).
    let traceKey: TraceKey
    var received = ReceivedFieldCounter()
    var draft: ArrivalDraft?
    var failed = false
    /// For a message that may be forwarded and whose leading bytes are content: is it
    /// this node's copy coming back inside a peer's?
    var detector: ReturningCopyDetector?
    /// Where the arrival entered the chain, from a copy whose trace this node verified;
    /// nil when it entered here. Read once, when the stripper has decided.
    var chainOrigin: ArrivalOrigin?

    init(receiver: RelayReceiver, envelope: Envelope, routing: RoutingTable, plan: ForwardingPlan, stripper: TraceStripper,
         traceKey: TraceKey) {
        self.receiver = receiver
        self.envelope = envelope
        self.routing = routing
        self.plan = plan
        self.stripper = stripper
        self.traceKey = traceKey
        if !plan.delivery.forward.isEmpty { detector = ReturningCopyDetector(nodeID: routing.nodeID, key: traceKey) }
    }

    private var logger: Logger { receiver.logger }

    mutating func append(_ chunk: ByteBuffer) async throws {
        if failed { throw ArchiveStoreError.temporaryFailure(reason: "no record") }
        if stripper.isPassingThrough, draft != nil {
            if !received.headerSectionEnded { received.consume(chunk.readableBytesView) }
            detector?.consume(chunk.readableBytesView)
            try draft?.append(chunk)
            return
        }
        let content = stripper.consume(chunk.readableBytesView)
        try feed(content)
    }

    /// Starts the draft once the stripper has decided (the prepended bytes go into its
    /// metadata with this node's Received field) and feeds it content.
    private mutating func feed(_ content: [UInt8]) throws {
        guard stripper.isPassingThrough else { return }  // still deciding; the stripper holds the bytes
        if draft == nil {
            if case .inChain = stripper.standing {
                detector = nil  // a stripped copy: its trace decides
                chainOrigin = ArrivalOrigin.find(in: stripper.relayedFields)
            }
            noteUnverifiedTrace()
            received.consume(stripper.relayedFields)
            do {
                // Only what is archived is unwrapped: a forward-only route relays the bytes.
                let unwrap = plan.delivery.archive && routing.unwrapsJournalReports(onListener: envelope.listener)
                draft = try receiver.store.makeArrivalDraft(envelope: archiveEnvelope(), unwrapReports: unwrap)
            } catch {
                failed = true
                logger.error("cannot start an archive record", metadata: ["error": "\(error)"])
                throw error
            }
        }
        guard !content.isEmpty else { return }
        if !received.headerSectionEnded { received.consume(content) }
        detector?.consume(content)
        try draft?.append(bytes: content)
    }

    /// A `trust_trace` listener with the chain's key kept a trace it does not verify as
    /// content: said once per message, so a peer with another key shows.
    private func noteUnverifiedTrace() {
        guard let reason = stripper.unverifiedTrace else { return }
        Counter(label: "unverified_traces_total", dimensions: [("listener", envelope.listener)]).increment()
        logger.warning("trace not verified with the chain's trace key; kept as content",
                       metadata: ["id": "\(envelope.transactionID)", "listener": "\(envelope.listener)", "reason": "\(reason)"])
    }

    /// The arrival as this node records it: where it entered the chain (the origin a
    /// verified copy carries, or this session), with this transaction's MAIL FROM and
    /// RCPT TO.
    private func archiveEnvelope() -> ArchiveEnvelope {
        let origin = arrivalOrigin
        return ArchiveEnvelope(
            receivedAt: origin.receivedAt, listener: origin.listener, clientAddress: origin.client,
            helo: origin.helo, tls: origin.tls, sender: envelope.sender.description,
            recipients: envelope.recipients.map(\.description),
            traceHeaders: envelope.receivedHeader + String(decoding: stripper.prepended, as: UTF8.self),
            suggestedID: origin.id, node: origin.node)
    }

    /// Where the arrival entered the chain: from a copy whose trace this node verified,
    /// the origin it carries (docs/ARCHITECTURE.md, "Originals and arrivals"); else here.
    private var arrivalOrigin: ArrivalOrigin {
        chainOrigin ?? ArrivalOrigin(id: envelope.transactionID, node: routing.nodeID.value, receivedAt: envelope.receivedAt,
                                     listener: envelope.listener, client: envelope.clientIP, helo: envelope.helo, tls: envelope.tls)
    }

    mutating func finish() async -> StoreOutcome {
        if !failed {
            do { try feed(stripper.finish()) } catch { failed = true }
        }
        guard !failed, let open = draft else { return .refused(RelayReceiver.temporaryFailure) }
        draft = nil
        let digest = open.receivedDigest
        if stripper.strippedTraceIsForAnotherOriginal(than: digest) {
            logger.warning("a signed trace on another original than it was signed for; refused",
                           metadata: ["id": "\(envelope.transactionID)", "listener": "\(envelope.listener)"])
            return .refused(RelayReceiver.traceMismatch)
        }
        let forwarding: Forwarding
        switch decideForwarding(size: open.receivedSize, digest: digest, returningCopy: detector?.finish()) {
        case .forward(let decided):
            forwarding = decided
        case .refuse(let reply):
            return .refused(reply)
        case .acceptWithoutKeeping:
            // Stopped as a loop and nothing archives it here: accepted, so the sender
            // does not retry for ever, and not kept (it has passed this node before).
            logger.warning("loop stopped a message no route here archives; accepted without keeping it",
                           metadata: ["id": "\(envelope.transactionID)"])
            return .stored(id: envelope.transactionID)
        }
        let message: FinishedMessage
        var finishing = open
        do {
            message = try finishing.finish(forwarding: forwarding.promise)
        } catch {
            logger.error("cannot finish the archive record", metadata: ["error": "\(error)"])
            return .refused(RelayReceiver.temporaryFailure)
        }
        count(finishing.journalOutcome)
        return await keep(consume message, forwarding)
    }

    mutating func abandon() async {
        draft = nil
    }

    /// `archive_journal_reports_total{outcome}`; a report archived as plain mail is logged
    /// with the reason, once per message.
    private func count(_ outcome: ArrivalDraft.JournalOutcome?) {
        switch outcome {
        case nil:
            return
        case .parsed:
            Counter(label: "archive_journal_reports_total", dimensions: [("outcome", "parsed")]).increment()
        case .malformed(let reason):
            Counter(label: "archive_journal_reports_total", dimensions: [("outcome", "malformed")]).increment()
            logger.warning("journal report not well formed; archived as plain mail",
                           metadata: ["id": "\(envelope.transactionID)", "listener": "\(envelope.listener)", "reason": "\(reason)"])
        }
    }

    // MARK: The final dot

    /// The copies owed to the admitted connections (nil when none) and whether the
    /// message's archive record carries them as its promise.
    private struct Forwarding {
        var owed: ForwardingPromise?
        var inRecord = false
        var promise: ForwardingPromise? { inRecord ? owed : nil }
    }

    private enum ForwardingDecision {
        case forward(Forwarding)
        case refuse(SMTPReply)
        /// A loop stopped it and no route here archives it.
        case acceptWithoutKeeping
    }

    /// The loop guard, then the queue admission, before anything is written: a full
    /// queue that tempfails refuses the whole message; `drop-forward` keeps it without
    /// that peer's copy.
    private func decideForwarding(size: UInt64, digest: [UInt8], returningCopy: [NodeID]?) -> ForwardingDecision {
        guard !plan.delivery.forward.isEmpty else { return .forward(Forwarding()) }
        let relayed = relayedFields
        let (connections, trace) = loopCheck(plan.delivery.forward, returningCopy: returningCopy, relayedLength: relayed.count)
        guard let trace, !connections.isEmpty else {
            return plan.delivery.archive ? .forward(Forwarding()) : .acceptWithoutKeeping
        }
        var admitted: [String] = []
        for connection in connections {
            switch receiver.queue.admit(connection: connection, size: size) {
            case .accept: admitted.append(connection)
            case .full: return .refuse(RelayReceiver.queueFull)
            case .dropForward: continue
            }
        }
        // Every forward was dropped (`drop-forward`) and no route archives: refusing is
        // the only way not to lose it.
        guard plan.delivery.archive || !admitted.isEmpty else { return .refuse(RelayReceiver.queueFull) }
        guard !admitted.isEmpty else { return .forward(Forwarding()) }
        let prefix = traceKey.sign(trace, originalDigest: digest, relayedFields: relayed).headerFieldBytes + relayed
        let owed = ForwardingPromise(prefix: prefix, copies: admitted.map {
            ForwardingPromise.Copy(connection: $0, recipients: plan.recipientsByConnection[$0] ?? [])
        })
        return .forward(Forwarding(owed: owed, inRecord: plan.delivery.archive))
    }

    /// The header fields the copies carry after the trace: this node's Received field,
    /// then, on the first node of the chain, where the arrival entered it, then what the
    /// nodes before prepended (which includes that origin). The trace's `relayed` counts them.
    private var relayedFields: [UInt8] {
        var relayed = Array(envelope.receivedHeader.utf8)
        if chainOrigin == nil { relayed += Array(arrivalOrigin.headerField.utf8) }
        return relayed + Array(stripper.relayedFields)
    }

    /// What `store` did.
    private enum Kept {
        /// Durable; `copiesOf` is where the message its queued copies refer to is stored,
        /// nil when none are owed.
        case stored(id: String, copiesOf: MessageReference?)
        case refused(SMTPReply)
    }

    /// Stores the message, then, for `ack_after_forward = "one"`, waits for a peer. The
    /// message (its record's memory or spill file) is let go before that wait.
    private func keep(_ message: consuming FinishedMessage, _ forwarding: Forwarding) async -> StoreOutcome {
        switch await store(consume message, forwarding) {
        case .refused(let reply):
            return .refused(reply)
        case .stored(let id, nil):
            return .stored(id: id)
        case .stored(let id, let reference?):
            if plan.delivery.ackAfterForward == .afterOnePeer {
                let accepted = await receiver.queue.waitForDelivery(of: reference, timeout: .seconds(plan.delivery.ackTimeoutSeconds))
                if !accepted {
                    Counter(label: "forward_ack_timeouts_total").increment()
                    logger.notice("no peer accepted the copy within ack_timeout_seconds; the queue delivers it",
                                  metadata: ["id": "\(id)", "timeout": "\(plan.delivery.ackTimeoutSeconds)"])
                }
            }
            return .stored(id: id)
        }
    }

    /// Archives (or spools) the message and queues its copies; the reply waits for both
    /// to be durable.
    private func store(_ message: FinishedMessage, _ forwarding: Forwarding) async -> Kept {
        let reference: MessageReference
        var promiseKept = false
        let id: String
        do {
            if plan.delivery.archive {
                let receipt = try await receiver.store.commit(
                    message, wake: MultiThreadedEventLoopGroup.currentEventLoop.map { .afterTick(of: $0) } ?? .now)
                reference = .archive(segment: receipt.arrivalPosition.segment, offset: receipt.arrivalPosition.offset)
                id = receipt.arrivalID
                // A new arrival record holds the promise: the queue's entries for it were
                // made before the commit returned (or, if the queue was closing, come from
                // the archive at the next start). A retry of an arrival recorded before
                // wrote nothing, so it is queued below.
                promiseKept = message.arrival.forwarding != nil && receipt.arrivalRecorded
            } else {
                reference = try await receiver.queue.spool(message)
                id = message.id
            }
        } catch ArchiveStoreError.insufficientStorage {
            return .refused(RelayReceiver.insufficientStorage)
        } catch {
            logger.error("archive commit failed", metadata: ["error": "\(error)"])
            return .refused(RelayReceiver.temporaryFailure)
        }
        guard let owed = forwarding.owed else { return .stored(id: id, copiesOf: nil) }

        if !promiseKept {
            // Queued even when the archive found the message already stored: the sender may
            // be retrying after a 4xx that came after the archive commit, and the copy is owed.
            let items = owed.queueItems(reference: reference, size: message.arrival.receivedSize, sender: envelope.sender.description)
            do {
                try await receiver.queue.enqueue(items, message: message)
            } catch {
                logger.error("forward queue write failed; the sender will retry", metadata: ["error": "\(error)", "id": "\(id)"])
                return .refused(RelayReceiver.temporaryFailure)
            }
        }
        return .stored(id: id, copiesOf: reference)
    }

    /// The loop guard's verdict: the connections to forward to (none when it stops the
    /// message) and the trace the copies carry.
    private func loopCheck(_ connections: [String], returningCopy: [NodeID]?, relayedLength: Int) -> ([String], LoopTrace?) {
        let verdict = LoopGuard.verdict(standing: stripper.standing, returningCopy: returningCopy, nodeID: routing.nodeID,
                                        receivedFields: received.count, maxHops: routing.maxHops, relayedHeaderLength: relayedLength)
        switch verdict {
        case .forward(let trace):
            return (connections, trace)
        case .stop(let reason):
            Counter(label: "loops_detected_total", dimensions: [("reason", reason.label)]).increment()
            logger.warning("not forwarding: \(reason)", metadata: ["id": "\(envelope.transactionID)", "listener": "\(envelope.listener)"])
            return ([], nil)
        }
    }
}
