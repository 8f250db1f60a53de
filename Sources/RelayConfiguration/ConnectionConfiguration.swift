/// A validated `[[connection]]`: a peer this node forwards copies to, with every default
/// filled in. Plain values; the forwarding queue maps them onto its own settings.
public struct ConnectionConfiguration: Hashable, Sendable {
    enum TLSPolicy: String, Hashable, Sendable, CaseIterable {
        /// Plain SMTP, even when the peer offers STARTTLS.
        case none
        /// STARTTLS when the peer offers it, without verifying its certificate; plain otherwise.
        case opportunistic
        /// STARTTLS or no delivery; the certificate must verify against `ca_file` (or the
        /// system's roots) for `server_name`.
        case required
    }

    /// What a message gets when this peer's queue is full.
    enum QueueFullPolicy: String, Hashable, Sendable, CaseIterable {
        /// The whole message is refused with 452 4.3.1; the sender retries later.
        case tempfail
        /// The message is archived and accepted, but this peer does not get its copy (logged, counted).
        case dropForward = "drop-forward"
    }

    public var name: String
    public var host: String
    public var port = 25
    var tls = TLSPolicy.opportunistic
    var caFile: String?
    /// For SNI and certificate verification; nil means `host`.
    var serverName: String?
    var certificateFile: String?
    var keyFile: String?
    var maxConnections = 4
    var queueLimit = 100_000
    var queueMaxBytes: Int64 = 10 * 1024 * 1024 * 1024
    var onFull = QueueFullPolicy.tempfail
    var minBackoffSeconds = 1
    var maxBackoffSeconds = 300
    /// 0: retry for ever.
    var maxRetries = 0
    var connectTimeoutSeconds = 30
    var commandTimeoutSeconds = 300
    var dataTimeoutSeconds = 600
    /// nil means the node's id.
    var helo: String?

    /// Validates one entry; `at` is its location for the messages.
    static func validate(_ entry: NodeConfiguration.Connection, at: String) -> (ConnectionConfiguration?, ConfigurationProblems) {
        var problems = ConfigurationProblems()
        let name = entry.name ?? ""
        let host = entry.host ?? ""
        if name.isEmpty { problems.error(at, "name is required") }
        if name.contains(where: \.isWhitespace) { problems.error(at, "name must not contain white space") }
        if host.isEmpty { problems.error(at, "host is required") }
        var c = ConnectionConfiguration(name: name, host: host)
        if let port = entry.port {
            if (1...65535).contains(port) { c.port = port } else { problems.error(at, "port must be 1 to 65535, got \(port)") }
        }
        c.tls = problems.choice(entry.tls, "tls", at: at, default: c.tls)
        c.caFile = entry.ca_file
        c.serverName = entry.server_name
        c.certificateFile = entry.certificate_file
        c.keyFile = entry.key_file
        if (c.certificateFile == nil) != (c.keyFile == nil) {
            problems.error(at, "certificate_file and key_file go together (a client certificate needs its key)")
        }
        if c.tls == .none, c.caFile != nil || c.serverName != nil || c.certificateFile != nil {
            problems.warning(at, "ca_file, server_name and certificate_file have no effect with tls = \"none\"")
        }
        if c.tls == .opportunistic, c.caFile != nil {
            problems.warning(at, "ca_file is not used with tls = \"opportunistic\" (certificates are not verified); use \"required\"")
        }
        if c.tls != .required, entry.tls == nil || entry.tls == c.tls.rawValue, !host.isEmpty, !HostPort.isLoopback(host) {
            problems.warning(at, Self.unverifiedLinkWarning(c.tls, explicit: entry.tls != nil, host: host))
        }
        c.maxConnections = problems.positive(entry.max_connections, "max_connections", at: at, default: c.maxConnections)
        c.queueLimit = problems.positive(entry.queue_limit, "queue_limit", at: at, default: c.queueLimit)
        c.queueMaxBytes = Int64(problems.positive(entry.queue_max_bytes, "queue_max_bytes", at: at, default: Int(c.queueMaxBytes)))
        c.onFull = problems.choice(entry.on_full, "on_full", at: at, default: c.onFull)
        c.minBackoffSeconds = problems.seconds(entry.min_backoff_seconds, "min_backoff_seconds", at: at, default: c.minBackoffSeconds)
        c.maxBackoffSeconds = problems.seconds(entry.max_backoff_seconds, "max_backoff_seconds", at: at, default: c.maxBackoffSeconds)
        if c.minBackoffSeconds > c.maxBackoffSeconds {
            problems.error(at, "min_backoff_seconds (\(c.minBackoffSeconds)) is greater than max_backoff_seconds (\(c.maxBackoffSeconds))")
        }
        if let retries = entry.max_retries {
            if retries >= 0 { c.maxRetries = retries } else { problems.error(at, "max_retries must be 0 (for ever) or more, got \(retries)") }
        }
        c.connectTimeoutSeconds = problems.seconds(entry.connect_timeout_seconds, "connect_timeout_seconds", at: at, default: c.connectTimeoutSeconds)
        c.commandTimeoutSeconds = problems.seconds(entry.command_timeout_seconds, "command_timeout_seconds", at: at, default: c.commandTimeoutSeconds)
        c.dataTimeoutSeconds = problems.seconds(entry.data_timeout_seconds, "data_timeout_seconds", at: at, default: c.dataTimeoutSeconds)
        if let helo = entry.helo {
            if helo.isEmpty || helo.contains(where: { $0.isWhitespace || $0.isNewline }) {
                problems.error(at, "helo must be a host name without white space, got \"\(helo)\"")
            } else {
                c.helo = helo
            }
        }
        return (problems.isEmpty ? c : nil, problems)
    }

    /// Why a link that leaves the machine wants `required`: without a verified certificate,
    /// whoever sits between the nodes gets the copies (issue 22, finding 10).
    static func unverifiedLinkWarning(_ tls: TLSPolicy, explicit: Bool, host: String) -> String {
        let setting = "tls = \"\(tls.rawValue)\"" + (explicit ? "" : " (the default)")
        let exposure = tls == .none
            ? "copies cross the network in clear text, so anyone on the path can"
            : "the peer's certificate is not verified, so anyone on the path can strip STARTTLS or present any certificate,"
        return "\(setting) to \(host), which is not loopback: \(exposure) read or alter the copies, "
            + "or answer 250 so they leave the queue undelivered; use tls = \"required\" (with ca_file for a private CA)"
    }

    /// Files the connection reads at start: CA, client certificate and key.
    var files: [(key: String, path: String)] {
        [("ca_file", caFile), ("certificate_file", certificateFile), ("key_file", keyFile)].compactMap { key, path in
            path.map { (key, $0) }
        }
    }
}
