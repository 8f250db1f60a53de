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
        guard cursor.first == "<" else { throw .badAddress("address must be enclosed in <>") }
        var inQuotes = false
        var escaped = false
        var close: Substring.Index?
        var index = cursor.index(after: cursor.startIndex)
        while index < cursor.endIndex {
            let c = cursor[index]
            if escaped {
                escaped = false
            } else if inQuotes && c == "\\" {
                escaped = true
            } else if c == "\"" {
                inQuotes.toggle()
            } else if c == ">" && !inQuotes {
                close = index
                break
            }
            index = cursor.index(after: index)
        }
        guard let close else { throw .badAddress("missing >") }
        var inner = cursor[cursor.index(after: cursor.startIndex)..<close]
        cursor = cursor[cursor.index(after: close)...]
        if let next = cursor.first, next != " " { throw .syntax("expected a space after the address") }

        if inner.isEmpty {
            guard allowNull else { throw .badAddress("empty address") }
            return .null
        }
        if inner.first == "@" {
            // A source route (A-d-l): accepted and ignored, as RFC 5321 §4.1.2 requires.
            guard let colon = inner.firstIndex(of: ":") else { throw .badAddress("bad source route") }
            inner = inner[inner.index(after: colon)...]
        }
        if !allowNull, inner.uppercased() == "POSTMASTER" { return .postmaster }
        return .mailbox(try parseMailbox(inner))
    }

    static func parseMailbox(_ text: Substring) throws(SMTPCommandError) -> Mailbox {
        guard let at = lastAtOutsideQuotes(text) else { throw .badAddress("missing @domain") }
        let local = text[..<at]
        let domain = text[text.index(after: at)...]
        try validateLocalPart(local)
        try validateDomain(domain)
        return Mailbox(localPart: String(local), domain: String(domain))
    }

    static func lastAtOutsideQuotes(_ text: Substring) -> Substring.Index? {
        if text.first == "\"" {
            // The domain follows the closing quote.
            guard let at = text.lastIndex(of: "@"), at > text.startIndex,
                  text[text.index(before: at)] == "\"" else { return nil }
            return at
        }
        return text.lastIndex(of: "@")
    }

    /// atext of RFC 5322 §3.2.3, plus any non-ASCII (RFC 6531 UTF8-non-ascii).
    static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value >= 0x80 { return true }
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        default: return "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(scalar)
        }
    }

    static func validateLocalPart(_ local: Substring) throws(SMTPCommandError) {
        guard !local.isEmpty else { throw .badAddress("empty local part") }
        if local.first == "\"" {
            guard local.count >= 2, local.last == "\"" else { throw .badAddress("unterminated quoted local part") }
            var escaped = false
            for scalar in local.dropFirst().dropLast().unicodeScalars {
                if escaped { escaped = false; continue }
                if scalar == "\\" { escaped = true; continue }
                if scalar == "\"" { throw .badAddress("stray quote in local part") }
            }
            guard !escaped else { throw .badAddress("dangling backslash in local part") }
            return
        }
        for scalar in local.unicodeScalars where scalar != "." && !isAtext(scalar) {
            throw .badAddress("invalid character in local part")
        }
    }

    static func validateDomain(_ domain: Substring) throws(SMTPCommandError) {
        guard !domain.isEmpty else { throw .badAddress("empty domain") }
        if domain.first == "[" {
            guard domain.last == "]", domain.count > 2,
                  !domain.dropFirst().dropLast().contains(where: { $0 == "[" || $0 == "]" || $0 == " " || $0 == "\\" })
            else { throw .badAddress("bad address literal") }
            return
        }
        for label in domain.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty else { throw .badAddress("empty domain label") }
            for scalar in label.unicodeScalars {
                let ok: Bool
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-", "_": ok = true
                default: ok = scalar.value >= 0x80
                }
                guard ok else { throw .badAddress("invalid character in domain") }
            }
        }
    }
}
