import NIOCore
import NIOEmbedded
@testable import SMTPListener
import Testing

/// The inbox's deadline check, on an embedded loop whose clock the test moves.
struct SessionInboxTests {
    /// An accepted channel becomes active only after a hop through the listening socket's
    /// loop; a check that ran before that (the listening loop busy for longer than the
    /// check interval) stopped checking for good, and the session never timed out.
    @Test func aCheckBeforeTheChannelIsActiveKeepsChecking() async throws {
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let inbox = SessionInbox(eventLoop: loop, checkInterval: .milliseconds(100))
        try channel.pipeline.syncOperations.addHandler(inbox)
        loop.advanceTime(to: .now() + .seconds(1))  // the first check, the channel not yet active
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 25)).get()
        inbox.deadline.wait(until: .now())
        loop.advanceTime(to: .now() + .seconds(1))
        #expect(inbox.hasWaitingInput, "no timeout after the deadline passed")
        if inbox.hasWaitingInput, case .timeout = await inbox.next() {} else {
            Issue.record("the session's input is not a timeout")
        }
        _ = try? channel.finish()
    }
}
