import ArchiveStore
import ForwardQueue
import Foundation
import Logging
import NIOCore
import RelayPipeline
import RouteEngine
import MessageIntake
import SMTPProtocol
import TestSupport

/// A real archive and a real queue in a temporary directory, with the pipeline between
/// them: what a node builds, without a listener or a binary. The queue's deliveries are
/// not started, so every copy it owes stays queued where the test can see it.
final class PipelineHarness: Sendable {
    static let peers = ["peer-a", "peer-b"]
    static let listener = "journal"

    let directory: String
    let store: ArchiveStore
    let queue: ForwardQueue
    let routing: RoutingState
    let receiver: RelayReceiver

    private init(directory: String, store: ArchiveStore, queue: ForwardQueue, routing: RoutingState, receiver: RelayReceiver) {
        self.directory = directory
        self.store = store
        self.queue = queue
        self.routing = routing
        self.receiver = receiver
    }

    /// Runs `body` with a fresh pipeline whose peers' queues hold at most `queueLimit`
    /// entries and answer `onFull` past it; everything is closed and removed after.
    static func with<T>(_ table: RoutingTable, queueLimit: Int = 100, onFull: PeerSettings.OnFull = .tempfail,
                        storageLow: Bool = false, _ body: (PipelineHarness) async throws -> T) async throws -> T {
        try await withTempDirectory("pipeline") { directory in
            try await run(in: directory, table, queueLimit: queueLimit, onFull: onFull, storageLow: storageLow, body)
        }
    }

    private static func run<T>(in directory: String, _ table: RoutingTable, queueLimit: Int, onFull: PeerSettings.OnFull,
                               storageLow: Bool, _ body: (PipelineHarness) async throws -> T) async throws -> T {
        let logger = Logger(label: "pipeline-test") { _ in SwiftLogNoOpLogHandler() }
        var options = ArchiveStoreOptions()
        if storageLow {
            // The volume reports no free space: what a full disk looks like to the archive.
            options.freeSpaceProbe = { _ in 0 }
        }
        let store = try await ArchiveStore.open(dataDirectory: directory, options: options, logger: logger)
        let peers = Self.peers.map { name in
            // Port 9 (discard) on loopback: never dialled, the deliveries are not run.
            var settings = PeerSettings(name: name, host: "127.0.0.1", port: 9)
            settings.queueLimit = queueLimit
            settings.onFull = onFull
            return settings
        }
        let queue = try await ForwardQueue.open(dataDirectory: directory, peers: peers, archive: store, nodeID: table.nodeID.value,
                                                logger: logger)
        let routing = RoutingState(routing: table)
        let harness = PipelineHarness(directory: directory, store: store, queue: queue, routing: routing,
                                      receiver: RelayReceiver(store: store, queue: queue, routing: routing, logger: logger))
        do {
            let result = try await body(harness)
            await queue.close()
            try await store.close()
            return result
        } catch {
            await queue.close()
            try? await store.close()
            throw error
        }
    }

    // MARK: One transaction

    /// What one transaction got: the reply to each RCPT (nil: accepted) and, when any was
    /// accepted, the outcome of the final dot.
    struct Transaction {
        /// The reply codes as a client sees them: MAIL, each RCPT, then the final dot.
        var codes: [Int] {
            guard let senderReply else {
                let final: [Int] = switch outcome {
                case .stored: [250]
                case .refused(let reply): [reply.code]
                case nil: []
                }
                return [250] + recipientReplies.map { $0?.code ?? 250 } + final
            }
            return [senderReply.code]
        }

        /// The refusal of MAIL FROM; nil when the transaction opened.
        var senderReply: SMTPReply? = nil
        var recipientReplies: [SMTPReply?]
        var outcome: StoreOutcome?
    }

    /// MAIL, one RCPT per recipient, DATA with `content` in one chunk, the final dot.
    /// `beforeData` runs between the last RCPT and DATA (a reload, say).
    func send(from sender: String = "alice@example.com", to recipients: [String], content: String,
              beforeData: () async throws -> Void = {}) async throws -> Transaction {
        let session = SessionSnapshot(listener: Self.listener, clientIP: "127.0.0.1", helo: "client.example.com")
        let reversePath = ReversePath.mailbox(mailbox(sender))
        var transaction: any MailTransaction
        switch receiver.openTransaction(sender: reversePath, parameters: MailParameters(), session: session) {
        case .opened(let opened): transaction = opened
        case .refused(let reply): return Transaction(senderReply: reply, recipientReplies: [], outcome: nil)
        }
        var accepted: [ForwardPath] = []
        var replies: [SMTPReply?] = []
        for recipient in recipients {
            let path = ForwardPath.mailbox(mailbox(recipient))
            let reply = transaction.addRecipient(path)
            if reply == nil { accepted.append(path) }
            replies.append(reply)
        }
        guard !accepted.isEmpty else { return Transaction(recipientReplies: replies, outcome: nil) }
        try await beforeData()
        let envelope = Envelope(transactionID: ArchiveID.make(), listener: Self.listener, clientIP: "127.0.0.1",
                                helo: "client.example.com", sender: reversePath, recipients: accepted, receivedAt: Date(),
                                receivedHeader: "Received: from client.example.com by test; \(Date())\r\n")
        var sink = transaction.beginMessage(envelope)
        do {
            try await sink.append(ByteBuffer(string: content))
        } catch {
            await sink.abandon()
            return Transaction(recipientReplies: replies, outcome: .refused(RelayReceiver.temporaryFailure))
        }
        return Transaction(recipientReplies: replies, outcome: await sink.finish())
    }

    // MARK: What is durable

    /// The archived messages, from the index a reader opens (what `archive list` shows).
    func archived() throws -> [ArchiveIndexEntry] {
        try ArchiveReader(dataDirectory: directory).list()
    }

    /// The queued copies: connection and envelope recipients, in queue order.
    func queued() -> [QueuedCopy] {
        queue.snapshot().entries.map { QueuedCopy(connection: $0.connection, recipients: $0.recipients) }
    }

    struct QueuedCopy: Hashable, CustomStringConvertible {
        var connection: String
        var recipients: [String]
        var description: String { "\(connection) \(recipients)" }
    }
}

func mailbox(_ text: String) -> Mailbox {
    guard let at = text.lastIndex(of: "@") else { return Mailbox(localPart: text, domain: "") }
    return Mailbox(localPart: String(text[..<at]), domain: String(text[text.index(after: at)...]))
}

/// A message whose bytes are unique per call (the archive dedupes identical ones).
func message(_ subject: String = "pipeline test") -> String {
    "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: \(subject)\r\nMessage-ID: <\(UUID().uuidString)@example.com>\r\n\r\nBody of \(subject).\r\n"
}
