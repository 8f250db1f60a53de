import SMTPProtocol

/// One entry of a route's `senders` or `recipients` list.
///
/// | written | matches |
/// | --- | --- |
/// | `*` | every address, the null sender `<>` and the bare `<Postmaster>` too |
/// | `<>` | the null sender of bounces and reports (senders only) |
/// | `postmaster` | the bare `RCPT TO:<Postmaster>` (recipients only) |
/// | `@example.com` | addresses in exactly that domain |
/// | `*.example.com` | addresses in any subdomain of it, never the domain itself |
/// | `journal@example.com` | that address |
///
/// Domains compare case-insensitively and without a trailing dot. Local parts compare
/// exactly as written (RFC 5321 §2.4 leaves their case to the receiving domain), except
/// `postmaster`, which RFC 5321 §4.5.1 makes case-insensitive.
public enum AddressPattern: Hashable, Sendable, CustomStringConvertible {
    case any
    case nullSender
    case barePostmaster
    case domain(String)
    case subdomains(of: String)
    case address(localPart: String, domain: String)

    /// Where a pattern is used decides which of them make sense.
    public enum Role: Sendable { case sender, recipient }

    public init(parsing text: String, role: Role) throws(AddressPatternError) {
        guard !text.isEmpty else { throw .empty }
        guard !Self.hasWhitespaceOutsideQuotes(text) else { throw .whitespace(text) }
        switch text {
        case "*":
            self = .any
            return
        case "<>":
            guard role == .sender else { throw .nullSenderAsRecipient }
            self = .nullSender
            return
        default:
            break
        }
        if text.lowercased() == "postmaster" {
            guard role == .recipient else { throw .barePostmasterAsSender }
            self = .barePostmaster
        } else if text.hasPrefix("*.") {
            self = .subdomains(of: try Self.domainPart(text.dropFirst(2), of: text))
        } else if text.hasPrefix("@") {
            self = .domain(try Self.domainPart(text.dropFirst(), of: text))
        } else if let at = text.lastIndex(of: "@") {
            let local = text[..<at]
            guard !local.contains("*") else { throw .misplacedWildcard(text) }
            self = .address(localPart: Self.localKey(local), domain: try Self.domainPart(text[text.index(after: at)...], of: text))
        } else {
            throw .notAnAddress(text)
        }
    }

    static func domainPart(_ domain: Substring, of text: String) throws(AddressPatternError) -> String {
        guard !domain.contains("*") else { throw .misplacedWildcard(text) }
        guard !domain.contains("@") else { throw .notAnAddress(text) }
        let key = domainKey(domain)
        guard !key.isEmpty, !key.hasPrefix("."), !key.contains("..") else { throw .badDomain(text) }
        return key
    }

    /// A quoted local part (`"a b"@example.com`) may hold spaces; nothing else may.
    static func hasWhitespaceOutsideQuotes(_ text: String) -> Bool {
        var quoted = false
        for c in text {
            if c == "\"" { quoted.toggle() } else if c.isNewline || (c.isWhitespace && !quoted) { return true }
        }
        return false
    }

    static func domainKey(_ domain: some StringProtocol) -> String {
        let lower = domain.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    static func localKey(_ local: some StringProtocol) -> String {
        local.lowercased() == "postmaster" ? "postmaster" : String(local)
    }

    public func matches(_ sender: ReversePath) -> Bool {
        switch sender {
        case .null: return self == .any || self == .nullSender
        case .mailbox(let mailbox): return matches(mailbox)
        }
    }

    public func matches(_ recipient: ForwardPath) -> Bool {
        switch recipient {
        case .postmaster: return self == .any || self == .barePostmaster
        case .mailbox(let mailbox): return matches(mailbox)
        }
    }

    public func matches(_ mailbox: Mailbox) -> Bool {
        switch self {
        case .any:
            return true
        case .nullSender, .barePostmaster:
            return false
        case .domain(let domain):
            return Self.domainKey(mailbox.domain) == domain
        case .subdomains(of: let domain):
            return Self.domainKey(mailbox.domain).hasSuffix("." + domain)
        case .address(let local, let domain):
            return Self.domainKey(mailbox.domain) == domain && Self.localKey(mailbox.localPart) == local
        }
    }

    public var description: String {
        switch self {
        case .any: return "*"
        case .nullSender: return "<>"
        case .barePostmaster: return "postmaster"
        case .domain(let domain): return "@" + domain
        case .subdomains(of: let domain): return "*." + domain
        case .address(let local, let domain): return local + "@" + domain
        }
    }
}

/// Why a route's address pattern cannot be used.
public enum AddressPatternError: Error, Hashable, Sendable, CustomStringConvertible {
    case empty
    case whitespace(String)
    case nullSenderAsRecipient
    case barePostmasterAsSender
    case misplacedWildcard(String)
    case badDomain(String)
    case notAnAddress(String)

    public var description: String {
        switch self {
        case .empty: return "empty pattern"
        case .whitespace(let t): return "pattern \"\(t)\" contains white space"
        case .nullSenderAsRecipient: return "\"<>\" (the null sender) can only be a sender pattern"
        case .barePostmasterAsSender: return "\"postmaster\" without a domain can only be a recipient pattern"
        case .misplacedWildcard(let t): return "pattern \"\(t)\": a wildcard is only allowed as \"*\" or a leading \"*.\""
        case .badDomain(let t): return "pattern \"\(t)\": not a domain"
        case .notAnAddress(let t): return "pattern \"\(t)\" is not an address, @domain, *.domain, * or <>"
        }
    }
}
