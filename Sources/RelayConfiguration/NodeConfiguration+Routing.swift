import SMTPListener

/// The `[[connection]]` and `[[route]]` tables (docs/CONFIG.md). Enumerations are read as
/// strings and checked afterwards, so one bad value does not hide the other problems.
extension NodeConfiguration {
    /// One `[[connection]]`: a peer this node forwards copies to.
    struct Connection: Codable, Sendable {
        var name: String?
        var host: String?
        var port: Int?
        /// `none`, `opportunistic` or `required`.
        var tls: String?
        var ca_file: String?
        var server_name: String?
        var certificate_file: String?
        var key_file: String?
        var max_connections: Int?
        var queue_limit: Int?
        var queue_max_bytes: Int?
        /// `tempfail` or `drop-forward`.
        var on_full: String?
        var min_backoff_seconds: Int?
        var max_backoff_seconds: Int?
        var max_retries: Int?
        var connect_timeout_seconds: Int?
        var command_timeout_seconds: Int?
        var data_timeout_seconds: Int?
        var helo: String?
    }

    /// One `[[route]]`: which recipients it takes, and what happens to them.
    struct Route: Codable, Sendable {
        var name: String?
        var listeners: [String]?
        var senders: [String]?
        var recipients: [String]?
        var archive: Bool?
        var forward: [String]?
        /// `none` or `one`.
        var ack_after_forward: String?
        var ack_timeout_seconds: Int?
    }

    /// `route[2] "ha"`: the table's kind, its place in the file counted from 1, its name.
    static func location(_ table: String, _ index: Int, _ name: String?) -> String {
        "\(table)[\(index + 1)]" + (name.map { " \"\($0)\"" } ?? "")
    }

    /// Listeners that could not bind together: the same port on the same host, or on the
    /// wildcard address (0.0.0.0, ::, *) and any other host.
    func listenerAddressConflicts() -> [String] {
        var problems: [String] = []
        let entries = (listener ?? []).enumerated().compactMap { index, entry in
            HostPort.parse(entry.address).map { (index, entry.name, $0.0, $0.1) }
        }
        for (i, a) in entries.enumerated() {
            for b in entries[..<i] where a.3 == b.3 {
                guard a.2.lowercased() == b.2.lowercased() || HostPort.isWildcard(a.2) || HostPort.isWildcard(b.2) else { continue }
                problems.append("\(Self.location("listener", a.0, a.1)): port \(a.3) is already taken by \(Self.location("listener", b.0, b.1)) (\(listener![b.0].address))")
            }
        }
        return problems
    }
}

extension HostPort {
    static func isWildcard(_ host: String) -> Bool {
        ["0.0.0.0", "::", "*", "0:0:0:0:0:0:0:0"].contains(host)
    }

    /// `localhost`, or an address literal in 127.0.0.0/8 or ::1 (any spelling, IPv4-mapped
    /// too). A host name is not resolved: only these never leave the machine.
    static func isLoopback(_ host: String) -> Bool {
        if host.lowercased() == "localhost" { return true }
        guard let octets = ClientNetwork.parseAddress(host) else { return false }
        return ClientNetwork.loopback.contains { $0.contains(octets) }
    }
}
