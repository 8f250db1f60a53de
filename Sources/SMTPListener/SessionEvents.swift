import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import NIOTLS
import SMTPProtocol

/// Everything a session reads, in the order it happened: the client's bytes and the
/// connection's own events, so the session loop sees one ordered stream.
enum SessionInput: Sendable {
    case bytes(ByteBuffer)
    case proxyHeader(ProxyHeader)
    /// The TLS handshake finished; carries the protocol version ("TLSv1.3").
    case tlsEstablished(String)
    /// The session's deadline passed while it was waiting for the client.
    case timeout
    /// The listener is shutting down.
    case shutdown
}

/// Sent down a session's pipeline to tell it the listener is shutting down.
struct SessionShutdownEvent: Sendable {}

/// The instant by which the client must have sent what the session waits for. The session
/// task sets it; the channel's event loop checks it, so no per-command timer is armed.
final class SessionDeadline: Sendable {
    private let value = NIOLockedValueBox(NIODeadline.distantFuture)

    /// The session is waiting for the client until `deadline`.
    func wait(until deadline: NIODeadline) { value.withLockedValue { $0 = deadline } }
    /// The session is working (storing a message); the client is not to blame for the wait.
    func busy() { value.withLockedValue { $0 = .distantFuture } }
    var current: NIODeadline { value.withLockedValue { $0 } }
}

/// Turns the connection's own events (PROXY header, TLS handshake, shutdown) into
/// `SessionInput` user events, and raises `.timeout` when the session's deadline passes.
/// Client bytes pass through untouched: a `ByteBuffer` travels the pipeline inline, while
/// an enum carrying it would be boxed, one allocation per read. Sits just before the
/// session's `SessionInbox`, which takes both.
final class SessionEventHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// How late a timeout may fire at most when the deadline moved while the timer slept:
    /// a tenth of the shortest timeout, between 100 ms and 30 s. Idle sessions thus wake
    /// rarely (every 30 s with the 5-minute defaults), not once per command.
    static func checkInterval(for limits: SessionLimits) -> TimeAmount {
        let shortest = min(limits.commandTimeout, limits.dataTimeout)
        return min(max(.nanoseconds(shortest.nanoseconds / 10), .milliseconds(100)), .seconds(30))
    }

    private let deadline: SessionDeadline
    private let checkInterval: TimeAmount
    private var timer: Scheduled<Void>?
    private var timedOut = false

    init(deadline: SessionDeadline, checkInterval: TimeAmount) {
        self.deadline = deadline
        self.checkInterval = checkInterval
    }

    func handlerAdded(context: ChannelHandlerContext) {
        schedule(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let proxy as ProxyHeader:
            deliver(.proxyHeader(proxy), context: context)
        case let tlsEvent as TLSUserEvent:
            guard case .handshakeCompleted = tlsEvent else { return context.fireUserInboundEventTriggered(event) }
            let version = (try? context.pipeline.syncOperations.nioSSL_tlsVersion()).flatMap { $0 }
            deliver(.tlsEstablished(version.map(Self.describe) ?? "TLS"), context: context)
        case is SessionShutdownEvent:
            deliver(.shutdown, context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func deliver(_ input: SessionInput, context: ChannelHandlerContext) {
        context.fireUserInboundEventTriggered(input)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // TLS failures, resets: nothing more can be said on this connection.
        context.close(promise: nil)
    }

    private func schedule(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        let due = min(deadline.current, now + checkInterval)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: due) {
            let (handler, context) = loopBound.value
            handler.check(context: context)
        }
    }

    private func check(context: ChannelHandlerContext) {
        guard !timedOut, context.channel.isActive else { return }
        if NIODeadline.now() >= deadline.current {
            timedOut = true
            deliver(.timeout, context: context)
            return
        }
        schedule(context: context)
    }

    static func describe(_ version: TLSVersion) -> String {
        switch version {
        case .tlsv1: return "TLSv1"
        case .tlsv11: return "TLSv1.1"
        case .tlsv12: return "TLSv1.2"
        case .tlsv13: return "TLSv1.3"
        }
    }
}

/// Reads the PROXY protocol header that a trusted load balancer sends first, announces it as
/// an inbound user event, passes any bytes after it on, and leaves the pipeline. Anything
/// that is not a well-formed header closes the connection.
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var buffered = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffered.writeBuffer(&incoming)
        do {
            guard let header = try ProxyHeaderParser.parse(&buffered) else { return }
            context.fireUserInboundEventTriggered(header)
            if buffered.readableBytes > 0 {
                context.fireChannelRead(wrapInboundOut(buffered))
            }
            buffered = ByteBuffer()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }
}
