import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import SMTPListener
import SMTPProtocol
import TestSupport
import Testing

/// One session's pipelined flood against the other sessions of its event loop, and the
/// bound on commands without a message (issue 22, finding 11).
@Suite(.timeLimit(.minutes(5)))  // a hang guard only: the whole suite shares 2 cores (1 minute was exceeded there)
struct FairnessTests {
    /// The listener runs on one event loop. A flood of MAIL/RSET pairs arrives in one
    /// write; its first MAIL holds the loop (in the receiver) until another client's whole
    /// transaction sits in the server's socket. Counted: the flood's MAILs answered before
    /// the other session's. With turns, one turn goes first (`commandsPerTurn` commands, half
    /// of them MAILs); a session that answered everything it had read put the whole first
    /// read (hundreds of pairs) first.
    @Test func aPipelinedFloodLetsAnotherSessionOnItsLoopThrough() async throws {
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let probe = FloodProbe()
        let receiver = CollectingReceiver(onSender: { probe.saw($0) })
        try await withListener(receiver: receiver, group: loop) { server, receiver in
            let other = try await TestClient(server)
            #expect(try await other.codes(1) == [220])
            let flooder = try await TestClient(server)
            try await flooder.send("EHLO flood.example\r\n")
            #expect(try await flooder.codes(2) == [220, 250])
            let pairs = 5_000
            try await flooder.send("MAIL FROM:<\(FloodProbe.gate)>\r\nRSET\r\n"
                + String(repeating: "MAIL FROM:<\(FloodProbe.flood)>\r\nRSET\r\n", count: pairs))
            // Read as they come, so the flood is never held up by its own unread replies.
            async let floodCodes = flooder.codes(2 * (pairs + 1))
            #expect(try await probe.gateReached())
            try await other.sendWritten("EHLO other.example\r\n" + envelope(from: "other@example.com")
                + "DATA\r\nSubject: other\r\n\r\nhello\r\n.\r\nQUIT\r\n")
            probe.openGate()
            #expect(try await other.codes(6) == [250, 250, 250, 354, 250, 221])
            let answeredFirst = try #require(probe.floodBeforeOther)
            #expect(answeredFirst <= SessionIO.commandsPerTurn,
                    "\(answeredFirst) flood MAILs were answered before the other session's")
            let codes = try await floodCodes
            #expect(codes.count == 2 * (pairs + 1) && codes.allSatisfy { $0 == 250 })
            #expect(receiver.received.count == 1)
        }
        try await loop.shutdownGracefully()
    }

    /// A client that pipelines and never reads: once its replies fill the sockets the session
    /// stops answering (it waits for the write), and when the write has not finished within
    /// the command timeout it is closed, instead of holding its connection for good.
    @Test func aClientThatNeverReadsItsRepliesIsClosed() async throws {
        let vetted = NIOLockedValueBox(0)
        let receiver = CollectingReceiver(onSender: { _ in vetted.withLockedValue { $0 += 1 } })
        // The MAIL shows that the session runs. The reply to EHLO repeats its 2,000-octet
        // name: 10,000 of them are 22 MB of replies, of which the sockets take 4 MiB.
        let ehlo = "EHLO " + String(repeating: "c", count: 2_000) + "\r\n"
        let flood = ByteBuffer(string: "EHLO c\r\nMAIL FROM:<a@example.com>\r\nRSET\r\n" + String(repeating: ehlo, count: 10_000))
        try await withListener({
            $0.limits.commandTimeout = .seconds(2)
            $0.shutdownGracePeriod = .seconds(1)
        }, receiver: receiver) { server, _ in
            // A client that never reads, with a small receive buffer: the replies pile up in
            // the server's send buffer (at most 4 MiB here, tcp_wmem). It writes as it connects,
            // on its loop: the session's command timeout runs from its greeting.
            let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.autoRead, value: false)
                .channelOption(.socketOption(.so_rcvbuf), value: 4096)
                .connect(host: "127.0.0.1", port: server.localAddress.port ?? 0)
                .map { channel in
                    channel.writeAndFlush(flood, promise: nil)
                    return channel
                }.get()
            defer { client.close(promise: nil) }
            #expect(try await eventually { vetted.withLockedValue { $0 } == 1 })
            #expect(try await eventually { server.openSessions == 0 }, "the session still holds its connection")
        }
    }

    /// Past `maximumCommandsWithoutMessage` commands the session gets 421 4.7.0 and is
    /// closed; a stored message starts the count again.
    @Test func commandsWithoutAMessageAreBounded() async throws {
        try await withListener({
            $0.limits.maximumCommandsWithoutMessage = 6
            $0.limits.maximumRecipients = 2
        }) { server, receiver in
            let client = try await TestClient(server)
            // Four commands, then a stored message: the count starts again.
            try await client.send("EHLO c\r\n" + envelope() + "DATA\r\nx\r\n.\r\n")
            #expect(try await client.codes(6) == [220, 250, 250, 250, 354, 250])
            try await client.send(String(repeating: "NOOP\r\n", count: 8))
            #expect(try await client.codes(6) == Array(repeating: 250, count: 6))
            let reply = try #require(try await client.reply())
            #expect(reply.code == 421 && reply.enhancedCode == EnhancedStatusCode(4, 7, 0))
            #expect(try await client.isClosed())
            #expect(receiver.received.count == 1)
        }
    }
}

/// Counts the flood's MAILs as the receiver vets them and holds the loop at the flood's
/// first MAIL until the test opens the gate.
final class FloodProbe: Sendable {
    static let gate = "gate@flood.example"
    static let flood = "flood@flood.example"
    private struct State {
        var floodMails = 0
        var floodBeforeOther: Int?
    }
    private let state = NIOLockedValueBox(State())
    /// 0: closed, 1: the loop waits at the gate, 2: open.
    private let gateState = ConditionLock(value: 0)

    var floodBeforeOther: Int? { state.withLockedValue { $0.floodBeforeOther } }

    /// Called on the listener's event loop for each MAIL FROM.
    func saw(_ sender: ReversePath) {
        switch sender.description {
        case Self.gate:
            gateState.lock()
            gateState.unlock(withValue: 1)
            // A limit, so that a broken test fails instead of hanging the loop.
            if gateState.lock(whenValue: 2, timeoutSeconds: 30) { gateState.unlock() }
        case Self.flood:
            state.withLockedValue { $0.floodMails += 1 }
        default:
            state.withLockedValue { $0.floodBeforeOther = $0.floodBeforeOther ?? $0.floodMails }
        }
    }

    /// Waits (up to 20 s) until the loop holds at the gate.
    func gateReached() async throws -> Bool {
        try await eventually { gateState.value == 1 }
    }

    func openGate() {
        gateState.lock()
        gateState.unlock(withValue: 2)
    }
}
