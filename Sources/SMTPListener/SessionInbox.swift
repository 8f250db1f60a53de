import NIOCore
import NIOSSL
import NIOTLS
import SMTPProtocol

/// A session's one handler, the last of its pipeline: it starts the session when the
/// channel becomes active, turns the channel's reads and events into `SessionInput` in the
/// order they happened, raises `.timeout` when the session's deadline passes, and holds the
/// input until the session asks for it with `next()`. While `highWatermark` inputs wait
/// unread, the channel stops reading, so a client that floods us fills its own TCP window
/// instead of our memory.
///
/// One handler rather than three (events, start, queue): every connection would add, run
/// and remove each of them, and every read would pass through all of them; with a
/// connection per message that setup and teardown is as much of the event loop's work as
/// the message itself.
///
/// It takes the place of `NIOAsyncChannel` for sessions. The session task runs on its
/// channel's event loop (`EventLoopTaskExecutor`), so input that is already here is taken
/// without suspending, and input that arrives later resumes the task on the same thread:
/// no generic async-sequence machinery, no lock, no cross-thread hop per read.
///
/// `@unchecked Sendable`: its state is touched on the channel's event loop only (`next()`
/// hops there when called from elsewhere).
final class SessionInbox: ChannelDuplexHandler, NIOScheduledCallbackHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// How late a timeout may fire at most when the deadline moved while the timer slept:
    /// a tenth of the shortest timeout, between 100 ms and 30 s. Idle sessions thus wake
    /// rarely (every 30 s with the 5-minute defaults), not once per command.
    static func checkInterval(for limits: SessionLimits) -> TimeAmount {
        let shortest = min(limits.commandTimeout, limits.dataTimeout)
        return min(max(.nanoseconds(shortest.nanoseconds / 10), .milliseconds(100)), .seconds(30))
    }

    let eventLoop: any EventLoop
    let deadline = SessionDeadline()
    private let highWatermark: Int
    private var waiting = CircularBuffer<SessionInput>(initialCapacity: 4)
    private var reader: UnsafeContinuation<SessionInput?, Never>?
    private var context: ChannelHandlerContext?
    private var closed = false
    private var readHeldBack = false
    /// Starts the session at `channelActive`; nil once started (or for an inbox without one).
    private var launch: (launcher: SessionLauncher, expectsProxyHeader: Bool)?
    private let checkInterval: TimeAmount
    private var timer: NIOScheduledCallback?
    private var timedOut = false

    init(eventLoop: any EventLoop, launcher: SessionLauncher? = nil, expectsProxyHeader: Bool = false,
         checkInterval: TimeAmount = .seconds(30), highWatermark: Int = 8) {
        self.eventLoop = eventLoop
        self.launch = launcher.map { ($0, expectsProxyHeader) }
        self.checkInterval = checkInterval
        self.highWatermark = highWatermark
    }

    /// The next input, in arrival order; nil once the connection is closed and everything
    /// before the close was taken.
    func next() async -> SessionInput? {
        if eventLoop.inEventLoop, let input = take() { return input }
        return await withUnsafeContinuation { continuation in
            if eventLoop.inEventLoop {
                wait(continuation)
            } else {
                eventLoop.execute { self.wait(continuation) }
            }
        }
    }

    /// Whether input waits to be taken, so that `next()` returns without suspending.
    var hasWaitingInput: Bool {
        eventLoop.inEventLoop && !waiting.isEmpty
    }

    private func wait(_ continuation: UnsafeContinuation<SessionInput?, Never>) {
        if let input = take() {
            continuation.resume(returning: input)
        } else if closed {
            continuation.resume(returning: nil)
        } else {
            precondition(reader == nil, "one session reads its inbox")
            reader = continuation
        }
    }

    private func take() -> SessionInput? {
        guard let input = waiting.popFirst() else { return nil }
        if readHeldBack, waiting.count < highWatermark / 2, let context {
            readHeldBack = false
            context.read()
        }
        return input
    }

    private func receive(_ input: SessionInput) {
        if let reader {
            self.reader = nil
            reader.resume(returning: input)
        } else {
            waiting.append(input)
        }
    }

    private func close() {
        closed = true
        if let reader, waiting.isEmpty {
            self.reader = nil
            reader.resume(returning: nil)
        }
    }

    // MARK: Channel side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scheduleCheck()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
        close()
    }

    func channelActive(context: ChannelHandlerContext) {
        // Not from the channel initializer: NIO registers an accepted channel in a task
        // it queues after the initializer, and the greeting must not be written before.
        if let (launcher, expectsProxyHeader) = launch {
            launch = nil
            launcher.start(SessionLauncher.Connection(channel: context.channel, inbox: self,
                                                      expectsProxyHeader: expectsProxyHeader))
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(.bytes(unwrapInboundIn(data)))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let proxy as ProxyHeader:
            receive(.proxyHeader(proxy))
        case let tlsEvent as TLSUserEvent:
            guard case .handshakeCompleted = tlsEvent else { return context.fireUserInboundEventTriggered(event) }
            let version = (try? context.pipeline.syncOperations.nioSSL_tlsVersion()).flatMap { $0 }
            receive(.tlsEstablished(version.map(Self.describe) ?? "TLS"))
        case is SessionShutdownEvent:
            receive(.shutdown)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // TLS failures, resets: nothing more can be said on this connection.
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        close()
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if waiting.count >= highWatermark {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    // MARK: Deadline

    /// The session's deadline is checked by one callback on the event loop, rescheduled
    /// at most every `checkInterval`, not by a timer per command.
    private func scheduleCheck() {
        let due = min(deadline.current, .now() + checkInterval)
        // Fails only when the event loop is shutting down, and the session with it.
        timer = try? eventLoop.scheduleCallback(at: due, handler: self)
    }

    func handleScheduledCallback(eventLoop: some EventLoop) {
        timer = nil
        // Not yet active is no reason to stop checking: an accepted channel becomes active
        // after a hop through the listening socket's loop, which a busy loop can delay past
        // the first check (a session then never timed out).
        guard !timedOut, !closed, context != nil else { return }
        if NIODeadline.now() >= deadline.current {
            timedOut = true
            receive(.timeout)
            return
        }
        scheduleCheck()
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
