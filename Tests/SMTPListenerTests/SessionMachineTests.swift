@testable import SMTPListener
import MessageIntake
import NIOCore
import SMTPProtocol
import Testing

/// The session rules, without sockets: each case is a list of command lines and the reply
/// codes they must get.
struct SessionMachineTests {
    func machine(tls: TLSMode = .starttls, configure: (inout SessionLimits) -> Void = { _ in }) -> SessionMachine {
        var limits = SessionLimits()
        configure(&limits)
        return SessionMachine(configuration: .init(hostname: "mx.test", limits: limits, tlsMode: tls), tls: nil)
    }

    /// The receiver's side as a table: the refusal for a sender or recipient, nil accepts.
    struct Vetting {
        var sender: (ReversePath) -> SMTPReply? = { _ in nil }
        var recipient: (ForwardPath) -> SMTPReply? = { _ in nil }
    }

    /// Feeds the lines and answers the machine's questions as `vetting` says: what the
    /// connection does with a receiver.
    func run(_ m: inout SessionMachine, _ lines: [String], vetting: Vetting = Vetting()) -> [Int] {
        lines.flatMap { line in
            var action = m.command(SMTPCommandParser.parse(Array(line.utf8)))
            var replies = action.replies
            while true {
                switch action.next {
                case .vetSender(let sender, _): action = m.senderVetted(refusal: vetting.sender(sender))
                case .vetRecipient(let recipient): action = m.recipientVetted(refusal: vetting.recipient(recipient))
                default: return replies.map(\.code)
                }
                replies += action.replies
            }
        }
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

    static let refused = SMTPReply(550, EnhancedStatusCode(5, 7, 1), "no")
    static let vettedDialogs: [(String, [String], [Int])] = [
        ("refused sender opens no transaction", ["EHLO c", "MAIL FROM:<no@b.c>", "RCPT TO:<d@e.f>"], [250, 550, 503]),
        ("a refused sender can try again", ["EHLO c", "MAIL FROM:<no@b.c>", "MAIL FROM:<a@b.c>", "RCPT TO:<d@e.f>"], [250, 550, 250, 250]),
        ("refused recipient is not added", ["EHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<no@e.f>", "DATA"], [250, 250, 550, 554]),
        ("accepted beside refused", ["EHLO c", "MAIL FROM:<a@b.c>", "RCPT TO:<no@e.f>", "RCPT TO:<d@e.f>", "DATA"], [250, 250, 550, 250, 354]),
    ]

    @Test(arguments: vettedDialogs)
    func receiverVerdicts(name: String, lines: [String], codes: [Int]) {
        var m = machine()
        let vetting = Vetting(sender: { $0.description.hasPrefix("no@") ? Self.refused : nil },
                              recipient: { $0.description.hasPrefix("no@") ? Self.refused : nil })
        #expect(run(&m, lines, vetting: vetting) == codes, "\(name)")
    }

    /// The machine asks and waits; it answers only when told the verdict, and keeps only
    /// the recipients the receiver accepted.
    @Test func vettingIsAnActionNotACall() {
        var m = machine()
        _ = run(&m, ["EHLO c"])
        let mail = m.command(.success(.mail(.mailbox(Mailbox(localPart: "a", domain: "b.c")), MailParameters())))
        #expect(mail.replies.isEmpty)
        #expect(mail.next == .vetSender(.mailbox(Mailbox(localPart: "a", domain: "b.c")), MailParameters()))
        #expect(m.state == .vettingSender(.init(domain: "c", extended: true), .init(sender: .mailbox(Mailbox(localPart: "a", domain: "b.c")), parameters: MailParameters())))
        #expect(m.senderVetted(refusal: nil).replies.map(\.code) == [250])
        let d = ForwardPath.mailbox(Mailbox(localPart: "d", domain: "e.f"))
        #expect(m.command(.success(.rcpt(d, RecipientParameters()))).next == .vetRecipient(d))
        #expect(m.recipientVetted(refusal: Self.refused).replies.map(\.code) == [550])
        #expect(m.transaction?.recipients == [])
        _ = m.command(.success(.rcpt(d, RecipientParameters())))
        #expect(m.recipientVetted(refusal: nil).replies.map(\.code) == [250])
        #expect(m.transaction?.recipients == [d])
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
