/// Why a command line could not be parsed; each maps to one reply (RFC 5321 §4.2.2, RFC 3463).
public enum SMTPCommandError: Error, Hashable, Sendable {
    /// The verb is not one this server knows.
    case unrecognized(verb: String)
    /// The verb is known but its arguments do not follow the grammar.
    case syntax(String)
    /// A mailbox in MAIL or RCPT does not follow RFC 5321 §4.1.2.
    case badAddress(String)
    /// A MAIL or RCPT parameter this server does not support.
    case unsupportedParameter(String)
    /// The line holds a NUL or other control octet.
    case invalidCharacter
    /// The line starts like an HTTP request: a web client or a cross-protocol attack.
    case httpRequest

    /// The reply the server sends for this error.
    public var reply: SMTPReply {
        switch self {
        case .unrecognized:
            return SMTPReply(500, EnhancedStatusCode(5, 5, 1), "Command unrecognized")
        case .syntax(let why):
            return SMTPReply(501, EnhancedStatusCode(5, 5, 4), "Syntax error: \(why)")
        case .badAddress(let why):
            return SMTPReply(501, EnhancedStatusCode(5, 1, 3), "Bad address syntax: \(why)")
        case .unsupportedParameter(let name):
            return SMTPReply(555, EnhancedStatusCode(5, 5, 4), "Unsupported parameter \(name)")
        case .invalidCharacter:
            return SMTPReply(500, EnhancedStatusCode(5, 5, 2), "Invalid character in command")
        case .httpRequest:
            return SMTPReply(554, EnhancedStatusCode(5, 7, 0), "This is an SMTP server")
        }
    }
}
