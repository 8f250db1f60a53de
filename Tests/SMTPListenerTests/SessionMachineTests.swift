@testable import SMTPListener
import NIOCore
import SMTPProtocol
import Testing

/// The session rules, without sockets: each case is a list of command lines and the reply
/// codes they must get.
struct SessionMachineTests {
    func machine(tls: TLSMode = .starttls, configure: (inout SessionLimits) -> Void = { _ in }) -> SessionMachine {
        var limits = SessionLimits()
        configure(&limits)
        return SessionMachine(configuration: .init(hostname: "mx.test", limits: limits, tlsMode: tls),
                              receiver: CollectingReceiver(), listener: "test", clientIP: "127.0.0.1", tls: nil)
    }

    func run(_ m: inout SessionMachine, _ lines: [String]) -> [Int] {
        lines.flatMap { m.command(SMTPCommandParser.parse(Array($0.utf8))).replies.map(\.code) }
    }

    static let dialogs: [(String, [String], [Int])] = [
        ("plain envelope", ["EHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<d@e.f>", "DATA"], [250, 250, 250, 354]),
        ("MAIL before EHLO", ["MAIL FROM:<a@b.c>"], [503]),
        ("RCPT before MAIL", ["EHLO c", "RCPT TO:<d@e.f>"], [250, 503]),
        ("DATA without recipients", ["EHLO c", "MAIL FROM:<a@b.c>", "DATA"], [250, 250, 554]),
        ("nested MAIL", ["EHLO c", "MAIL FROM:<a@b.c>", "MAIL FROM:<a@b.c>"], [250, 250, 503]),
        ("RSET clears the transaction", ["EHLO c", "MAIL FROM:<a@b.c>", "RSET", "RCPT TO:<d@e.f>"], [250, 250, 250, 503]),
        ("SIZE over the limit", ["EHLO c", "MAIL FROM:<a@b.c> SIZE=999999999999"], [250, 552]),
        ("parameters need EHLO", ["HELO c", "MAIL FROM:<a@b.c> SIZE=10"], [250, 555]),
        ("UTF-8 address needs SMTPUTF8", ["EHLO c", "MAIL FROM:<ü@b.c>"], [250, 553]),
        ("UTF-8 address with SMTPUTF8", ["EHLO c", "MAIL FROM:<ü@b.c> SMTPUTF8", "RCPT TO:<ö@e.f>"], [250, 250, 250]),
        ("BINARYMIME needs BDAT", ["EHLO c", "MAIL FROM:<a@b.c> BODY=BINARYMIME", "RCPT TO:<d@e.f>", "DATA"], [250, 250, 250, 503]),
        ("VRFY gets 252", ["VRFY root"], [252]),
        ("EXPN is not offered", ["EXPN list"], [502]),
        ("HELP", ["HELP"], [214]),
        ("NOOP", ["NOOP"], [250]),
        ("QUIT", ["QUIT"], [221]),
        ("STARTTLS needs EHLO", ["STARTTLS"], [503]),
        ("STARTTLS after EHLO", ["EHLO c", "STARTTLS"], [250, 220]),
        ("unknown command", ["XYZZY"], [500]),
    ]

    @Test(arguments: dialogs)
    func dialog(name: String, lines: [String], codes: [Int]) {
        var m = machine()
        #expect(run(&m, lines) == codes, "\(name)")
    }

    @Test func startTLSRequiredRefusesMailBeforeTLS() {
        var m = machine(tls: .starttlsRequired)
        #expect(run(&m, ["EHLO c", "MAIL FROM:<a@b.c>"]) == [250, 530])
        m.tlsEstablished("TLSv1.3")
        #expect(run(&m, ["MAIL FROM:<a@b.c>"]) == [503])  // RFC 3207: EHLO again after TLS
        #expect(run(&m, ["EHLO c", "MAIL FROM:<a@b.c>"]) == [250, 250])
    }

    @Test func ehloAdvertisesExtensions() {
        var m = machine(tls: .starttls)
        let reply = m.command(.success(.ehlo("c"))).replies[0]
        for ext in ["PIPELINING", "SIZE 52428800", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "STARTTLS"] {
            #expect(reply.lines.contains(ext), "\(ext)")
        }
        m.tlsEstablished("TLSv1.3")
        #expect(!m.command(.success(.ehlo("c"))).replies[0].lines.contains("STARTTLS"))
        var plain = machine(tls: .none)
        #expect(!plain.command(.success(.ehlo("c"))).replies[0].lines.contains("STARTTLS"))
    }

    @Test func tooManyRecipients() {
        var m = machine { $0.maximumRecipients = 2 }
        #expect(run(&m, ["EHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<1@e.f>", "RCPT TO:<2@e.f>", "RCPT TO:<3@e.f>"]) == [250, 250, 250, 250, 452])
    }

    @Test func consecutiveErrorsCloseTheSession() {
        var m = machine { $0.maximumConsecutiveErrors = 3 }
        let action = (0..<3).map { _ in m.command(.failure(.unrecognized(verb: "X"))) }.last
        #expect(action?.replies.map(\.code) == [500, 421])
        #expect(action?.next == .close)
    }

    @Test func successResetsTheErrorCount() {
        var m = machine { $0.maximumConsecutiveErrors = 2 }
        #expect(run(&m, ["X", "NOOP", "X", "NOOP", "X"]) == [500, 250, 500, 250, 500])
    }

    @Test func httpRequestClosesWithoutReply() {
        var m = machine()
        let action = m.command(SMTPCommandParser.parse(Array("GET / HTTP/1.1".utf8)))
        #expect(action.replies.isEmpty)
        #expect(action.next == .close)
    }

    @Test func shutdownWaitsForTheTransaction() {
        var m = machine()
        _ = run(&m, ["EHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<d@e.f>"])
        #expect(m.shutdown() == nil)
        _ = run(&m, ["DATA"])
        let after = m.dataFinished(.stored(id: "X"))
        #expect(after.replies.map(\.code) == [250, 421])
        #expect(after.next == .close)
        var idle = machine()
        #expect(idle.shutdown()?.replies.first?.enhancedCode == EnhancedStatusCode(4, 3, 2))
    }

    @Test func bdatSizeLimitFailsTheTransaction() {
        var m = machine { $0.maximumMessageSize = 10 }
        _ = run(&m, ["EHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<d@e.f>"])
        #expect(m.chunkWillBeRead(size: 6) == nil)
        #expect(m.chunkFinished(size: 6, last: false, outcome: nil).replies.map(\.code) == [250])
        #expect(m.chunkWillBeRead(size: 6)?.code == 552)
        #expect(m.chunkFinished(size: 6, last: true, outcome: .refused(Replies.messageTooBig(10))).replies.map(\.code) == [552])
        #expect(m.transaction == nil)
    }

    @Test func bdatWithoutTransactionIsRefused() {
        var m = machine()
        _ = run(&m, ["EHLO c"])
        #expect(m.chunkWillBeRead(size: 5)?.code == 503)
    }

    @Test(arguments: [(300_000, 300_000, 30_000), (300, 60_000, 100), (2_000, 300_000, 200), (60_000, 10_000, 1_000)])
    func timeoutCheckInterval(command: Int64, data: Int64, expected: Int64) {
        var limits = SessionLimits()
        limits.commandTimeout = .milliseconds(command)
        limits.dataTimeout = .milliseconds(data)
        #expect(SessionInbox.checkInterval(for: limits) == .milliseconds(expected))
    }
}
