import NIOCore
import SMTPProtocol

/// The byte side of one session: unconsumed input, replies not yet flushed, and the wait
/// for more input under the session's deadline.
final class SessionIO {
    private let inbox: SessionInbox
    let channel: any Channel
    let deadline: SessionDeadline
    /// Bytes read from the client and not yet consumed by a decoder.
    var input = ByteBuffer()
    /// Replies waiting to be written: pipelined commands get their replies in one write.
    var pendingReplies = ByteBuffer()  // allocated by the first reply, then reused
    let sessionDeadline: NIODeadline
    /// How long a write of replies may wait for a client that does not read them.
    let writeTimeout: TimeAmount
    let metrics: ListenerMetrics
    /// Commands answered since the session last waited for the client or paused.
    private var commandsThisTurn = 0

    /// Pipelined commands answered in one go. NIO runs every task its loop has before it
    /// reads its sockets again, so a session answering all it has read (a 256 KiB read is
    /// 43,000 RSETs) held up every other session on its loop (issue 22, finding 11). 64
    /// covers a usual transaction pipelined whole.
    static let commandsPerTurn = 64
    /// The pause after a turn: a timer, since a task queued now would still run before the
    /// loop polls its sockets. It also caps a session at 64 commands a millisecond.
    static let turnPause = TimeAmount.milliseconds(1)

    init(channel: any Channel, inbox: SessionInbox, deadline: SessionDeadline, sessionTimeout: TimeAmount,
         writeTimeout: TimeAmount, metrics: ListenerMetrics) {
        self.channel = channel
        self.inbox = inbox
        self.deadline = deadline
        self.sessionDeadline = .now() + sessionTimeout
        self.writeTimeout = writeTimeout
        self.metrics = metrics
    }

    func queue(_ replies: [SMTPReply]) {
        for reply in replies {
            reply.write(to: &pendingReplies)
            metrics.countReply(code: reply.code)
        }
    }

    /// Writes every queued reply. Waits only when the client is not reading its replies
    /// (the channel is not writable), so a client cannot make us buffer without bound; a
    /// write still waiting after `writeTimeout` closes the connection (it held the session
    /// for good: the deadlines only run while the session waits for input).
    ///
    /// The buffer is kept for the next replies: once the socket has taken the bytes, NIO
    /// lets go of it and `clear()` reuses its storage (a write still pending makes `clear()`
    /// copy instead, which is just as correct).
    func flush() async throws {
        guard pendingReplies.readableBytes > 0 else { return }
        if channel.isWritable {
            channel.writeAndFlush(pendingReplies, promise: nil)
        } else {
            let channel = self.channel
            let stalled = channel.eventLoop.scheduleTask(deadline: min(.now() + writeTimeout, sessionDeadline)) {
                channel.close(promise: nil)
            }
            defer { stalled.cancel() }
            try await channel.writeAndFlush(pendingReplies).get()
        }
        pendingReplies.clear()
    }

    /// Flushes replies, then waits for the next input for at most `timeout` (and never past
    /// the whole-session limit). Returns nil when the connection is gone.
    func next(timeout: TimeAmount) async throws -> SessionInput? {
        try await next(until: .now() + timeout)
    }

    /// Flushes replies, then waits for the next input until `limit` (and never past the
    /// whole-session limit); a limit already past gives `.timeout` at once. Returns nil when
    /// the connection is gone.
    func next(until limit: NIODeadline) async throws -> SessionInput? {
        try await flush()
        if !inbox.hasWaitingInput {
            commandsThisTurn = 0  // the session waits for the client: the loop serves the others
        }
        if input.readableBytes == 0 {
            input = ByteBuffer()  // an idle session does not keep its last read buffer alive
        }
        deadline.wait(until: min(limit, sessionDeadline))
        defer { deadline.busy() }
        return await inbox.next()
    }

    /// Counts an answered command. After `commandsPerTurn` of them without a wait for the
    /// client, writes their replies (waiting while the client does not read them) and pauses,
    /// so that the loop reads and answers its other sessions.
    func commandAnswered() async throws {
        commandsThisTurn += 1
        guard commandsThisTurn >= Self.commandsPerTurn else { return }
        commandsThisTurn = 0
        try await flush()
        try await channel.eventLoop.scheduleTask(in: Self.turnPause) {}.futureResult.get()
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
