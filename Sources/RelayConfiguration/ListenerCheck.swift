import NIOCore
import SMTPListener

/// Turns the `[[listener]]` tables into the SMTP layer's `ListenerConfiguration`s: what
/// the file leaves out keeps `ListenerConfiguration`'s own default.
enum ListenerCheck {
    /// The listeners, or none when any of them has a problem (each added to `problems`).
    static func listeners(_ configuration: NodeConfiguration, problems: inout ConfigurationProblems) -> [ListenerConfiguration] {
        var found = configuration.listenerAddressConflicts()
        var result: [ListenerConfiguration] = []
        for (index, entry) in (configuration.listener ?? []).enumerated() {
            let at = NodeConfiguration.location("listener", index, entry.name)
            if let listener = listener(entry, at: at, problems: &found) { result.append(listener) }
        }
        if result.isEmpty && found.isEmpty { found.append("no listener configured") }
        problems.errors += found
        return found.isEmpty ? result : []
    }

    private static func listener(_ entry: NodeConfiguration.Listener, at: String, problems: inout [String]) -> ListenerConfiguration? {
        guard let (host, port) = HostPort.parse(entry.address) else {
            problems.append("\(at): address must be HOST:PORT, got \(entry.address)")
            return nil
        }
        var c = ListenerConfiguration(name: entry.name, host: host, port: port)
        if let allowed = networks(entry.allowed_clients, at: at, problems: &problems) { c.allowedClients = allowed }
        if let proxies = networks(entry.trusted_proxies, at: at, problems: &problems) { c.trustedProxies = proxies }
        if let tls = entry.tls { c.tlsMode = tls }
        c.certificateFile = entry.certificate_file
        c.privateKeyFile = entry.key_file
        if c.tlsMode != .none, c.certificateFile == nil || c.privateKeyFile == nil {
            problems.append("\(at): tls = \(c.tlsMode.rawValue) needs certificate_file and key_file")
        }
        c.clientCertificateAuthorityFile = entry.client_ca_file
        if c.tlsMode != .starttlsRequired && c.tlsMode != .implicit && entry.client_ca_file != nil {
            // With optional STARTTLS a client could skip TLS and with it the certificate.
            problems.append("\(at): client_ca_file needs tls = \"starttls-required\" or \"implicit\"")
        }
        func positive(_ value: Int?, _ key: String, _ apply: (Int) -> Void) {
            guard let value else { return }
            if value <= 0 { problems.append("\(at): \(key) must be > 0") } else { apply(value) }
        }
        func seconds(_ value: Int?, _ key: String, _ apply: (Int) -> Void) {
            guard let value else { return }
            let limit = ConfigurationProblems.maximumSeconds
            if value > limit { problems.append("\(at): \(key) must be at most \(limit) (30 days), got \(value)") } else { positive(value, key, apply) }
        }
        positive(entry.max_connections, "max_connections") { c.maximumConnections = $0 }
        positive(entry.max_connections_per_client, "max_connections_per_client") { c.maximumConnectionsPerClient = $0 }
        positive(entry.max_message_size, "max_message_size") { c.limits.maximumMessageSize = $0 }
        positive(entry.max_recipients, "max_recipients") { c.limits.maximumRecipients = $0 }
        if let length = entry.max_command_line_length, length > SessionLimits.largestCommandLineLength {
            // A session buffers a command line whole: an unbounded value bounds nothing.
            problems.append("\(at): max_command_line_length must be at most \(SessionLimits.largestCommandLineLength), got \(length)")
        } else {
            positive(entry.max_command_line_length, "max_command_line_length") {
                c.limits.maximumCommandLineLength = max($0, SessionLimits.smallestCommandLineLength)
            }
        }
        positive(entry.max_text_line_length, "max_text_line_length") {
            c.limits.maximumTextLineLength = max($0, SessionLimits.smallestTextLineLength)
        }
        seconds(entry.command_timeout_seconds, "command_timeout_seconds") { c.limits.commandTimeout = .seconds(Int64($0)) }
        seconds(entry.data_timeout_seconds, "data_timeout_seconds") { c.limits.dataTimeout = .seconds(Int64($0)) }
        seconds(entry.session_timeout_seconds, "session_timeout_seconds") { c.limits.sessionTimeout = .seconds(Int64($0)) }
        positive(entry.max_consecutive_errors, "max_consecutive_errors") { c.limits.maximumConsecutiveErrors = $0 }
        seconds(entry.shutdown_grace_seconds, "shutdown_grace_seconds") { c.shutdownGracePeriod = .seconds(Int64($0)) }
        if let policy = entry.bare_line_endings { c.bareLineEndings = policy }
        return c
    }

    /// `allowed_clients` or `trusted_proxies` as networks; nil when the key is absent (the
    /// default stays) or names something that is not one (a problem each).
    private static func networks(_ texts: [String]?, at: String, problems: inout [String]) -> [ClientNetwork]? {
        guard let texts else { return nil }
        var networks: [ClientNetwork] = []
        for text in texts {
            if let network = ClientNetwork(text) { networks.append(network) } else { problems.append("\(at): not an IP network: \(text)") }
        }
        return networks.count == texts.count ? networks : nil
    }
}
