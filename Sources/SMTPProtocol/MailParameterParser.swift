/// MAIL and RCPT parameters (`esmtp-param = esmtp-keyword ["=" esmtp-value]`, RFC 5321 §4.1.2).
/// Only extensions this server advertises are accepted; anything else gets 555 5.5.4.
enum MailParameterParser {
    static func parseMail(_ text: Substring) throws(SMTPCommandError) -> MailParameters {
        var parameters = MailParameters()
        var seen = Set<String>()
        for word in text.spaceSeparatedWords() {
            let (keyword, value) = split(word)
            guard seen.insert(keyword).inserted else { throw .syntax("duplicate parameter \(keyword)") }
            switch keyword {
            case "SIZE":
                guard let value, value.utf8.count <= 18, value.isASCIIDigits,
                      let size = Int(value)
                else { throw .syntax("SIZE needs a number") }
                parameters.declaredSize = size
            case "BODY":
                guard let value, let body = BodyType(rawValue: value.asciiUppercased) else {
                    throw .syntax("BODY must be 7BIT, 8BITMIME or BINARYMIME")
                }
                parameters.body = body
            case "SMTPUTF8":
                guard value == nil else { throw .syntax("SMTPUTF8 takes no value") }
                parameters.smtpUTF8 = true
            default:
                throw .unsupportedParameter(keyword)
            }
        }
        return parameters
    }

    static func parseRcpt(_ text: Substring) throws(SMTPCommandError) -> RecipientParameters {
        if let word = text.spaceSeparatedWords().first {
            throw .unsupportedParameter(split(word).keyword)
        }
        return RecipientParameters()
    }

    static func split(_ word: Substring) -> (keyword: String, value: Substring?) {
        guard let eq = word.utf8.firstIndex(of: UInt8(ascii: "=")) else { return (word.asciiUppercased, nil) }
        return (word[..<eq].asciiUppercased, word[word.utf8.index(after: eq)...])
    }
}
