import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import MessageIntake
import SMTPListener
import SMTPProtocol
import ServiceLifecycle
import TestSupport
import Testing

/// A message as the receiver got it.
struct ReceivedMessage: Sendable {
    var envelope: Envelope
    var content: [UInt8]
    var text: String { String(decoding: content, as: UTF8.self) }
}

/// Collects messages in memory; can be told to refuse senders or recipients (`no@...`
/// with `refusesNoRecipients`) or to fail the store, and shows each MAIL FROM to
/// `onSender` (on the session's event loop, before it is answered).
final class CollectingReceiver: MessageReceiver {
    let messages = NIOLockedValueBox<[ReceivedMessage]>([])
    let abandoned = NIOLockedValueBox(0)
    let senderRefusal: SMTPReply?
    let storeOutcome: StoreOutcome?
    let onSender: (@Sendable (ReversePath) -> Void)?
    let refusesNoRecipients: Bool
    static let recipientRefusal = SMTPReply(550, EnhancedStatusCode(5, 7, 1), "Recipient not accepted here")

    init(senderRefusal: SMTPReply? = nil, storeOutcome: StoreOutcome? = nil, refusesNoRecipients: Bool = false,
         onSender: (@Sendable (ReversePath) -> Void)? = nil) {
        self.senderRefusal = senderRefusal
        self.storeOutcome = storeOutcome
        self.refusesNoRecipients = refusesNoRecipients
        self.onSender = onSender
    }

    func openTransaction(sender: ReversePath, parameters: MailParameters, session: SessionSnapshot) -> TransactionStart {
        onSender?(sender)
        if let senderRefusal { return .refused(senderRefusal) }
        return .opened(Transaction(receiver: self))
    }

    struct Transaction: MailTransaction {
        let receiver: CollectingReceiver

        mutating func addRecipient(_ recipient: ForwardPath) -> SMTPReply? {
            receiver.refusesNoRecipients && recipient.description.hasPrefix("no@") ? CollectingReceiver.recipientRefusal : nil
        }

        func beginMessage(_ envelope: Envelope) -> any MessageSink {
            Sink(envelope: envelope, receiver: receiver)
        }
    }

    var received: [ReceivedMessage] { messages.withLockedValue { $0 } }

    struct Sink: MessageSink {
        let envelope: Envelope
        let receiver: CollectingReceiver
        var content: [UInt8] = []

        mutating func append(_ chunk: ByteBuffer) async throws {
            content += chunk.readableBytesView
        }

        mutating func finish() async -> StoreOutcome {
            if let outcome = receiver.storeOutcome { return outcome }
            let message = ReceivedMessage(envelope: envelope, content: content)
            let count = receiver.messages.withLockedValue { $0.append(message); return $0.count }
            return .stored(id: "TEST\(count)")
        }

        mutating func abandon() async {
            receiver.abandoned.withLockedValue { $0 += 1 }
        }
    }
}

/// Runs a listener on 127.0.0.1:0 for the duration of `body`, then shuts it down. Its
/// sessions run on `group`.
func withListener<T>(
    _ configure: (inout ListenerConfiguration) async throws -> Void = { _ in },
    receiver: CollectingReceiver = CollectingReceiver(),
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
    _ body: (SMTPServer, CollectingReceiver) async throws -> T
) async throws -> T {
    var configuration = ListenerConfiguration(
        name: "test", host: "127.0.0.1", port: 0, allowedClients: [ClientNetwork("127.0.0.0/8")!])
    try await configure(&configuration)
    let server = try await SMTPServer.bind(
        configuration: configuration, hostname: "test.example", receiver: receiver, group: group,
        logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        defer {
            server.shutdown()
            group.cancelAll()
        }
        return try await body(server, receiver)
    }
}

/// A raw SMTP client for tests: writes exactly the bytes it is given, reads replies.
final class TestClient {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var buffer = ByteBuffer()
    private var decoder = ReplyDecoder()

    init(port: Int) async throws {
        channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        iterator = channel.inbound.makeAsyncIterator()
    }

    convenience init(_ server: SMTPServer) async throws {
        try await self.init(port: server.localAddress.port ?? 0)
    }

    func send(_ text: String) async throws {
        try await channel.outbound.write(ByteBuffer(string: text))
    }

    /// Sends `text` and returns once the socket has taken it (on loopback: once the server's
    /// socket holds it), not merely once it is queued.
    func sendWritten(_ text: String) async throws {
        try await channel.channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    func send(bytes: [UInt8]) async throws {
        try await channel.outbound.write(ByteBuffer(bytes: bytes))
    }

    /// The next reply, or nil when the server closed the connection.
    func reply() async throws -> SMTPReply? {
        while true {
            if let reply = try decoder.decode(&buffer) { return reply }
            guard var more = try await iterator.next() else { return nil }
            buffer.writeBuffer(&more)
        }
    }

    /// The codes of the next `count` replies (fewer if the connection closed).
    func codes(_ count: Int) async throws -> [Int] {
        var out: [Int] = []
        for _ in 0..<count {
            guard let r = try await reply() else { break }
            out.append(r.code)
        }
        return out
    }

    /// True when the server closes the connection without sending anything more.
    func isClosed() async throws -> Bool {
        do { return try await reply() == nil } catch { return true }
    }

    /// Starts TLS on this connection (after the server's 220 to STARTTLS), presenting a
    /// client certificate when `identity` is given; `adjust` narrows what the client offers
    /// (versions, cipher suites).
    func startTLS(identity: TestIdentity? = nil,
                  adjust: (inout TLSConfiguration) -> Void = { _ in }) async throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        adjust(&tls)
        if let identity {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(identity.certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: identity.key, format: .pem))
        }
        let context = try NIOSSLContext(configuration: tls)
        let channel = self.channel.channel
        try await channel.eventLoop.submit {
            let handler = try NIOSSLClientHandler(context: context, serverHostname: nil)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
    }

    func close() async {
        try? await channel.channel.close()
    }

    deinit {
        channel.outbound.finish()
    }
}

/// The usual envelope, pipelined.
func envelope(from: String = "sender@example.com", to: [String] = ["journal@archive.example"]) -> String {
    "MAIL FROM:<\(from)>\r\n" + to.map { "RCPT TO:<\($0)>\r\n" }.joined()
}
