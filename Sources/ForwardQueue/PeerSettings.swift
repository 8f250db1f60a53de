import Foundation

/// One outgoing connection (a peer that gets forwarded copies), as configured in a
/// `[[connection]]` table (docs/CONFIG.md). Every field has a working default but `name`
/// and `host`.
public struct PeerSettings: Sendable, Equatable {
    /// How the delivery client treats STARTTLS.
    public enum TLSMode: String, Sendable, Equatable, CaseIterable {
        /// Never start TLS.
        case none
        /// Start TLS when the peer offers it; fall back to plaintext when it does not.
        case opportunistic
        /// Deliver only over TLS, verified against `caFile` and `serverName`.
        case required
    }

    /// What `admit` answers when this peer's queue is full.
    public enum OnFull: String, Sendable, Equatable, CaseIterable {
        /// Refuse the message (452 4.3.1) so the sender keeps it.
        case tempfail
        /// Archive it anyway and skip forwarding to this peer (counted and logged).
        case dropForward = "drop-forward"
    }

    public var name: String
    public var host: String
    public var port: Int = 25
    public var tls: TLSMode = .opportunistic
    /// PEM bundle of trusted CAs; nil means the system trust store.
    public var caFile: String?
    /// The name checked against the peer's certificate (defaults to `host`).
    public var serverName: String?
    public var clientCertificateFile: String?
    public var clientKeyFile: String?
    public var maxConnections: Int = 4
    public var queueLimit: Int = 100_000
    public var queueMaxBytes: UInt64 = 10 * 1024 * 1024 * 1024
    public var onFull: OnFull = .tempfail
    public var minBackoff: TimeInterval = 1
    public var maxBackoff: TimeInterval = 300
    /// Attempts before an entry goes to hold; 0 retries forever.
    public var maxRetries: Int = 0
    public var connectTimeout: TimeInterval = 30
    public var commandTimeout: TimeInterval = 300
    public var dataTimeout: TimeInterval = 600
    /// The name sent in EHLO/HELO; nil uses the node id.
    public var heloName: String?
    /// How long an idle connection is kept open for more messages before QUIT.
    public var idleTimeout: TimeInterval = 5

    public init(name: String, host: String, port: Int = 25) {
        self.name = name
        self.host = host
        self.port = port
    }

    /// Problems that make these settings unusable, as sentences; empty when sound.
    public var problems: [String] {
        var out: [String] = []
        if name.isEmpty { out.append("connection name is empty") }
        if host.isEmpty { out.append("connection \(name): host is empty") }
        if !(1...65535).contains(port) { out.append("connection \(name): port \(port) is not 1-65535") }
        if maxConnections < 1 { out.append("connection \(name): max_connections must be at least 1") }
        if queueLimit < 1 { out.append("connection \(name): queue_limit must be at least 1") }
        if minBackoff <= 0 || maxBackoff < minBackoff {
            out.append("connection \(name): need 0 < min_backoff <= max_backoff")
        }
        if maxRetries < 0 { out.append("connection \(name): max_retries must be 0 (forever) or more") }
        if (clientCertificateFile == nil) != (clientKeyFile == nil) {
            out.append("connection \(name): client_certificate_file and client_key_file go together")
        }
        return out
    }
}
