import NIOCore

/// Where a peer's replies wait for the delivery task: the last handler of a forwarding
/// connection's pipeline. Bytes are gathered into one buffer; `next()` hands over all of
/// them at once, or waits for the next read.
///
/// The delivery task runs on the channel's event loop (`EventLoopTaskExecutor`), so replies
/// that are already here are taken without suspending, and a reply that arrives later
/// resumes the task on the same thread: no async-sequence machinery, no cross-thread hop per
/// reply (in catch-up the hops cost more CPU than the SMTP itself). A peer that sends more
/// than `readLimit` bytes nobody asked for stops being read.
///
/// `@unchecked Sendable`: its state is touched on the channel's event loop only (`next()`
/// hops there when called from elsewhere).
final class ReplyInbox: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let eventLoop: any EventLoop
    private let readLimit: Int
    private var received: ByteBuffer?
    private var failure: (any Error)?
    private var closed = false
    private var reader: UnsafeContinuation<ByteBuffer?, any Error>?
    private var context: ChannelHandlerContext?
    private var readHeldBack = false

    init(eventLoop: any EventLoop, readLimit: Int = 64 * 1024) {
        self.eventLoop = eventLoop
        self.readLimit = readLimit
    }

    /// Bytes received and not yet handed over, without waiting (on the event loop only).
    func takeUnread() -> ByteBuffer? {
        eventLoop.preconditionInEventLoop()
        return take()
    }

    /// Everything received since the last call; nil once the connection is closed and
    /// everything before the close was taken. Throws the error that broke the connection.
    func next() async throws -> ByteBuffer? {
        if eventLoop.inEventLoop, let bytes = take() { return bytes }
        return try await withUnsafeThrowingContinuation { continuation in
            if eventLoop.inEventLoop {
                wait(continuation)
            } else {
                eventLoop.execute { self.wait(continuation) }
            }
        }
    }

    private func wait(_ continuation: UnsafeContinuation<ByteBuffer?, any Error>) {
        if let bytes = take() {
            continuation.resume(returning: bytes)
        } else if let failure {
            continuation.resume(throwing: failure)
        } else if closed {
            continuation.resume(returning: nil)
        } else {
            precondition(reader == nil, "one task reads a connection's replies")
            reader = continuation
        }
    }

    private func take() -> ByteBuffer? {
        guard let bytes = received else { return nil }
        received = nil
        if readHeldBack, let context {
            readHeldBack = false
            context.read()
        }
        return bytes
    }

    // MARK: Channel side

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        finish(nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if let reader {
            self.reader = nil
            reader.resume(returning: bytes)
        } else if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(nil)
        context.fireChannelInactive()
    }

    func read(context: ChannelHandlerContext) {
        if (received?.readableBytes ?? 0) >= readLimit {
            readHeldBack = true
        } else {
            context.read()
        }
    }

    private func finish(_ error: (any Error)?) {
        if failure == nil, let error { failure = error }
        closed = true
        guard let reader, received == nil else { return }
        self.reader = nil
        if let failure {
            reader.resume(throwing: failure)
        } else {
            reader.resume(returning: nil)
        }
    }
}
