/// A command from an SMTP client (RFC 5321 §4.1.1, RFC 3030 BDAT, RFC 3207 STARTTLS).
public enum SMTPCommand: Hashable, Sendable {
    case ehlo(String)
    case helo(String)
    case mail(ReversePath, MailParameters)
    case rcpt(ForwardPath, RecipientParameters)
    case data
    /// BDAT chunk-size [LAST] (RFC 3030 §2): exactly `size` octets of message data follow the command line.
    case bdat(size: Int, last: Bool)
    case rset
    case noop
    case quit
    case vrfy(String)
    case expn(String)
    case help(String?)
    case starttls
}

/// The body types of the BODY= parameter (RFC 6152 8BITMIME, RFC 3030 BINARYMIME).
public enum BodyType: String, Hashable, Sendable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
    case binaryMIME = "BINARYMIME"
}

/// An address as it travels in the envelope: `local@domain`, kept as the client spelled it.
public struct Mailbox: Hashable, Sendable, CustomStringConvertible {
    public var localPart: String
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    public var description: String { domain.isEmpty ? localPart : "\(localPart)@\(domain)" }

    /// True when the address needs SMTPUTF8 (RFC 6531): any octet outside ASCII.
    public var isInternationalized: Bool { !description.utf8.allSatisfy { $0 < 0x80 } }
}

/// MAIL FROM's reverse-path: a mailbox, or the null path `<>` of bounces and reports.
public enum ReversePath: Hashable, Sendable, CustomStringConvertible {
    case null
    case mailbox(Mailbox)

    public var description: String {
        switch self {
        case .null: return ""
        case .mailbox(let m): return m.description
        }
    }
}

/// RCPT TO's forward-path: a mailbox, or the bare `<Postmaster>` every server must accept (RFC 5321 §4.5.1).
public enum ForwardPath: Hashable, Sendable, CustomStringConvertible {
    case postmaster
    case mailbox(Mailbox)

    public var description: String {
        switch self {
        case .postmaster: return "postmaster"
        case .mailbox(let m): return m.description
        }
    }
}

/// The MAIL FROM parameters this server understands.
public struct MailParameters: Hashable, Sendable {
    /// SIZE= (RFC 1870): the client's estimate of the message size in octets.
    public var declaredSize: Int?
    public var body: BodyType?
    /// SMTPUTF8 (RFC 6531 §3.4).
    public var smtpUTF8: Bool

    public init(declaredSize: Int? = nil, body: BodyType? = nil, smtpUTF8: Bool = false) {
        self.declaredSize = declaredSize
        self.body = body
        self.smtpUTF8 = smtpUTF8
    }
}

/// The RCPT TO parameters this server understands: none yet (DSN is not advertised).
public struct RecipientParameters: Hashable, Sendable {
    public init() {}
}
