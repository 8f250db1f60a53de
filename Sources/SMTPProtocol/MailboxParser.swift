/// The path grammar of RFC 5321 §4.1.2 (with RFC 6531's UTF-8 extension):
/// `Path = "<" [ A-d-l ":" ] Mailbox ">"`, `Mailbox = Local-part "@" ( Domain / address-literal )`.
///
/// Accepts what real senders send within reason: white space after the colon, source routes
/// (ignored, RFC 5321 §4.1.2 says they are to be ignored), and local parts with unusual
/// dots. Refuses anything that could smuggle structure: unbalanced brackets or quotes,
/// control characters, spaces outside quotes.
enum MailboxParser {
    enum Path {
        case null
        case postmaster
        case mailbox(Mailbox)
    }

    /// Parses `<…>` at the start of `cursor` and advances it past the closing bracket.
    static func parsePath(_ cursor: inout Substring, allowNull: Bool) throws(SMTPCommandError) -> Path {
        let bytes = cursor.utf8
        guard bytes.first == UInt8(ascii: "<") else { throw .badAddress("address must be enclosed in <>") }
        var inQuotes = false
        var escaped = false
        var close: Substring.Index?
        var index = bytes.index(after: bytes.startIndex)
        while index < bytes.endIndex {
            let c = bytes[index]
            if escaped {
                escaped = false
            } else if inQuotes && c == UInt8(ascii: "\\") {
                escaped = true
            } else if c == UInt8(ascii: "\"") {
                inQuotes.toggle()
            } else if c == UInt8(ascii: ">") && !inQuotes {
                close = index
                break
            }
            index = bytes.index(after: index)
        }
        guard let close else { throw .badAddress("missing >") }
        var inner = cursor[bytes.index(after: bytes.startIndex)..<close]
        cursor = cursor[bytes.index(after: close)...]
        if let next = cursor.utf8.first, next != UInt8(ascii: " ") { throw .syntax("expected a space after the address") }

        if inner.isEmpty {
            guard allowNull else { throw .badAddress("empty address") }
            return .null
        }
        if inner.utf8.first == UInt8(ascii: "@") {
            // A source route (A-d-l): accepted and ignored, as RFC 5321 §4.1.2 requires.
            guard let colon = inner.utf8.firstIndex(of: UInt8(ascii: ":")) else { throw .badAddress("bad source route") }
            inner = inner[inner.utf8.index(after: colon)...]
        }
        if !allowNull, inner.equals(asciiCaseInsensitive: "POSTMASTER") { return .postmaster }
        return .mailbox(try parseMailbox(inner))
    }

    static func parseMailbox(_ text: Substring) throws(SMTPCommandError) -> Mailbox {
        guard let at = lastAtOutsideQuotes(text) else { throw .badAddress("missing @domain") }
        let local = text[..<at]
        let domain = text[text.utf8.index(after: at)...]
        try validateLocalPart(local)
        try validateDomain(domain)
        return Mailbox(localPart: String(local), domain: String(domain))
    }

    static func lastAtOutsideQuotes(_ text: Substring) -> Substring.Index? {
        let bytes = text.utf8
        if bytes.first == UInt8(ascii: "\"") {
            // The domain follows the closing quote.
            guard let at = bytes.lastIndex(of: UInt8(ascii: "@")), at > bytes.startIndex,
                  bytes[bytes.index(before: at)] == UInt8(ascii: "\"") else { return nil }
            return at
        }
        return bytes.lastIndex(of: UInt8(ascii: "@"))
    }

    /// atext of RFC 5322 §3.2.3, plus any non-ASCII (RFC 6531 UTF8-non-ascii): every byte
    /// of a multi-byte UTF-8 character is 0x80 or above.
    static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x80...0xFF, UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return atextPunctuation.contains(byte)
        }
    }

    private static let atextPunctuation: Set<UInt8> = Set("!#$%&'*+-/=?^_`{|}~".utf8)

    static func validateLocalPart(_ local: Substring) throws(SMTPCommandError) {
        guard !local.isEmpty else { throw .badAddress("empty local part") }
        if local.utf8.first == UInt8(ascii: "\"") {
            guard local.utf8.count >= 2, local.utf8.last == UInt8(ascii: "\"") else { throw .badAddress("unterminated quoted local part") }
            var escaped = false
            for scalar in local.dropFirst().dropLast().unicodeScalars {
                if escaped { escaped = false; continue }
                if scalar == "\\" { escaped = true; continue }
                if scalar == "\"" { throw .badAddress("stray quote in local part") }
            }
            guard !escaped else { throw .badAddress("dangling backslash in local part") }
            return
        }
        for byte in local.utf8 where byte != UInt8(ascii: ".") && !isAtext(byte) {
            throw .badAddress("invalid character in local part")
        }
    }

    static func validateDomain(_ domain: Substring) throws(SMTPCommandError) {
        guard !domain.isEmpty else { throw .badAddress("empty domain") }
        let bytes = domain.utf8
        if bytes.first == UInt8(ascii: "[") {
            guard bytes.last == UInt8(ascii: "]"), bytes.count > 2,
                  !bytes.dropFirst().dropLast().contains(where: { "[] \\".utf8.contains($0) })
            else { throw .badAddress("bad address literal") }
            return
        }
        var labelLength = 0
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "."):
                guard labelLength > 0 else { throw .badAddress("empty domain label") }
                labelLength = 0
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), 0x80...0xFF:
                labelLength += 1
            default:
                throw .badAddress("invalid character in domain")
            }
        }
        guard labelLength > 0 else { throw .badAddress("empty domain label") }
    }
}
