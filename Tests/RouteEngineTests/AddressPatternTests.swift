import RouteEngine
import SMTPProtocol
import Testing

struct AddressPatternTests {
    static func mailbox(_ text: String) -> Mailbox {
        let at = text.lastIndex(of: "@")!
        return Mailbox(localPart: String(text[..<at]), domain: String(text[text.index(after: at)...]))
    }

    static let parsed: [(String, AddressPattern.Role, AddressPattern)] = [
        ("*", .sender, .any),
        ("<>", .sender, .nullSender),
        ("postmaster", .recipient, .barePostmaster),
        ("PostMaster", .recipient, .barePostmaster),
        ("@Example.COM", .recipient, .domain("example.com")),
        ("@example.com.", .recipient, .domain("example.com")),
        ("*.example.com", .sender, .subdomains(of: "example.com")),
        ("Journal@Example.com", .recipient, .address(localPart: "Journal", domain: "example.com")),
        ("POSTMASTER@example.com", .recipient, .address(localPart: "postmaster", domain: "example.com")),
        ("\"a b\"@example.com", .recipient, .address(localPart: "\"a b\"", domain: "example.com")),
    ]

    @Test(arguments: parsed)
    func parses(text: String, role: AddressPattern.Role, expected: AddressPattern) throws {
        #expect(try AddressPattern(parsing: text, role: role) == expected)
    }

    static let refused: [(String, AddressPattern.Role, AddressPatternError)] = [
        ("", .sender, .empty),
        ("a @b.example", .sender, .whitespace("a @b.example")),
        ("\"a\nb\"@b.example", .sender, .whitespace("\"a\nb\"@b.example")),
        ("a@b.example ", .sender, .whitespace("a@b.example ")),
        ("<>", .recipient, .nullSenderAsRecipient),
        ("postmaster", .sender, .barePostmasterAsSender),
        ("a*@b.example", .sender, .misplacedWildcard("a*@b.example")),
        ("*example.com", .sender, .notAnAddress("*example.com")),
        ("@*.example.com", .sender, .misplacedWildcard("@*.example.com")),
        ("@", .sender, .badDomain("@")),
        ("*.", .sender, .badDomain("*.")),
        ("@a..example", .sender, .badDomain("@a..example")),
        ("journal", .recipient, .notAnAddress("journal")),
    ]

    @Test(arguments: refused)
    func refuses(text: String, role: AddressPattern.Role, expected: AddressPatternError) {
        #expect(throws: expected) { try AddressPattern(parsing: text, role: role) }
    }

    static let mailboxCases: [(String, String, Bool)] = [
        ("*", "anyone@anywhere.example", true),
        ("<>", "anyone@anywhere.example", false),
        ("@example.com", "a@example.com", true),
        ("@example.com", "a@EXAMPLE.com", true),
        ("@example.com", "a@example.com.", true),
        ("@example.com", "a@mail.example.com", false),
        ("@example.com", "a@badexample.com", false),
        ("*.example.com", "a@mail.example.com", true),
        ("*.example.com", "a@a.b.example.com", true),
        ("*.example.com", "a@example.com", false),
        ("*.example.com", "a@badexample.com", false),
        ("journal@example.com", "journal@Example.Com", true),
        ("journal@example.com", "Journal@example.com", false),
        ("journal@example.com", "journal@mail.example.com", false),
        ("postmaster@example.com", "PostMaster@example.com", true),
        ("PostMaster@example.com", "postmaster@EXAMPLE.com", true),
    ]

    @Test(arguments: mailboxCases)
    func matchesMailboxes(pattern: String, address: String, expected: Bool) throws {
        let p = try AddressPattern(parsing: pattern, role: .sender)
        #expect(p.matches(Self.mailbox(address)) == expected)
        #expect(p.matches(ReversePath.mailbox(Self.mailbox(address))) == expected)
        #expect(p.matches(ForwardPath.mailbox(Self.mailbox(address))) == expected)
    }

    @Test func nullSenderAndBarePostmaster() throws {
        #expect(AddressPattern.any.matches(ReversePath.null))
        #expect(AddressPattern.nullSender.matches(ReversePath.null))
        #expect(!AddressPattern.domain("example.com").matches(ReversePath.null))
        #expect(AddressPattern.any.matches(ForwardPath.postmaster))
        #expect(AddressPattern.barePostmaster.matches(ForwardPath.postmaster))
        #expect(!AddressPattern.address(localPart: "postmaster", domain: "example.com").matches(ForwardPath.postmaster))
        #expect(!AddressPattern.barePostmaster.matches(ForwardPath.mailbox(Self.mailbox("postmaster@example.com"))))
    }

    @Test(arguments: ["*", "<>", "postmaster", "@example.com", "*.example.com", "journal@example.com"])
    func descriptionRoundTrips(text: String) throws {
        let role: AddressPattern.Role = text == "<>" ? .sender : .recipient
        let pattern = try AddressPattern(parsing: text, role: role)
        #expect(pattern.description == text)
        #expect(try AddressPattern(parsing: pattern.description, role: role) == pattern)
    }
}
