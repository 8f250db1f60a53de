import NIOCore
import SMTPProtocol
import Testing
@testable import ForwardQueue

/// One step of a scripted dialog: what happens, and the actions the machine must answer with.
enum Step: Sendable, CustomStringConvertible {
    case reply(Int, [String])
    case tls
    case begin(DeliveryEnvelope)
    case quit

    var description: String {
        switch self {
        case .reply(let code, let lines): return "\(code) \(lines.first ?? "")"
        case .tls: return "tls"
        case .begin: return "begin"
        case .quit: return "quit"
        }
    }
}

struct Dialog: Sendable, CustomStringConvertible {
    var name: String
    var tls: PeerSettings.TLSMode = .none
    var script: [(Step, [ClientAction])]
    var description: String { name }
}

let small = DeliveryEnvelope(sender: "journal@example.test", recipients: ["a@example.test", "b@example.test"], size: 500)
let ehloFull = ["mx.peer.test hello", "PIPELINING", "SIZE 1000", "8BITMIME"]
var fullCapabilities: PeerCapabilities {
    var c = PeerCapabilities(greetingName: "mx.peer.test")
    c.pipelining = true
    c.sizeLimit = 1000
    c.eightBitMIME = true
    return c
}
let single = DeliveryEnvelope(sender: "journal@example.test", recipients: ["a@example.test"], size: 500)
let ehloChunking = ["mx.peer.test hello", "PIPELINING", "CHUNKING", "SIZE 1000"]
var chunkingCapabilities: PeerCapabilities {
    var c = PeerCapabilities(greetingName: "mx.peer.test")
    c.pipelining = true
    c.chunking = true
    c.sizeLimit = 1000
    return c
}
let rcptPipelined: [ClientAction] = [.send(["MAIL FROM:<journal@example.test> SIZE=500 BODY=8BITMIME", "RCPT TO:<a@example.test>", "RCPT TO:<b@example.test>"])]

let dialogs: [Dialog] = [
    Dialog(name: "pipelined delivery, RSET before the second message, QUIT", script: [
        (.reply(220, ["mx.peer.test ESMTP"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloFull), [.sessionReady(fullCapabilities)]),
        (.begin(small), rcptPipelined),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), [.send(["DATA"])]),
        (.reply(354, ["go"]), [.sendContent]),
        (.reply(250, ["queued"]), [.finished(.delivered(SMTPReply(250, nil, "queued")))]),
        (.begin(small), [.send(["RSET", "MAIL FROM:<journal@example.test> SIZE=500 BODY=8BITMIME", "RCPT TO:<a@example.test>", "RCPT TO:<b@example.test>"])]),
        (.reply(250, ["reset"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), [.send(["DATA"])]),
        (.reply(354, ["go"]), [.sendContent]),
        (.reply(250, ["queued"]), [.finished(.delivered(SMTPReply(250, nil, "queued")))]),
        (.quit, [.send(["QUIT"])]),
        (.reply(221, ["bye"]), [.close(failure: nil)]),
    ]),
    Dialog(name: "EHLO refused: HELO fallback, one command at a time", script: [
        (.reply(220, ["old.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(502, ["5.5.1 what?"]), [.send(["HELO node-a"])]),
        (.reply(250, ["old.peer.test"]), [.sessionReady(PeerCapabilities(greetingName: "old.peer.test"))]),
        (.begin(small), [.send(["MAIL FROM:<journal@example.test> SIZE=500"])]),
        (.reply(250, ["ok"]), [.send(["RCPT TO:<a@example.test>"])]),
        (.reply(250, ["ok"]), [.send(["RCPT TO:<b@example.test>"])]),
        (.reply(250, ["ok"]), [.send(["DATA"])]),
        (.reply(354, ["go"]), [.sendContent]),
        (.reply(250, ["ok"]), [.finished(.delivered(SMTPReply(250, nil, "ok")))]),
    ]),
    Dialog(name: "5xx to RCPT: rejected (to hold); the pipelined replies are all read first", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloFull), [.sessionReady(fullCapabilities)]),
        (.begin(small), rcptPipelined),
        (.reply(250, ["ok"]), []),
        (.reply(550, ["5.1.1 no such user"]), []),
        (.reply(250, ["ok"]), [.finished(.rejected("RCPT: 550 5.1.1 no such user"))]),
    ]),
    Dialog(name: "4xx to the final dot: deferred (retry)", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloFull), [.sessionReady(fullCapabilities)]),
        (.begin(small), rcptPipelined),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), [.send(["DATA"])]),
        (.reply(354, ["go"]), [.sendContent]),
        (.reply(451, ["4.3.0 try later"]), [.finished(.deferred("end of data: 451 4.3.0 try later"))]),
    ]),
    Dialog(name: "message above the peer's SIZE: rejected without a command", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloFull), [.sessionReady(fullCapabilities)]),
        (.begin(DeliveryEnvelope(sender: "s@example.test", recipients: ["r@example.test"], size: 1001)),
         [.finished(.rejected("message of 1001 bytes exceeds the peer's SIZE limit of 1000"))]),
    ]),
    Dialog(name: "the peer greets as this node: loop guard", script: [
        (.reply(220, ["node-a ESMTP"]), [.send(["EHLO node-a"])]),
        (.reply(250, ["NODE-A hello", "PIPELINING"]), [.send(["QUIT"]), .close(failure: "forwarding loop: the peer greets as this node (NODE-A)")]),
    ]),
    Dialog(name: "STARTTLS required but not offered", tls: .required, script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloFull), [.close(failure: "TLS is required but the peer does not offer STARTTLS")]),
    ]),
    Dialog(name: "STARTTLS required: EHLO again after the handshake", tls: .required, script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ["mx.peer.test", "STARTTLS"]), [.send(["STARTTLS"])]),
        (.reply(220, ["2.0.0 go ahead"]), [.startTLS]),
        (.tls, [.send(["EHLO node-a"])]),
        (.reply(250, ["mx.peer.test"]), [.sessionReady(PeerCapabilities(greetingName: "mx.peer.test"))]),
    ]),
    Dialog(name: "opportunistic TLS without STARTTLS: plaintext", tls: .opportunistic, script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ["mx.peer.test"]), [.sessionReady(PeerCapabilities(greetingName: "mx.peer.test"))]),
    ]),
    Dialog(name: "required TLS never falls back to HELO", tls: .required, script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(500, ["5.5.1 unknown"]), [.close(failure: "TLS is required but the peer does not speak ESMTP: 500 5.5.1 unknown")]),
    ]),
    Dialog(name: "421 mid-transaction: message deferred, session closed", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloFull), [.sessionReady(fullCapabilities)]),
        (.begin(small), rcptPipelined),
        (.reply(421, ["4.3.2 shutting down"]), [.finished(.deferred("peer closed the session: 421 4.3.2 shutting down")),
                                                 .close(failure: "peer closed the session: 421 4.3.2 shutting down")]),
    ]),
    Dialog(name: "a stale 250 answers DATA: out of step, message deferred, session closed", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloFull), [.sessionReady(fullCapabilities)]),
        (.begin(small), rcptPipelined),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), [.send(["DATA"])]),
        (.reply(250, ["ok"]), [.finished(.deferred("unexpected reply to DATA: 250 ok")), .close(failure: "unexpected reply to DATA: 250 ok")]),
    ]),
    Dialog(name: "354 to MAIL: out of step, message deferred, session closed", script: [
        (.reply(220, ["old.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ["old.peer.test"]), [.sessionReady(PeerCapabilities(greetingName: "old.peer.test"))]),
        (.begin(small), [.send(["MAIL FROM:<journal@example.test> SIZE=500"])]),
        (.reply(354, ["go"]), [.finished(.deferred("unexpected reply to MAIL: 354 go")), .close(failure: "unexpected reply to MAIL: 354 go")]),
    ]),
    Dialog(name: "354 to the final dot: out of step, message deferred (not delivered), session closed", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloFull), [.sessionReady(fullCapabilities)]),
        (.begin(small), rcptPipelined),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), [.send(["DATA"])]),
        (.reply(354, ["go"]), [.sendContent]),
        (.reply(354, ["go"]), [.finished(.deferred("unexpected reply to the final dot: 354 go")), .close(failure: "unexpected reply to the final dot: 354 go")]),
    ]),
    Dialog(name: "CHUNKING, one recipient: MAIL, RCPT, BDAT LAST and the content in one write; RSET before the next", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloChunking), [.sessionReady(chunkingCapabilities)]),
        (.begin(single), [.sendWithContent(["MAIL FROM:<journal@example.test> SIZE=500", "RCPT TO:<a@example.test>", "BDAT 500 LAST"])]),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["queued"]), [.finished(.delivered(SMTPReply(250, nil, "queued")))]),
        (.begin(single), [.sendWithContent(["RSET", "MAIL FROM:<journal@example.test> SIZE=500", "RCPT TO:<a@example.test>", "BDAT 500 LAST"])]),
        (.reply(250, ["reset"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(451, ["4.3.0 try later"]), [.finished(.deferred("BDAT: 451 4.3.0 try later"))]),
    ]),
    Dialog(name: "CHUNKING, one recipient refused: the peer refuses the chunk too; the RCPT reply decides", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloChunking), [.sessionReady(chunkingCapabilities)]),
        (.begin(single), [.sendWithContent(["MAIL FROM:<journal@example.test> SIZE=500", "RCPT TO:<a@example.test>", "BDAT 500 LAST"])]),
        (.reply(250, ["ok"]), []),
        (.reply(452, ["4.3.1 queue full"]), []),
        (.reply(554, ["5.5.1 no valid recipients"]), [.finished(.deferred("RCPT: 452 4.3.1 queue full"))]),
    ]),
    Dialog(name: "CHUNKING, several recipients: BDAT only after every RCPT is accepted", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ehloChunking), [.sessionReady(chunkingCapabilities)]),
        (.begin(small), [.send(["MAIL FROM:<journal@example.test> SIZE=500", "RCPT TO:<a@example.test>", "RCPT TO:<b@example.test>"])]),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(250, ["ok"]), [.sendWithContent(["BDAT 500 LAST"])]),
        (.reply(250, ["queued"]), [.finished(.delivered(SMTPReply(250, nil, "queued")))]),
        (.begin(small), [.send(["RSET", "MAIL FROM:<journal@example.test> SIZE=500", "RCPT TO:<a@example.test>", "RCPT TO:<b@example.test>"])]),
        (.reply(250, ["reset"]), []),
        (.reply(250, ["ok"]), []),
        (.reply(452, ["4.5.3 too many recipients"]), []),
        (.reply(250, ["ok"]), [.finished(.deferred("RCPT: 452 4.5.3 too many recipients"))]),
        (.begin(single), [.sendWithContent(["RSET", "MAIL FROM:<journal@example.test> SIZE=500", "RCPT TO:<a@example.test>", "BDAT 500 LAST"])]),
    ]),
    Dialog(name: "CHUNKING without PIPELINING: DATA, one command at a time", script: [
        (.reply(220, ["mx.peer.test"]), [.send(["EHLO node-a"])]),
        (.reply(250, ["mx.peer.test", "CHUNKING"]), [.sessionReady({ var c = PeerCapabilities(greetingName: "mx.peer.test"); c.chunking = true; return c }())]),
        (.begin(single), [.send(["MAIL FROM:<journal@example.test> SIZE=500"])]),
        (.reply(250, ["ok"]), [.send(["RCPT TO:<a@example.test>"])]),
        (.reply(250, ["ok"]), [.send(["DATA"])]),
        (.reply(354, ["go"]), [.sendContent]),
        (.reply(250, ["ok"]), [.finished(.delivered(SMTPReply(250, nil, "ok")))]),
    ]),
    Dialog(name: "554 greeting: session failure", script: [
        (.reply(554, ["5.7.1 go away"]), [.close(failure: "peer refused the session: 554 5.7.1 go away")]),
    ]),
]

@Suite struct DeliveryMachineTests {
    @Test(arguments: dialogs)
    func dialog(_ dialog: Dialog) {
        var machine = DeliveryMachine(policy: .init(tls: dialog.tls, heloName: "node-a", nodeID: "node-a"))
        for (index, (step, expected)) in dialog.script.enumerated() {
            let actions: [ClientAction]
            switch step {
            case .reply(let code, let lines):
                var buffer = ByteBuffer()
                for (i, line) in lines.enumerated() { buffer.writeString("\(code)\(i == lines.count - 1 ? " " : "-")\(line)\r\n") }
                var decoder = ReplyDecoder()
                guard let reply = try? decoder.decode(&buffer) else {
                    Issue.record("step \(index): script reply does not decode")
                    return
                }
                actions = machine.receive(reply)
            case .tls: actions = machine.tlsEstablished()
            case .begin(let envelope): actions = machine.begin(envelope)
            case .quit: actions = machine.quit()
            }
            #expect(actions == expected, "step \(index) (\(step))")
        }
    }

    /// Only the wait for the final dot's reply is bounded by the data timeout.
    @Test func awaitsEndOfDataReplyOnlyAfterTheContent() {
        var machine = DeliveryMachine(policy: .init(tls: .none, heloName: "node-a", nodeID: "node-a"))
        var seen: [Bool] = []
        _ = machine.receive(SMTPReply(220, nil, "mx.peer.test"))
        _ = machine.receive(SMTPReply(250, nil, ehloFull))
        _ = machine.begin(small)
        for code in [250, 250, 250, 354, 250] {
            seen.append(machine.awaitsEndOfDataReply)
            _ = machine.receive(SMTPReply(code, nil, "ok"))
        }
        seen.append(machine.awaitsEndOfDataReply)
        #expect(seen == [false, false, false, false, true, false])
    }

    /// With BDAT the data timeout bounds the wait for the chunk's reply, after MAIL's and RCPT's.
    @Test func awaitsTheLastChunksReplyWithTheDataTimeout() {
        var machine = DeliveryMachine(policy: .init(tls: .none, heloName: "node-a", nodeID: "node-a"))
        _ = machine.receive(SMTPReply(220, nil, "mx.peer.test"))
        _ = machine.receive(SMTPReply(250, nil, ehloChunking))
        #expect(machine.sendsChunks)
        _ = machine.begin(single)
        var seen: [Bool] = []
        for _ in 0..<3 {
            seen.append(machine.awaitsEndOfDataReply)
            _ = machine.receive(SMTPReply(250, nil, "ok"))
        }
        seen.append(machine.awaitsEndOfDataReply)
        #expect(seen == [false, false, true, false])
    }

    @Test func capabilitiesAreReadFromTheEHLOReply() {
        let reply = SMTPReply(250, nil, ["mx.peer.test greets you", "pipelining", "SIZE 0", "STARTTLS", "SMTPUTF8", "Chunking"])
        var expected = PeerCapabilities(greetingName: "mx.peer.test")
        expected.pipelining = true
        expected.chunking = true
        expected.startTLS = true
        expected.smtpUTF8 = true
        #expect(PeerCapabilities(ehloReply: reply) == expected)
    }
}
