import Foundation
import Logging
import NIOCore
import NIOSSL
import MessageIntake
import SMTPProtocol

/// Drives one SMTP session: reads the client's bytes, frames them, feeds the session
/// machine and carries out its actions (replies, TLS, reading content into the receiver).
final class SMTPConnection {
    struct Context: Sendable {
        let configuration: ListenerConfiguration
        let hostname: String
        let receiver: any MessageReceiver
        /// nil on a listener without TLS.
        let tls: ListenerTLS?
        let registry: ConnectionRegistry
        let metrics: ListenerMetrics
        let logger: Logger
        /// What every session's machine is configured with, built once per listener.
        let machine: SessionMachine.Configuration

        init(configuration: ListenerConfiguration, hostname: String, receiver: any MessageReceiver,
             tls: ListenerTLS?, registry: ConnectionRegistry, metrics: ListenerMetrics, logger: Logger) {
            self.configuration = configuration
            self.hostname = hostname
            self.receiver = receiver
            self.tls = tls
            self.registry = registry
            self.metrics = metrics
            self.logger = logger
            self.machine = SessionMachine.Configuration(
                hostname: hostname, limits: configuration.limits, tlsMode: configuration.tlsMode)
        }
    }

    let context: Context
    let channel: any Channel
    var io: SessionIO
    var machine: SessionMachine
    private var lineDecoder: CommandLineDecoder
    /// The session's logger, with the client's address, built by the first message that
    /// passes the level (`log`), which a busy node at level notice never logs: setting
    /// metadata on swift-log's `StreamLogHandler` renders all of it again, 0.8% of the
    /// node's CPU in a profile when it was done for every connection.
    private lazy var logger: Logger = {
        var logger = context.logger
        logger[metadataKey: "client"] = "\(clientIP)"
        return logger
    }()
    var clientIP: String
    var clientAddress: SocketAddress?
    /// The receiver's side of the open mail transaction (MAIL FROM to its end).
    var mailTransaction: (any MailTransaction)?
    /// The sink of an open BDAT transaction, between chunks.
    var chunkSink: (any MessageSink)?
    var chunkEnvelope: Envelope?
    private var sawFirstCommand = false

    var limits: SessionLimits { context.configuration.limits }

    /// The session as the receiver sees it at MAIL FROM.
    var snapshot: SessionSnapshot {
        SessionSnapshot(listener: context.configuration.name, clientIP: clientIP, helo: machine.helo ?? "", tls: machine.tls)
    }

    /// Logs with the client's address; below the level it costs a comparison.
    func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
             metadata: @autoclosure () -> Logger.Metadata? = nil) {
        guard level >= context.logger.logLevel else { return }
        logger.log(level: level, message(), metadata: metadata())
    }

    init(context: Context, channel: any Channel, io: SessionIO) {
        self.context = context
        self.channel = channel
        self.io = io
        self.clientAddress = channel.remoteAddress
        self.clientIP = channel.remoteAddress?.ipAddress ?? "unknown"
        self.lineDecoder = CommandLineDecoder(maximumLineLength: context.configuration.limits.maximumCommandLineLength)
        self.machine = SessionMachine(configuration: context.machine, tls: nil)
    }

    /// Runs the session to its end. Never throws: every failure ends in a closed connection.
    func run(expectProxyHeader: Bool) async {
        context.metrics.connectionsTotal.increment()
        do {
            if expectProxyHeader {
                guard try await readProxyHeader() else {
                    context.metrics.rejectedProxy.increment()
                    return
                }
            }
            guard try await admit() else { return }
            context.metrics.connectionsOpen.increment()
            defer {
                context.metrics.connectionsOpen.decrement()
                context.registry.release(channel, client: clientIP)
            }
            if context.configuration.tlsMode == .implicit {
                guard try await awaitHandshake() else { return }
            }
            io.queue(machine.greeting().replies)
            try await commandLoop()
            try await io.flush()
        } catch {
            log(.debug, "session ended", metadata: ["reason": "\(error)"])
        }
        await abandon(&chunkSink)
    }

    // MARK: Connection set-up

    private func readProxyHeader() async throws -> Bool {
        while let event = try await io.next(timeout: limits.commandTimeout) {
            switch event {
            case .proxyHeader(let header):
                if let source = header.source {
                    clientAddress = source
                    clientIP = source.ipAddress ?? clientIP
                }
                return true
            case .bytes, .tlsEstablished, .timeout, .shutdown:
                return false
            }
        }
        return false
    }

    /// Allowlist and connection limits, checked against the real client (after PROXY).
    private func admit() async throws -> Bool {
        let allowed = clientAddress.map { address in
            context.configuration.allowedClients.contains { $0.contains(address) }
        } ?? false
        guard allowed else {
            context.metrics.rejectedNotAllowed.increment()
            log(.notice, "client not in allowlist")
            io.queue([Replies.clientNotAllowed])
            try await io.flush()
            return false
        }
        switch context.registry.admit(channel, client: clientIP) {
        case .admitted:
            return true
        case .tooManyConnections, .tooManyFromClient:
            context.metrics.rejectedTooMany.increment()
            io.queue([Replies.tooManyConnections])
            try await io.flush()
            return false
        }
    }

    private func awaitHandshake() async throws -> Bool {
        while let event = try await io.next(timeout: limits.commandTimeout) {
            switch event {
            case .tlsEstablished(let description):
                machine.tlsEstablished(description)
                return true
            case .bytes, .proxyHeader:
                continue
            case .timeout, .shutdown:
                return false
            }
        }
        return false
    }

    // MARK: Commands

    /// The command timeout runs from the moment we wait for a line, not from the last read:
    /// a client that drips a byte now and then (slowloris) still has to finish each command
    /// line within `command_timeout_seconds`.
    private func commandLoop() async throws {
        var lineDeadline: NIODeadline?
        while !machine.isClosed {
            if !sawFirstCommand, looksLikeProxyHeader(io.input) {
                // A PROXY header from a peer that is not a trusted proxy: never believed.
                context.metrics.rejectedProxy.increment()
                return
            }
            if let frame = lineDecoder.decode(&io.input) {
                sawFirstCommand = true
                lineDeadline = nil
                guard try await handle(frame) else { return }
                try await io.commandAnswered()
                continue
            }
            let limit = lineDeadline ?? .now() + limits.commandTimeout
            lineDeadline = limit
            guard let event = try await io.next(until: limit) else { return }
            guard try await handle(event) else { return }
        }
    }

    /// Handles a non-byte event, or stores bytes; returns false when the session ends.
    private func handle(_ event: SessionInput) async throws -> Bool {
        switch event {
        case .bytes(let bytes):
            io.append(bytes)
            return true
        case .timeout:
            context.metrics.timeouts.increment()
            return try await perform(machine.timedOut())
        case .shutdown:
            guard let action = machine.shutdown() else { return true }
            return try await perform(action)
        case .proxyHeader, .tlsEstablished:
            return true
        }
    }

    private func handle(_ frame: CommandLineDecoder.Frame) async throws -> Bool {
        let action: SessionAction
        switch frame {
        case .lineTooLong:
            action = machine.commandLineTooLong()
        case .line(_, bareLineFeed: true) where context.configuration.bareLineEndings == .reject:
            action = machine.bareLineFeedInCommand()
        case .line(let line, _):
            action = machine.command(SMTPCommandParser.parse(line.readableBytesView))
        }
        let keepGoing = try await perform(action)
        if machine.transaction == nil {
            // The final dot, the last chunk, RSET, EHLO or TLS ended the transaction.
            mailTransaction = nil
            if chunkSink != nil {
                chunkEnvelope = nil
                await abandon(&chunkSink)
            }
        }
        return keepGoing
    }

    private func looksLikeProxyHeader(_ input: ByteBuffer) -> Bool {
        let view = input.readableBytesView
        return view.starts(with: "PROXY ".utf8) || view.starts(with: ProxyHeaderParser.v2Signature.prefix(6))
    }

    /// Carries out an action; returns false when the session ends.
    func perform(_ action: SessionAction) async throws -> Bool {
        switch action.next {
        case .readCommand:
            io.queue(action.replies)
            return true
        case .close:
            io.queue(action.replies)
            try await io.flush()
            return false
        case .startTLS:
            if io.input.readableBytes > 0 {
                // RFC 3207 §4.2, CVE-2011-0411: whatever followed STARTTLS in plaintext would
                // otherwise run as if it came over TLS. Refuse and close.
                log(.warning, "commands pipelined after STARTTLS: closing (command injection attempt)")
                io.queue([Replies.pipelinedAfterStartTLS])
                try await io.flush()
                return false
            }
            io.queue(action.replies)
            return try await startTLS()
        case .receiveData:
            io.queue(action.replies)
            return try await receiveData()
        case .receiveChunk(let size, let last):
            io.queue(action.replies)
            return try await receiveChunk(size: size, last: last)
        case .vetSender(let sender, let parameters):
            io.queue(action.replies)
            switch context.receiver.openTransaction(sender: sender, parameters: parameters, session: snapshot) {
            case .opened(let transaction):
                mailTransaction = transaction
                return try await perform(machine.senderVetted(refusal: nil))
            case .refused(let reply):
                mailTransaction = nil
                return try await perform(machine.senderVetted(refusal: reply))
            }
        case .vetRecipient(let recipient):
            io.queue(action.replies)
            // The machine asks only inside a transaction; if there were none, a temporary
            // refusal is the safe answer.
            var refusal: SMTPReply? = Replies.transactionFailed
            if var transaction = mailTransaction {
                refusal = transaction.addRecipient(recipient)
                mailTransaction = transaction
            }
            return try await perform(machine.recipientVetted(refusal: refusal))
        }
    }

    // MARK: STARTTLS

    /// RFC 3207 §4.2 and CVE-2011-0411: bytes the client sent after STARTTLS in the same
    /// plaintext are an injection attempt. They are not executed: the connection is closed.
    private func startTLS() async throws -> Bool {
        guard let sslContext = context.tls?.context else { return false }
        let replies = io.pendingReplies
        io.pendingReplies = ByteBuffer()
        let channel = self.channel
        // The 220 and the TLS handler go in within one event-loop turn, so no byte the client
        // sends after reading 220 can be read as plaintext.
        try await channel.eventLoop.submit {
            channel.writeAndFlush(replies, promise: nil)
            let handler = NIOSSLServerHandler(context: sslContext)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
        while let event = try await io.next(timeout: limits.commandTimeout) {
            switch event {
            case .tlsEstablished(let description):
                machine.tlsEstablished(description)
                lineDecoder = CommandLineDecoder(maximumLineLength: limits.maximumCommandLineLength)
                return true
            case .bytes:
                log(.warning, "plaintext after STARTTLS: closing (command injection attempt)")
                return false
            case .timeout, .shutdown:
                return false
            case .proxyHeader:
                continue
            }
        }
        return false
    }
}
