import NIOCore
import SMTPProtocol

/// How a listener offers TLS (RFC 3207 STARTTLS, or TLS from the first byte as on port 465).
public enum TLSMode: String, Sendable, Codable, CaseIterable {
    case none
    /// STARTTLS is offered; plaintext mail is accepted too.
    case starttls
    /// STARTTLS is offered and MAIL before it gets 530 5.7.0.
    case starttlsRequired = "starttls-required"
    /// TLS from the first byte (RFC 8314 implicit TLS).
    case implicit
}

/// What to do with a bare CR or LF inside DATA (RFC 5321 §2.3.8 forbids them; they are the
/// raw material of SMTP smuggling).
public enum BareLineEndingPolicy: String, Sendable, Codable {
    /// Read the message to its real end, then refuse it with 550 5.5.2 (the default).
    case reject
    /// Store it with the bare CR or LF written as CRLF, like Postfix's
    /// `smtpd_forbid_bare_newline = normalize`. The end of data is still only CRLF "." CRLF.
    case normalize
}

/// Per-session limits. Every limit is on and finite by default.
public struct SessionLimits: Sendable, Hashable {
    /// Largest message in octets, announced in the SIZE extension.
    public var maximumMessageSize = SMTPDefaults.maximumMessageSize
    public var maximumRecipients = SMTPDefaults.maximumRecipients
    public var maximumCommandLineLength = SMTPDefaults.maximumCommandLineLength
    /// What a configuration may set `maximumCommandLineLength` to (`SMTPDefaults`).
    public static let largestCommandLineLength = SMTPDefaults.largestCommandLineLength
    /// What a configuration's smaller `maximumCommandLineLength` is raised to: the 512
    /// octets RFC 5321 §4.5.3.1.4 requires.
    public static let smallestCommandLineLength = 512
    public var maximumTextLineLength = SMTPDefaults.maximumTextLineLength
    /// What a configuration's smaller `maximumTextLineLength` is raised to: the 1000 octets
    /// RFC 5321 §4.5.3.1.6 requires.
    public static let smallestTextLineLength = 1000
    /// Time allowed for each command line to arrive (RFC 5321 §4.5.3.2.7 asks for at least 5 minutes).
    public var commandTimeout = TimeAmount.minutes(5)
    /// Time allowed between reads inside DATA or a BDAT chunk (RFC 5321 §4.5.3.2.6: 3 minutes per block at least).
    public var dataTimeout = TimeAmount.minutes(5)
    /// A whole session is closed with 421 4.4.2 after this long, whatever it is doing.
    public var sessionTimeout = TimeAmount.hours(1)
    /// Errors (5xx replies) in a row before 421 4.7.0 and close.
    public var maximumConsecutiveErrors = 10
    /// Commands without a stored message before 421 4.7.0 and close
    /// (`SMTPDefaults.maximumCommandsWithoutMessage`); see `commandsWithoutMessageLimit`.
    public var maximumCommandsWithoutMessage = SMTPDefaults.maximumCommandsWithoutMessage

    /// The bound a session enforces: never below twice `maximumRecipients`, since one
    /// transaction may send a RCPT per recipient and as many again refused past the limit.
    var commandsWithoutMessageLimit: Int {
        let (twice, overflow) = maximumRecipients.multipliedReportingOverflow(by: 2)
        return max(maximumCommandsWithoutMessage, overflow ? .max : twice)
    }

    public init() {}
}

/// One listening socket and the policy of the sessions it accepts.
public struct ListenerConfiguration: Sendable {
    /// Used in logs, metrics, routes and the archive's metadata.
    public var name: String
    public var host: String
    /// 0 picks a free port (tests); the bound port is reported by `SMTPServer.boundAddresses`.
    public var port: Int
    public var tlsMode: TLSMode = .none
    public var certificateFile: String?
    public var privateKeyFile: String?
    /// Mutual TLS: when set, a client must present a certificate that this CA (PEM bundle)
    /// signed, or the TLS handshake fails. For an HA listener that takes copies from peers.
    public var clientCertificateAuthorityFile: String?
    /// Connections accepted at once on this listener; more get 421 4.7.0.
    public var maximumConnections = 1000
    /// Connections accepted at once from one client address (after PROXY); more get 421 4.7.0.
    public var maximumConnectionsPerClient = 100
    /// Clients allowed to connect; others get 554 5.7.1 and are closed. Empty allows nobody;
    /// the default is this machine only.
    public var allowedClients: [ClientNetwork]
    /// Peers that must (and alone may) open with a PROXY protocol header.
    public var trustedProxies: [ClientNetwork] = []
    public var limits = SessionLimits()
    public var bareLineEndings = BareLineEndingPolicy.reject
    /// How long sessions inside a transaction may go on after shutdown begins.
    public var shutdownGracePeriod = TimeAmount.seconds(30)

    public init(name: String, host: String, port: Int, allowedClients: [ClientNetwork] = ClientNetwork.loopback) {
        self.name = name
        self.host = host
        self.port = port
        self.allowedClients = allowedClients
    }
}
