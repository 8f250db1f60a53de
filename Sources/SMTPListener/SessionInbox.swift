import NIOCore

/// Where a channel's inbound events wait for the session task, the last handler of a
/// session's pipeline. The session asks for one event at a time with `next()`; while
/// `highWatermark` events wait unread, the channel stops reading, so a client that floods
/// us fills its own TCP window instead of our memory.
///
/// It takes the place of `NIOAsyncChannel` for sessions. The session task runs on its
/// channel's event loop (`EventLoopTaskExecutor`), so input that is already here is taken
/// without suspending, and input that arrives later resumes the task on the same thread:
/// no generic async-sequence machinery, no lock, no cross-thread hop per read. Under
/// `smtp-source` load that machinery cost more CPU than parsing the SMTP itself.
///
/// `@unchecked Sendable`: its state is touched on the channel's event loop only (`next()`
/// hops there when called from elsewhere).
final class SessionInbox: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let eventLoop: any EventLoop
    private let highWatermark: Int
    private var waiting = CircularBuffer<SessionInput>(initialCapacity: 4)
    private var reader: UnsafeContinuation<SessionInput?, Never>?
    private var context: ChannelHandlerContext?
    private var closed = false
    private var readHeldBack = false

    init(eventLoop: any EventLoop, highWatermark: Int = 8) {
        self.eventLoop = eventLoop
        self.highWatermark = highWatermark
    }

    /// The next event, in arrival order; nil once the connection is closed and everything
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

    // MARK: Channel side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        close()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(.bytes(unwrapInboundIn(data)))
    }

    /// The connection's own events, raised by `SessionEventHandler`.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let input = event as? SessionInput {
            receive(input)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func receive(_ input: SessionInput) {
        if let reader {
            self.reader = nil
            reader.resume(returning: input)
        } else {
            waiting.append(input)
        }
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

    private func close() {
        closed = true
        if let reader, waiting.isEmpty {
            self.reader = nil
            reader.resume(returning: nil)
        }
    }
}
