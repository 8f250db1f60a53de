import ArchiveStore
import Logging
import NIOCore
import RouteEngine
import SMTPListener
import SMTPProtocol

/// The listener's next stage when a node archives: every message goes into the archive, and
/// the reply to the final dot waits until the archive has made it durable.
struct ArchiveReceiver: MessageReceiver {
    let store: ArchiveStore
    let routes: RouteStore
    let logger: Logger

    static let insufficientStorage = SMTPReply(452, EnhancedStatusCode(4, 3, 1), "Insufficient system storage")
    static let temporaryFailure = SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Temporary failure storing the message, try again")

    func vetSender(_ sender: ReversePath, parameters: MailParameters, session: SessionSnapshot) -> SMTPReply? {
        store.capacity.isLow ? Self.insufficientStorage : nil
    }

    /// First matching route wins; with routes configured, a recipient none of them takes
    /// is refused with 550 5.7.1 (with no routes at all, everything is archived).
    func vetRecipient(_ recipient: ForwardPath, sender: ReversePath, session: SessionSnapshot) -> SMTPReply? {
        routes.table.route(listener: session.listener, sender: sender.description, recipient: recipient.description) == nil
            ? RoutingTable.noRoute : nil
    }

    func beginMessage(_ envelope: Envelope) -> any MessageSink {
        // The plan at DATA time: a reload between RCPT and DATA counts from here on.
        let table = routes.table
        var plan = DeliveryPlan()
        for recipient in envelope.recipients {
            if let route = table.route(listener: envelope.listener, sender: envelope.sender.description, recipient: recipient.description) {
                plan.add(route)
            }
        }
        guard plan.archive else {
            logger.warning("no route archives this message any more (routes reloaded?)", metadata: ["id": "\(envelope.transactionID)"])
            return ArchiveSink(store: store, draft: nil, logger: logger)
        }
        let archiveEnvelope = ArchiveEnvelope(
            receivedAt: envelope.receivedAt, listener: envelope.listener, clientAddress: envelope.clientIP,
            helo: envelope.helo, tls: envelope.tls, sender: envelope.sender.description,
            recipients: envelope.recipients.map(\.description), traceHeaders: envelope.receivedHeader,
            suggestedID: envelope.transactionID)
        do {
            return ArchiveSink(store: store, draft: try store.makeDraft(envelope: archiveEnvelope), logger: logger)
        } catch {
            logger.error("cannot start an archive record", metadata: ["error": "\(error)"])
            return ArchiveSink(store: store, draft: nil, logger: logger)
        }
    }
}

/// One message on its way into the archive: compressed and hashed chunk by chunk.
struct ArchiveSink: MessageSink {
    let store: ArchiveStore
    var draft: MessageDraft?
    let logger: Logger

    mutating func append(_ chunk: ByteBuffer) async throws {
        guard draft != nil else { throw ArchiveStoreError.temporaryFailure(reason: "no record") }
        try draft?.append(chunk)
    }

    mutating func finish() async -> StoreOutcome {
        guard let open = draft else { return .refused(ArchiveReceiver.temporaryFailure) }
        draft = nil
        do {
            let receipt = try await store.commit(try open.finish())
            return .stored(id: receipt.id)
        } catch ArchiveStoreError.insufficientStorage {
            return .refused(ArchiveReceiver.insufficientStorage)
        } catch {
            logger.error("archive commit failed", metadata: ["error": "\(error)"])
            return .refused(ArchiveReceiver.temporaryFailure)
        }
    }

    mutating func abandon() async {
        draft = nil
    }
}
