import NIOCore
import SMTPProtocol

/// The byte side of one session: unconsumed input, replies not yet flushed, and the wait
/// for more input under the session's deadline.
final class SessionIO {
    /// The client closed the connection or the channel failed.
    struct ConnectionClosed: Error {}

    private var inbound: NIOAsyncChannelInboundStream<SessionInput>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let deadline: SessionDeadline
    /// Bytes read from the client and not yet consumed by a decoder.
    var input = ByteBuffer()
    /// Replies waiting to be written: pipelined commands get their replies in one write.
    var pendingReplies = ByteBuffer()
    let sessionDeadline: NIODeadline
    let metrics: ListenerMetrics

    init(inbound: NIOAsyncChannelInboundStream<SessionInput>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
         deadline: SessionDeadline, sessionTimeout: TimeAmount, metrics: ListenerMetrics) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.deadline = deadline
        self.sessionDeadline = .now() + sessionTimeout
        self.metrics = metrics
    }

    func queue(_ replies: [SMTPReply]) {
        for reply in replies {
            reply.write(to: &pendingReplies)
            metrics.countReply(reply.classLabel)
        }
    }

    /// Writes every queued reply.
    func flush() async throws {
        guard pendingReplies.readableBytes > 0 else { return }
        let out = pendingReplies
        pendingReplies = ByteBuffer()
        try await outbound.write(out)
    }

    /// Flushes replies, then waits for the next input for at most `timeout` (and never past
    /// the whole-session limit). Returns nil when the connection is gone.
    func next(timeout: TimeAmount) async throws -> SessionInput? {
        try await flush()
        deadline.wait(until: min(.now() + timeout, sessionDeadline))
        defer { deadline.busy() }
        return try await inbound.next()
    }

    /// Adds client bytes to the input, without a copy when nothing is left over.
    func append(_ bytes: ByteBuffer) {
        if input.readableBytes == 0 {
            input = bytes
        } else {
            var bytes = bytes
            input.discardReadBytes()
            input.writeBuffer(&bytes)
        }
    }
}
