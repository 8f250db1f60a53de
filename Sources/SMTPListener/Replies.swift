import SMTPProtocol

/// The replies the listener sends for its own reasons, in one place so their codes stay
/// consistent. Fixed replies are constants: a reply built per command costs an allocation
/// for its lines.
enum Replies {
    static let ok = SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok")
    static let senderOk = SMTPReply(250, EnhancedStatusCode(2, 1, 0), "Ok")
    static let recipientOk = SMTPReply(250, EnhancedStatusCode(2, 1, 5), "Ok")
    static let startMailInput = SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>")
    static let bye = SMTPReply(221, EnhancedStatusCode(2, 0, 0), "Bye")

    static func badSequence(_ why: String) -> SMTPReply {
        SMTPReply(503, EnhancedStatusCode(5, 5, 1), "Bad sequence of commands: \(why)")
    }

    static func messageTooBig(_ limit: Int) -> SMTPReply {
        SMTPReply(552, EnhancedStatusCode(5, 3, 4), "Message size exceeds fixed limit of \(limit) octets")
    }

    static let lineTooLong = SMTPReply(500, EnhancedStatusCode(5, 5, 2), "Line too long")
    static let textLineTooLong = SMTPReply(500, EnhancedStatusCode(5, 5, 2), "Message has a line too long")
    static let bareLineFeedInCommand = SMTPReply(500, EnhancedStatusCode(5, 5, 2), "Command must end with CRLF, not bare LF")
    static let bareLineEnding = SMTPReply(550, EnhancedStatusCode(5, 5, 2), "Message contains bare CR or LF; lines must end with CRLF")
    static let tlsRequired = SMTPReply(530, EnhancedStatusCode(5, 7, 0), "Must issue a STARTTLS command first")
    static let needsSMTPUTF8 = SMTPReply(553, EnhancedStatusCode(5, 6, 7), "Non-ASCII address needs SMTPUTF8")
    static let tooManyErrors = SMTPReply(421, EnhancedStatusCode(4, 7, 0), "Too many errors, closing connection")
    static let tooManyCommands = SMTPReply(421, EnhancedStatusCode(4, 7, 0), "Too many commands without a message, closing connection")
    static let timeout = SMTPReply(421, EnhancedStatusCode(4, 4, 2), "Timeout, closing connection")
    static let shuttingDown = SMTPReply(421, EnhancedStatusCode(4, 3, 2), "Service shutting down, closing connection")
    static let tooManyConnections = SMTPReply(421, EnhancedStatusCode(4, 7, 0), "Too many connections, try again later")
    static let clientNotAllowed = SMTPReply(554, EnhancedStatusCode(5, 7, 1), "Client not allowed")
    static let pipelinedAfterStartTLS = SMTPReply(554, EnhancedStatusCode(5, 5, 1), "Commands after STARTTLS must wait for TLS; closing")
    static let transactionFailed = SMTPReply(451, EnhancedStatusCode(4, 3, 0), "Temporary failure storing the message, try again")
}
