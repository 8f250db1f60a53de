import Foundation
import Logging
import NIOCore
import NIOSSL
import SMTPProtocol

/// Drives one SMTP session: reads the client's bytes, frames them, feeds the session
/// machine and carries out its actions (replies, TLS, reading content into the receiver).
final class SMTPConnection {
    struct Context: Sendable {
        let configuration: ListenerConfiguration
        let hostname: String
        let receiver: any MessageReceiver
        let sslContext: NIOSSLContext?
        let registry: ConnectionRegistry
        let metrics: ListenerMetrics
        let logger: Logger
    }

    private let context: Context
    private let channel: any Channel
    private var io: SessionIO
    private var machine: SessionMachine
    private var lineDecoder: CommandLineDecoder
    private var logger: Logger
    private var clientIP: String
    private var clientAddress: SocketAddress?
    /// The sink of an open BDAT transaction, between chunks.
    private var chunkSink: (any MessageSink)?
    private var chunkEnvelope: Envelope?
    private var sawFirstCommand = false

    private var limits: SessionLimits { context.configuration.limits }

    init(context: Context, channel: any Channel, io: SessionIO) {
        self.context = context
        self.channel = channel
        self.io = io
        self.clientAddress = channel.remoteAddress
        self.clientIP = channel.remoteAddress?.ipAddress ?? "unknown"
        self.lineDecoder = CommandLineDecoder(maximumLineLength: context.configuration.limits.maximumCommandLineLength)
        self.logger = context.logger
        let machineConfiguration = SessionMachine.Configuration(
            hostname: context.hostname, limits: context.configuration.limits, tlsMode: context.configuration.tlsMode)
        self.machine = SessionMachine(configuration: machineConfiguration, receiver: context.receiver,
                                      listener: context.configuration.name, clientIP: clientIP, tls: nil)
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
            logger[metadataKey: "client"] = "\(clientIP)"
            guard try await admit() else { return }
            context.metrics.connectionsOpen.increment()
            defer {
                context.metrics.connectionsOpen.decrement()
                context.registry.release(channel, client: clientIP)
            }
            if context.configuration.tlsMode == .implicit {
                guard try await awaitHandshake() else { return }
            }
            io.queue([machine.greeting().replies].flatMap { $0 })
            try await commandLoop()
            try await io.flush()
        } catch {
            logger.debug("session ended", metadata: ["reason": "\(error)"])
        }
        if var sink = chunkSink {
            chunkSink = nil
            await sink.abandon()
        }
    }

    // MARK: Connection set-up

    private func readProxyHeader() async throws -> Bool {
        while let event = try await io.next(timeout: limits.commandTimeout) {
            switch event {
            case .proxyHeader(let header):
                if let source = header.source {
                    clientAddress = source
                    clientIP = source.ipAddress ?? clientIP
                    machine.clientIP = clientIP
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
            logger.notice("client not in allowlist")
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

    private func commandLoop() async throws {
        while machine.phase != .closed {
            if let frame = lineDecoder.decode(&io.input) {
                guard try await handle(frame) else { return }
                continue
            }
            if !sawFirstCommand, looksLikeProxyHeader(io.input) {
                // A PROXY header from a peer that is not a trusted proxy: never believed.
                context.metrics.rejectedProxy.increment()
                return
            }
            guard let event = try await io.next(timeout: limits.commandTimeout) else { return }
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
        if !sawFirstCommand {
            sawFirstCommand = true
            if case .line(let line, _) = frame, line.readableBytesView.starts(with: "PROXY ".utf8) {
                context.metrics.rejectedProxy.increment()
                return false
            }
        }
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
        if machine.transaction == nil, var sink = chunkSink {
            // RSET, EHLO or a failed last chunk ended a BDAT transaction.
            chunkSink = nil
            chunkEnvelope = nil
            await sink.abandon()
        }
        return keepGoing
    }

    private func looksLikeProxyHeader(_ input: ByteBuffer) -> Bool {
        let view = input.readableBytesView
        return view.starts(with: "PROXY ".utf8) || view.starts(with: ProxyHeaderParser.v2Signature.prefix(6))
    }

    /// Carries out an action; returns false when the session ends.
    private func perform(_ action: SessionAction) async throws -> Bool {
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
                logger.warning("commands pipelined after STARTTLS: closing (command injection attempt)")
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
        }
    }

    // MARK: STARTTLS

    /// RFC 3207 §4.2 and CVE-2011-0411: bytes the client sent after STARTTLS in the same
    /// plaintext are an injection attempt. They are not executed: the connection is closed.
    private func startTLS() async throws -> Bool {
        guard let sslContext = context.sslContext else { return false }
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
                logger.warning("plaintext after STARTTLS: closing (command injection attempt)")
                return false
            case .timeout, .shutdown:
                return false
            case .proxyHeader:
                continue
            }
        }
        return false
    }

    // MARK: Message content

    private func makeEnvelope() -> Envelope {
        let transaction = machine.transaction
        let id = TransactionID.make()
        let now = Date()
        let utf8 = transaction?.parameters.smtpUTF8 ?? false
        let received = ReceivedHeader.make(
            helo: machine.helo ?? "", clientIP: clientIP, node: context.hostname,
            protocolName: ReceivedHeader.protocolName(ehlo: machine.usedEHLO, tls: machine.tls != nil, utf8: utf8),
            tls: machine.tls, id: id, date: now)
        return Envelope(
            transactionID: id, listener: context.configuration.name, clientAddress: clientAddress,
            clientIP: clientIP, helo: machine.helo ?? "", tls: machine.tls,
            sender: transaction?.sender ?? .null, recipients: transaction?.recipients ?? [],
            parameters: transaction?.parameters ?? MailParameters(), receivedAt: now, receivedHeader: received)
    }

    private func receiveData() async throws -> Bool {
        let envelope = makeEnvelope()
        var sink: (any MessageSink)? = context.receiver.beginMessage(envelope)
        var decoder = DataDecoder(maximumLineLength: limits.maximumTextLineLength)
        var refusal: SMTPReply?
        let rejectBare = context.configuration.bareLineEndings == .reject
        while true {
            while let frame = decoder.decode(&io.input) {
                guard case .content(let chunk) = frame else {
                    return try await perform(machine.dataFinished(await finish(&sink, refusal: refusal, envelope: envelope)))
                }
                if refusal == nil {
                    if decoder.contentLength > limits.maximumMessageSize {
                        refusal = Replies.messageTooBig(limits.maximumMessageSize)
                    } else if decoder.sawOverlongLine {
                        refusal = Replies.textLineTooLong
                    } else if rejectBare && decoder.sawBareLineEnding {
                        refusal = Replies.bareLineEnding
                    }
                }
                if refusal != nil { await abandon(&sink); continue }
                do {
                    try await sink?.append(chunk)
                } catch {
                    logger.error("storing message content failed", metadata: ["error": "\(error)"])
                    refusal = Replies.transactionFailed
                    await abandon(&sink)
                }
            }
            guard let event = try await io.next(timeout: limits.dataTimeout) else {
                await abandon(&sink)
                return false
            }
            switch event {
            case .bytes(let bytes):
                io.append(bytes)
            case .timeout:
                await abandon(&sink)
                context.metrics.timeouts.increment()
                return try await perform(machine.timedOut())
            case .shutdown:
                _ = machine.shutdown()  // the transaction may finish; the session ends after it
            case .proxyHeader, .tlsEstablished:
                continue
            }
        }
    }

    private func finish(_ sink: inout (any MessageSink)?, refusal: SMTPReply?, envelope: Envelope) async -> StoreOutcome {
        if let refusal {
            await abandon(&sink)
            logger.info("message refused", metadata: ["id": "\(envelope.transactionID)", "reply": "\(refusal)"])
            return .refused(refusal)
        }
        guard var open = sink else { return .refused(Replies.transactionFailed) }
        sink = nil
        let outcome = await open.finish()
        if case .stored(let id) = outcome {
            context.metrics.messagesReceived.increment()
            logger.info("message stored", metadata: ["id": "\(id)", "transaction": "\(envelope.transactionID)",
                                                      "recipients": "\(envelope.recipients.count)"])
        }
        return outcome
    }

    private func abandon(_ sink: inout (any MessageSink)?) async {
        guard var open = sink else { return }
        sink = nil
        await open.abandon()
    }

    /// BDAT (RFC 3030): exactly `size` octets follow the command, whether it is accepted or not.
    private func receiveChunk(size: Int, last: Bool) async throws -> Bool {
        let refusal = machine.chunkWillBeRead(size: size)
        if refusal == nil && chunkSink == nil && chunkEnvelope == nil {
            let envelope = makeEnvelope()
            chunkEnvelope = envelope
            chunkSink = context.receiver.beginMessage(envelope)
        }
        if refusal != nil { await abandon(&chunkSink) }
        var remaining = size
        while remaining > 0 {
            if io.input.readableBytes > 0 {
                let take = min(remaining, io.input.readableBytes)
                let chunk = io.input.readSlice(length: take) ?? ByteBuffer()
                remaining -= take
                if refusal == nil, chunkSink != nil {
                    do {
                        try await chunkSink?.append(chunk)
                    } catch {
                        machine.chunkedContentFailed(Replies.transactionFailed)
                        await abandon(&chunkSink)
                    }
                }
                continue
            }
            guard let event = try await io.next(timeout: limits.dataTimeout) else { return false }
            if case .bytes = event {
                _ = try await handle(event)
            } else if case .timeout = event {
                context.metrics.timeouts.increment()
                return try await perform(machine.timedOut())
            } else if case .shutdown = event {
                _ = machine.shutdown()
            }
        }
        if let refusal, !last {
            return try await perform(machine.chunkRefused(refusal))
        }
        var outcome: StoreOutcome?
        if last {
            if let failure = refusal ?? machine.transaction?.chunkFailure {
                outcome = .refused(failure)
                await abandon(&chunkSink)
            } else if let envelope = chunkEnvelope {
                outcome = await finish(&chunkSink, refusal: nil, envelope: envelope)
            }
            chunkEnvelope = nil
        }
        return try await perform(machine.chunkFinished(size: size, last: last, outcome: outcome))
    }
}
