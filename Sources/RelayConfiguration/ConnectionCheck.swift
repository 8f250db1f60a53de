import ForwardQueue

/// Turns one `[[connection]]` into the forward queue's `PeerSettings`: what the file
/// leaves out keeps `PeerSettings`' own default. Enumerations are read as strings and
/// checked here, so one bad value does not hide the other problems.
enum ConnectionCheck {
    /// The peer's settings, or nil when the entry has an error (all of them are in
    /// `problems`, each at `at`). `heloName` stays nil unless the entry sets `helo`: the
    /// node id is filled in once the whole file is checked.
    static func peer(_ entry: NodeConfiguration.Connection, at: String, problems: inout ConfigurationProblems) -> PeerSettings? {
        let errorsBefore = problems.errors.count
        let name = entry.name ?? ""
        let host = entry.host ?? ""
        if name.isEmpty { problems.error(at, "name is required") }
        if name.contains(where: \.isWhitespace) { problems.error(at, "name must not contain white space") }
        if host.isEmpty { problems.error(at, "host is required") }
        var peer = PeerSettings(name: name, host: host)
        if let port = entry.port {
            if (1...65535).contains(port) { peer.port = port } else { problems.error(at, "port must be 1 to 65535, got \(port)") }
        }
        checkTLS(entry, at: at, into: &peer, problems: &problems)
        peer.maxConnections = problems.positive(entry.max_connections, "max_connections", at: at, default: peer.maxConnections)
        peer.queueLimit = problems.positive(entry.queue_limit, "queue_limit", at: at, default: peer.queueLimit)
        peer.queueMaxBytes = UInt64(problems.positive(entry.queue_max_bytes, "queue_max_bytes", at: at,
                                                      default: Int(clamping: peer.queueMaxBytes)))
        peer.onFull = problems.choice(entry.on_full, "on_full", at: at, default: peer.onFull)
        let minBackoff = problems.seconds(entry.min_backoff_seconds, "min_backoff_seconds", at: at, default: Int(peer.minBackoff))
        let maxBackoff = problems.seconds(entry.max_backoff_seconds, "max_backoff_seconds", at: at, default: Int(peer.maxBackoff))
        if minBackoff > maxBackoff {
            problems.error(at, "min_backoff_seconds (\(minBackoff)) is greater than max_backoff_seconds (\(maxBackoff))")
        }
        peer.minBackoff = Double(minBackoff)
        peer.maxBackoff = Double(maxBackoff)
        if let retries = entry.max_retries {
            if retries >= 0 { peer.maxRetries = retries } else { problems.error(at, "max_retries must be 0 (for ever) or more, got \(retries)") }
        }
        peer.connectTimeout = Double(problems.seconds(entry.connect_timeout_seconds, "connect_timeout_seconds", at: at,
                                                      default: Int(peer.connectTimeout)))
        peer.commandTimeout = Double(problems.seconds(entry.command_timeout_seconds, "command_timeout_seconds", at: at,
                                                      default: Int(peer.commandTimeout)))
        peer.dataTimeout = Double(problems.seconds(entry.data_timeout_seconds, "data_timeout_seconds", at: at,
                                                   default: Int(peer.dataTimeout)))
        if let helo = entry.helo {
            if helo.isEmpty || helo.contains(where: { $0.isWhitespace || $0.isNewline }) {
                problems.error(at, "helo must be a host name without white space, got \"\(helo)\"")
            } else {
                peer.heloName = helo
            }
        }
        return problems.errors.count == errorsBefore ? peer : nil
    }

    /// `tls` and the files that go with it.
    private static func checkTLS(_ entry: NodeConfiguration.Connection, at: String, into peer: inout PeerSettings,
                                 problems: inout ConfigurationProblems) {
        peer.tls = problems.choice(entry.tls, "tls", at: at, default: peer.tls)
        peer.caFile = entry.ca_file
        peer.serverName = entry.server_name
        peer.clientCertificateFile = entry.certificate_file
        peer.clientKeyFile = entry.key_file
        if (peer.clientCertificateFile == nil) != (peer.clientKeyFile == nil) {
            problems.error(at, "certificate_file and key_file go together (a client certificate needs its key)")
        }
        if peer.tls == .none, peer.caFile != nil || peer.serverName != nil || peer.clientCertificateFile != nil {
            problems.warning(at, "ca_file, server_name and certificate_file have no effect with tls = \"none\"")
        }
        if peer.tls == .opportunistic, peer.caFile != nil {
            problems.warning(at, "ca_file is not used with tls = \"opportunistic\" (certificates are not verified); use \"required\"")
        }
        if peer.tls != .required, entry.tls == nil || entry.tls == peer.tls.rawValue, !peer.host.isEmpty, !HostPort.isLoopback(peer.host) {
            problems.warning(at, unverifiedLinkWarning(peer.tls, explicit: entry.tls != nil, host: peer.host))
        }
    }

    /// Why a link that leaves the machine wants `required`: without a verified certificate,
    /// whoever sits between the nodes gets the copies (issue 22, finding 10).
    static func unverifiedLinkWarning(_ tls: PeerSettings.TLSMode, explicit: Bool, host: String) -> String {
        let setting = "tls = \"\(tls.rawValue)\"" + (explicit ? "" : " (the default)")
        let exposure = tls == .none
            ? "copies cross the network in clear text, so anyone on the path can"
            : "the peer's certificate is not verified, so anyone on the path can strip STARTTLS or present any certificate,"
        return "\(setting) to \(host), which is not loopback: \(exposure) read or alter the copies, "
            + "or answer 250 so they leave the queue undelivered; use tls = \"required\" (with ca_file for a private CA)"
    }

    /// A file the connection reads at start, by the key that names it.
    struct NamedFile {
        var key: String
        var path: String
    }

    /// The CA, client certificate and key files a peer names.
    static func files(of peer: PeerSettings) -> [NamedFile] {
        let named: [NamedFile?] = [
            peer.caFile.map { NamedFile(key: "ca_file", path: $0) },
            peer.clientCertificateFile.map { NamedFile(key: "certificate_file", path: $0) },
            peer.clientKeyFile.map { NamedFile(key: "key_file", path: $0) },
        ]
        return named.compactMap { $0 }
    }
}
