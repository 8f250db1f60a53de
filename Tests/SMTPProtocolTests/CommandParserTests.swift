import SMTPProtocol
import Testing

struct CommandParserTests {
    static let valid: [(String, SMTPCommand)] = [
        ("EHLO mail.example.com", .ehlo("mail.example.com")),
        ("ehlo [192.0.2.1]", .ehlo("[192.0.2.1]")),
        ("HELO relay", .helo("relay")),
        ("MAIL FROM:<a@example.com>", .mail(.mailbox(Mailbox(localPart: "a", domain: "example.com")), MailParameters())),
        ("mail from: <a@example.com>", .mail(.mailbox(Mailbox(localPart: "a", domain: "example.com")), MailParameters())),
        ("MAIL FROM:<>", .mail(.null, MailParameters())),
        ("MAIL FROM:<a@b.c> SIZE=1000 BODY=8BITMIME", .mail(.mailbox(Mailbox(localPart: "a", domain: "b.c")), MailParameters(declaredSize: 1000, body: .eightBitMIME))),
        ("MAIL FROM:<a@b.c> body=binarymime", .mail(.mailbox(Mailbox(localPart: "a", domain: "b.c")), MailParameters(body: .binaryMIME))),
        ("MAIL FROM:<δοκιμή@παράδειγμα.δοκιμή> SMTPUTF8", .mail(.mailbox(Mailbox(localPart: "δοκιμή", domain: "παράδειγμα.δοκιμή")), MailParameters(smtpUTF8: true))),
        ("MAIL FROM:<\"john doe\"@example.com>", .mail(.mailbox(Mailbox(localPart: "\"john doe\"", domain: "example.com")), MailParameters())),
        ("MAIL FROM:<@relay.example:user@example.com>", .mail(.mailbox(Mailbox(localPart: "user", domain: "example.com")), MailParameters())),
        ("RCPT TO:<journal@archive.example>", .rcpt(.mailbox(Mailbox(localPart: "journal", domain: "archive.example")), RecipientParameters())),
        ("RCPT TO:<Postmaster>", .rcpt(.postmaster, RecipientParameters())),
        ("rcpt to:<postMASTER>", .rcpt(.postmaster, RecipientParameters())),
        ("MAIL FROM:<a@b.c>   size=7  ", .mail(.mailbox(Mailbox(localPart: "a", domain: "b.c")), MailParameters(declaredSize: 7))),
        ("MAIL FROM:<\"a\\\"b\"@example.com>", .mail(.mailbox(Mailbox(localPart: "\"a\\\"b\"", domain: "example.com")), MailParameters())),
        ("MAIL FROM:<a.b-c+d@x_y.example>", .mail(.mailbox(Mailbox(localPart: "a.b-c+d", domain: "x_y.example")), MailParameters())),
        ("RCPT TO:<user@[IPv6:2001:db8::1]>", .rcpt(.mailbox(Mailbox(localPart: "user", domain: "[IPv6:2001:db8::1]")), RecipientParameters())),
        ("DATA", .data),
        ("BDAT 1000", .bdat(size: 1000, last: false)),
        ("bdat 0 last", .bdat(size: 0, last: true)),
        ("RSET", .rset),
        ("NOOP", .noop),
        ("NOOP anything", .noop),
        ("QUIT", .quit),
        ("VRFY postmaster", .vrfy("postmaster")),
        ("HELP", .help(nil)),
        ("HELP MAIL", .help("MAIL")),
        ("STARTTLS", .starttls),
    ]

    @Test(arguments: valid)
    func parsesValidCommands(line: String, expected: SMTPCommand) {
        #expect(SMTPCommandParser.parse(Array(line.utf8)) == .success(expected))
    }

    static let invalid: [(String, SMTPCommandError)] = [
        ("FOO bar", .unrecognized(verb: "FOO")),
        ("EHLO", .syntax("EHLO needs a domain or address literal")),
        ("MAIL <a@b.c>", .syntax("expected MAIL FROM:<address>")),
        ("MAIL FROM:a@b.c", .badAddress("address must be enclosed in <>")),
        ("MAIL FROM:<a@b.c", .badAddress("missing >")),
        ("MAIL FROM:<a b@c.d>", .badAddress("invalid character in local part")),
        ("MAIL FROM:<a@>", .badAddress("empty domain")),
        ("MAIL FROM:<a@b..c>", .badAddress("empty domain label")),
        ("MAIL FROM:<a@b.>", .badAddress("empty domain label")),
        ("MAIL FROM:<a@.b>", .badAddress("empty domain label")),
        ("MAIL FROM:<a@b!c>", .badAddress("invalid character in domain")),
        ("MAIL FROM:<a@[]>", .badAddress("bad address literal")),
        ("MAIL FROM:<a@[1 2]>", .badAddress("bad address literal")),
        ("MAIL FROM:<a(b@c.d>", .badAddress("invalid character in local part")),
        ("MAIL FROM:<\"ab@c.d>", .badAddress("missing >")),
        ("MAIL FROM:<a@b.c> SIZE=", .syntax("SIZE needs a number")),
        ("RCPT TO:<postmaster2>", .badAddress("missing @domain")),
        ("ehlo", .syntax("EHLO needs a domain or address literal")),
        ("bdat 10 lastx", .syntax("expected BDAT <chunk-size> [LAST]")),
        ("frob", .unrecognized(verb: "FROB")),
        ("MAIL FROM:<a@b.c> SIZE=abc", .syntax("SIZE needs a number")),
        ("MAIL FROM:<a@b.c> SIZE=1 SIZE=2", .syntax("duplicate parameter SIZE")),
        ("MAIL FROM:<a@b.c> BODY=9BIT", .syntax("BODY must be 7BIT, 8BITMIME or BINARYMIME")),
        ("MAIL FROM:<a@b.c> AUTH=<>", .unsupportedParameter("AUTH")),
        ("MAIL FROM:<a@b.c>X", .syntax("expected a space after the address")),
        ("RCPT TO:<>", .badAddress("empty address")),
        ("RCPT TO:<a@b.c> NOTIFY=NEVER", .unsupportedParameter("NOTIFY")),
        ("DATA now", .syntax("DATA takes no argument")),
        ("BDAT", .syntax("expected BDAT <chunk-size> [LAST]")),
        ("BDAT -1", .syntax("expected BDAT <chunk-size> [LAST]")),
        ("BDAT 10 FIRST", .syntax("expected BDAT <chunk-size> [LAST]")),
        ("BDAT 1234567890123456789", .syntax("expected BDAT <chunk-size> [LAST]")),
        ("GET / HTTP/1.1", .httpRequest),
        ("POST /x HTTP/1.1", .httpRequest),
        ("CONNECT example.com:443 HTTP/1.1", .httpRequest),
    ]

    @Test(arguments: invalid)
    func refusesInvalidCommands(line: String, expected: SMTPCommandError) {
        #expect(SMTPCommandParser.parse(Array(line.utf8)) == .failure(expected))
    }

    @Test(arguments: [[0x4E, 0x4F, 0x00, 0x4F, 0x50], [0x45, 0x48, 0x4C, 0x4F, 0x20, 0x0D], [0x45, 0x48, 0x4C, 0x4F, 0x20, 0xFF]] as [[UInt8]])
    func refusesControlOctetsAndInvalidUTF8(bytes: [UInt8]) {
        #expect(SMTPCommandParser.parse(bytes) == .failure(.invalidCharacter))
    }

    @Test func errorsMapToReplies() {
        #expect(SMTPCommandError.unrecognized(verb: "X").reply.code == 500)
        #expect(SMTPCommandError.badAddress("x").reply.enhancedCode == EnhancedStatusCode(5, 1, 3))
        #expect(SMTPCommandError.unsupportedParameter("X").reply.code == 555)
    }
}
