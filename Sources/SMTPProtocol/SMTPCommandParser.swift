/// Parses one command line (without its CRLF) into an `SMTPCommand` (RFC 5321 §4.1.1).
///
/// Verbs are case-insensitive. Arguments are validated strictly enough that nothing the
/// server later writes (Received headers, logs, forwarded envelopes) can be forged by them:
/// control octets and invalid UTF-8 are refused outright.
public enum SMTPCommandParser {
    /// Verbs of HTTP requests: an SMTP server that sees one drops the connection at once
    /// (cross-protocol attacks from browsers, RFC 5321 has no such verbs).
    static let httpVerbs: Set<String> = ["GET", "POST", "CONNECT", "HEAD", "PUT", "OPTIONS", "DELETE"]

    /// The checks run over the line's contiguous bytes in this module (a `ByteBufferView`
    /// has them), not through the caller's generic collection: walking it byte by byte
    /// through the protocol was half the cost of parsing a command in the listener's
    /// profile.
    public static func parse<Bytes: Collection>(_ line: Bytes) -> Result<SMTPCommand, SMTPCommandError>
    where Bytes.Element == UInt8 {
        if let parsed = line.withContiguousStorageIfAvailable({ parse(bytes: UnsafeRawBufferPointer($0)) }) {
            return parsed
        }
        return Array(line).withUnsafeBytes { parse(bytes: $0) }
    }

    static func parse(bytes line: UnsafeRawBufferPointer) -> Result<SMTPCommand, SMTPCommandError> {
        // HT is allowed as white space; every other C0 control and DEL is refused (NUL smuggling).
        if line.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
            return .failure(.invalidCharacter)
        }
        guard let text = String(validating: line, as: UTF8.self) else {
            return .failure(.invalidCharacter)
        }
        return parse(text: text)
    }

    static func parse(text: String) -> Result<SMTPCommand, SMTPCommandError> {
        let verbEnd = text.utf8.firstIndex(of: 0x20) ?? text.endIndex
        let verb = text[..<verbEnd].asciiUppercased
        let rest = verbEnd == text.endIndex ? Substring("") : text[text.utf8.index(after: verbEnd)...]
        let argument = rest.trimmingSpaces()

        switch verb {
        case "EHLO", "HELO":
            guard !argument.isEmpty else { return .failure(.syntax("\(verb) needs a domain or address literal")) }
            return .success(verb == "EHLO" ? .ehlo(String(argument)) : .helo(String(argument)))
        case "MAIL":
            return parseMail(rest)
        case "RCPT":
            return parseRcpt(rest)
        case "DATA", "RSET", "QUIT", "STARTTLS":
            guard argument.isEmpty else { return .failure(.syntax("\(verb) takes no argument")) }
            switch verb {
            case "DATA": return .success(.data)
            case "RSET": return .success(.rset)
            case "QUIT": return .success(.quit)
            default: return .success(.starttls)
            }
        case "NOOP":
            return .success(.noop)
        case "BDAT":
            return parseBdat(argument)
        case "VRFY", "EXPN":
            guard !argument.isEmpty else { return .failure(.syntax("\(verb) needs an argument")) }
            return .success(verb == "VRFY" ? .vrfy(String(argument)) : .expn(String(argument)))
        case "HELP":
            return .success(.help(argument.isEmpty ? nil : String(argument)))
        default:
            if httpVerbs.contains(verb), verbEnd != text.endIndex { return .failure(.httpRequest) }
            return .failure(.unrecognized(verb: text[..<verbEnd].uppercased()))
        }
    }

    static func parseMail(_ rest: Substring) -> Result<SMTPCommand, SMTPCommandError> {
        guard let afterKeyword = rest.droppingPrefix(caseInsensitive: "FROM:") else {
            return .failure(.syntax("expected MAIL FROM:<address>"))
        }
        return Result {
            var cursor = afterKeyword.trimmingLeadingSpaces()
            let path = try MailboxParser.parsePath(&cursor, allowNull: true)
            let parameters = try MailParameterParser.parseMail(cursor)
            switch path {
            case .null: return .mail(.null, parameters)
            case .mailbox(let m): return .mail(.mailbox(m), parameters)
            case .postmaster: throw SMTPCommandError.badAddress("sender must be an address or <>")
            }
        }.mapError { $0 as? SMTPCommandError ?? .syntax("\($0)") }
    }

    static func parseRcpt(_ rest: Substring) -> Result<SMTPCommand, SMTPCommandError> {
        guard let afterKeyword = rest.droppingPrefix(caseInsensitive: "TO:") else {
            return .failure(.syntax("expected RCPT TO:<address>"))
        }
        return Result {
            var cursor = afterKeyword.trimmingLeadingSpaces()
            let path = try MailboxParser.parsePath(&cursor, allowNull: false)
            let parameters = try MailParameterParser.parseRcpt(cursor)
            switch path {
            case .null: throw SMTPCommandError.badAddress("recipient must not be <>")
            case .postmaster: return .rcpt(.postmaster, parameters)
            case .mailbox(let m): return .rcpt(.mailbox(m), parameters)
            }
        }.mapError { $0 as? SMTPCommandError ?? .syntax("\($0)") }
    }

    static func parseBdat(_ argument: Substring) -> Result<SMTPCommand, SMTPCommandError> {
        let words = argument.spaceSeparatedWords()
        guard (1...2).contains(words.count),
              words[0].utf8.count <= 18, words[0].isASCIIDigits,
              let size = Int(words[0])
        else { return .failure(.syntax("expected BDAT <chunk-size> [LAST]")) }
        if words.count == 2 {
            guard words[1].equals(asciiCaseInsensitive: "LAST") else { return .failure(.syntax("expected BDAT <chunk-size> [LAST]")) }
            return .success(.bdat(size: size, last: true))
        }
        return .success(.bdat(size: size, last: false))
    }
}
