import DurableFiles
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SMTPProtocol

/// A session that failed: the connection is gone and the peer should be backed off.
struct SessionFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Drives one client connection with a `DeliveryMachine`: reads replies (with the
/// command or data timeout), writes what the machine asks for, starts TLS. One task owns
/// it, running on the channel's event loop (the inbox and the unread-reply check rely on it).
final class PeerSession {
    private var machine: DeliveryMachine
    private let inbox: ReplyInbox
    private let channel: any Channel
    private let settings: PeerSettings
    private let tlsContext: NIOSSLContext?
    private var decoder = ReplyDecoder()
    private var buffer: ByteBuffer
    private var content: ByteBuffer?
    private var outcome: DeliveryOutcome?

    init(machine: DeliveryMachine, channel: any Channel, inbox: ReplyInbox, settings: PeerSettings, tlsContext: NIOSSLContext?) {
        self.machine = machine
        self.inbox = inbox
        self.channel = channel
        self.settings = settings
        self.tlsContext = tlsContext
        self.buffer = channel.allocator.buffer(capacity: 512)
    }

    var capabilities: PeerCapabilities? { machine.capabilities }
    var isSecure: Bool { machine.isSecure }
    /// Content goes as one BDAT chunk, as it is; otherwise dot-stuffed after DATA.
    var sendsChunks: Bool { machine.sendsChunks }

    /// Greeting, EHLO (or HELO), STARTTLS: returns when the session can carry messages.
    func open() async throws(SessionFailure) {
        while !machine.isReady {
            try await step(machine.receive(nextReply(timeout: settings.commandTimeout)))
        }
    }

    /// Sends one message; the outcome is the peer's answer. Throws when the session broke
    /// (the message then counts as deferred). `content` is dot-stuffed with its final dot,
    /// or, when `sendsChunks`, the bytes as they are.
    func deliver(_ envelope: DeliveryEnvelope, content message: ByteBuffer) async throws(SessionFailure) -> DeliveryOutcome {
        outcome = nil
        content = message
        defer { content = nil }
        try await step(machine.begin(envelope))
        while outcome == nil {
            let timeout = machine.awaitsEndOfDataReply ? settings.dataTimeout : settings.commandTimeout
            try await step(machine.receive(nextReply(timeout: timeout)))
        }
        return outcome ?? .deferred("no outcome")
    }

    /// QUIT and wait (briefly) for the 221.
    func quit() async {
        do {
            try await step(machine.quit())
            _ = try await nextReply(timeout: min(settings.commandTimeout, 10))
        } catch {}
    }

    /// Command lines, CRLF after each, in a buffer with room for `extra` more bytes.
    private func commands(_ lines: [String], followedBy extra: Int = 0) -> ByteBuffer {
        var out = channel.allocator.buffer(capacity: lines.reduce(extra) { $0 + $1.utf8.count + 2 })
        for line in lines {
            out.writeString(line)
            out.writeStaticString("\r\n")
        }
        return out
    }

    private func step(_ actions: [ClientAction]) async throws(SessionFailure) {
        for action in actions {
            switch action {
            case .send(let lines):
                try requireNoUnansweredReply()
                try await write(commands(lines), timeout: settings.commandTimeout)
            case .startTLS:
                try requireNoUnansweredReply()
                try await startTLS()
                try await step(machine.tlsEstablished())
            case .sessionReady:
                break
            case .sendContent:
                guard let content else { throw SessionFailure(reason: "354 without a message") }
                try requireNoUnansweredReply()
                try await write(content, timeout: settings.dataTimeout)
            case .sendWithContent(let lines):
                guard var content else { throw SessionFailure(reason: "BDAT without a message") }
                try requireNoUnansweredReply()
                var out = commands(lines, followedBy: content.readableBytes)
                out.writeBuffer(&content)
                try await write(out, timeout: settings.dataTimeout)
            case .finished(let result):
                outcome = result
            case .close(let failure):
                if let failure {
                    channel.close(promise: nil)
                    throw SessionFailure(reason: failure)
                }
            }
        }
    }

    /// The client sends only when every earlier command is answered, so reply bytes still
    /// buffered then answer no command (RFC 5321 §4.2): the peer is out of step. The session
    /// ends rather than take a stale 250 for the answer to a later command (a 250 sent with
    /// the 354 would otherwise count as the final dot's, and the message would be lost).
    /// A stale reply that arrives in a later read is caught by the machine (a 2xx to DATA).
    private func requireNoUnansweredReply() throws(SessionFailure) {
        if var early = inbox.takeUnread() { buffer.writeBuffer(&early) }
        guard buffer.readableBytes > 0 else { return }
        let bytes = buffer.readableBytesView.prefix { $0 != 13 && $0 != 10 }.prefix(80).filter { (0x20..<0x7F).contains($0) }
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("421") {
            // A server may say 421 at any moment before it closes (RFC 5321 §3.8): a peer
            // shutting down, not a peer out of step.
            throw SessionFailure(reason: "the peer closed the session: \(line)")
        }
        throw SessionFailure(reason: "unexpected reply that answers no command: \(line)")
    }

    private func nextReply(timeout: TimeInterval) async throws(SessionFailure) -> SMTPReply {
        let watchdog = Watchdog(channel: channel, seconds: timeout)
        defer { watchdog.cancel() }
        while true {
            do {
                if let reply = try decoder.decode(&buffer) { return reply }
            } catch {
                throw SessionFailure(reason: "malformed reply: \(error.reason)")
            }
            let chunk: ByteBuffer?
            do {
                chunk = try await inbox.next()
            } catch {
                throw SessionFailure(reason: watchdog.fired ? "timed out after \(Int(timeout)) s waiting for a reply" : "connection failed: \(error)")
            }
            guard var chunk else {
                throw SessionFailure(reason: watchdog.fired ? "timed out after \(Int(timeout)) s waiting for a reply" : "connection closed by the peer")
            }
            buffer.writeBuffer(&chunk)
        }
    }

    private func write(_ bytes: ByteBuffer, timeout: TimeInterval) async throws(SessionFailure) {
        let watchdog = Watchdog(channel: channel, seconds: timeout)
        defer { watchdog.cancel() }
        do {
            if channel.isWritable {
                // The common case: no suspension. A write that fails closes the channel,
                // and the next reply read reports it.
                channel.writeAndFlush(bytes, promise: nil)
            } else {
                try await channel.writeAndFlush(bytes).get()
            }
        } catch {
            throw SessionFailure(reason: watchdog.fired ? "timed out after \(Int(timeout)) s writing" : "write failed: \(error)")
        }
    }

    private func startTLS() async throws(SessionFailure) {
        guard let tlsContext else { throw SessionFailure(reason: "STARTTLS without a TLS context") }
        let name = settings.serverName ?? settings.host
        let hostname: String? = name.contains(":") || name.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : name
        let channel = self.channel
        let watchdog = Watchdog(channel: channel, seconds: settings.commandTimeout)
        defer { watchdog.cancel() }
        do {
            let handshake = channel.eventLoop.makePromise(of: Void.self)
            try await channel.eventLoop.submit {
                let ssl = try NIOSSLClientHandler(context: tlsContext, serverHostname: hostname)
                try channel.pipeline.syncOperations.addHandlers([ssl, HandshakeWatcher(handshake)], position: .first)
            }.get()
            try await handshake.futureResult.get()
        } catch {
            throw SessionFailure(reason: watchdog.fired ? "TLS handshake timed out" : "TLS handshake failed: \(error)")
        }
    }
}

/// Closes the channel if the wait it guards takes longer than its deadline.
final class Watchdog: Sendable {
    private let task: Scheduled<Void>
    private let flag: FiredFlag

    private final class FiredFlag: Sendable {
        let value = LockedValue(false)
    }

    init(channel: any Channel, seconds: TimeInterval) {
        let flag = FiredFlag()
        self.flag = flag
        task = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(max(0.001, seconds) * 1000))) {
            flag.value.withLock { $0 = true }
            channel.close(promise: nil)
        }
    }

    var fired: Bool { flag.value.withLock { $0 } }
    func cancel() { task.cancel() }
}

/// Completes a promise when the TLS handshake finishes (or fails).
final class HandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let promise: EventLoopPromise<Void>
    private var done = false

    init(_ promise: EventLoopPromise<Void>) { self.promise = promise }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, !done {
            done = true
            promise.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !done {
            done = true
            promise.fail(error)
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !done {
            done = true
            promise.fail(ChannelError.ioOnClosedChannel)
        }
        context.fireChannelInactive()
    }
}
