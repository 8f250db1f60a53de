import Foundation
import NIOCore
import RouteEngine
import SMTPListener

/// The node's configuration file (TOML), as documented key by key in docs/CONFIG.md.
/// Every key is optional; what is missing takes the embedded default.
public struct NodeConfiguration: Codable, Sendable {
    /// `[node]`: who this node is and where it keeps its data.
    public struct Node: Codable, Sendable {
        /// Unique in a chain; the name in Received headers. Default: the host name.
        public var id: String?
        public var data_dir: String?
        /// `HOST:PORT` of the admin HTTP endpoint (metrics, health). Keep it on loopback.
        public var admin: String?
        /// Host names (besides IP addresses and `localhost`) the admin endpoint answers to:
        /// a request naming another host is refused (DNS rebinding).
        public var admin_hosts: [String]?
        /// Forwarding stops when a copy would pass this many archiverelay nodes. Default 10.
        public var max_hops: Int?
        /// Threads that run the sessions (SwiftNIO event loops). Default: one per core.
        public var event_loop_threads: Int?
        /// The chain's trace key as hex digits, the same on every node of the chain
        /// (`TraceKey`); or `trace_key_file`, a file holding them. Default: none.
        public var trace_secret: String?
        public var trace_key_file: String?

        public init(id: String? = nil, data_dir: String? = nil, admin: String? = nil, max_hops: Int? = nil,
                    event_loop_threads: Int? = nil) {
            self.id = id
            self.data_dir = data_dir
            self.admin = admin
            self.max_hops = max_hops
            self.event_loop_threads = event_loop_threads
        }
    }

    /// One `[[listener]]`: an SMTP port and its limits.
    public struct Listener: Codable, Sendable {
        public var name: String
        /// `HOST:PORT`; IPv6 as `[::1]:2525`.
        public var address: String
        var tls: TLSMode?
        var certificate_file: String?
        var key_file: String?
        /// Mutual TLS: clients must present a certificate this CA (PEM) signed.
        var client_ca_file: String?
        var max_connections: Int?
        var max_connections_per_client: Int?
        var allowed_clients: [String]?
        var trusted_proxies: [String]?
        var max_message_size: Int?
        var max_recipients: Int?
        var max_command_line_length: Int?
        var max_text_line_length: Int?
        var command_timeout_seconds: Int?
        var data_timeout_seconds: Int?
        var session_timeout_seconds: Int?
        var max_consecutive_errors: Int?
        var bare_line_endings: BareLineEndingPolicy?
        var shutdown_grace_seconds: Int?
        /// Honour (and strip) incoming archiverelay trace headers: only on the port peers deliver to.
        var trust_trace: Bool?
    }

    /// `[archive]`: the segment files.
    public struct Archive: Codable, Sendable {
        public var compression_level: Int?
        public var segment_max_bytes: Int?
        public var segment_max_age_seconds: Int?
        /// An `Int`, checked for 0 or more: TOMLKit traps on a negative value for a `UInt64`.
        public var min_free_bytes: Int?
        /// Memory the records of messages in flight may hold together (0 or more).
        public var inflight_max_bytes: Int?
    }

    public var node: Node?
    public var listener: [Listener]?
    public var archive: Archive?
    var connection: [Connection]?
    var route: [Route]?

    /// The configuration a node runs with when it is given no file: one listener on
    /// 127.0.0.1:2525 for loopback clients, archive everything under ./data.
    public static let embeddedDefault = NodeConfiguration(
        node: Node(id: nil, data_dir: "./data", admin: "127.0.0.1:8025"),
        listener: [Listener(name: "journal", address: "127.0.0.1:2525", allowed_clients: ["127.0.0.0/8", "::1"])],
        archive: Archive())

    var nodeID: String { node?.id ?? ProcessInfo.processInfo.hostName }
    var maxHops: Int { node?.max_hops ?? RoutingTable.defaultMaxHops }

    /// The node's event loop threads: every session, forwarding client and the admin
    /// endpoint run on them. Default: one per core (SwiftNIO's own default). On a machine
    /// the node shares with its clients, one fewer does better (docs/CONFIG.md).
    public var eventLoopThreads: Int { node?.event_loop_threads ?? System.coreCount }

    /// The range `event_loop_threads` is checked against.
    static let eventLoopThreadRange = 1...256

    public var dataDirectory: String { node?.data_dir ?? "./data" }
    public var adminAddress: String { node?.admin ?? "127.0.0.1:8025" }
    public var adminHostNames: [String] { node?.admin_hosts ?? [] }

    /// The listeners as the SMTP layer wants them, or every problem found on the way.
    func listenerConfigurations() throws -> [ListenerConfiguration] {
        var problems: [String] = []
        var result: [ListenerConfiguration] = []
        problems += listenerAddressConflicts()
        for (index, entry) in (listener ?? []).enumerated() {
            let at = Self.location("listener", index, entry.name)
            guard let (host, port) = HostPort.parse(entry.address) else {
                problems.append("\(at): address must be HOST:PORT, got \(entry.address)")
                continue
            }
            let allowed = (entry.allowed_clients ?? ["127.0.0.0/8", "::1"]).map { ($0, ClientNetwork($0)) }
            let proxies = (entry.trusted_proxies ?? []).map { ($0, ClientNetwork($0)) }
            for (text, net) in allowed + proxies where net == nil { problems.append("\(at): not an IP network: \(text)") }
            var c = ListenerConfiguration(name: entry.name, host: host, port: port, allowedClients: allowed.compactMap(\.1))
            c.trustedProxies = proxies.compactMap(\.1)
            c.tlsMode = entry.tls ?? .none
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
                positive(entry.max_command_line_length, "max_command_line_length") { c.limits.maximumCommandLineLength = max($0, 512) }
            }
            positive(entry.max_text_line_length, "max_text_line_length") { c.limits.maximumTextLineLength = max($0, 1000) }
            seconds(entry.command_timeout_seconds, "command_timeout_seconds") { c.limits.commandTimeout = .seconds(Int64($0)) }
            seconds(entry.data_timeout_seconds, "data_timeout_seconds") { c.limits.dataTimeout = .seconds(Int64($0)) }
            seconds(entry.session_timeout_seconds, "session_timeout_seconds") { c.limits.sessionTimeout = .seconds(Int64($0)) }
            positive(entry.max_consecutive_errors, "max_consecutive_errors") { c.limits.maximumConsecutiveErrors = $0 }
            seconds(entry.shutdown_grace_seconds, "shutdown_grace_seconds") { c.shutdownGracePeriod = .seconds(Int64($0)) }
            c.bareLineEndings = entry.bare_line_endings ?? .reject
            result.append(c)
        }
        if result.isEmpty && problems.isEmpty { problems.append("no listener configured") }
        guard problems.isEmpty else { throw ConfigurationError(path: nil, problems: problems) }
        return result
    }
}

extension NodeConfiguration.Listener {
    /// A `[[listener]]` with only its name and address; every limit takes its default.
    public init(name: String, address: String) {
        self.name = name
        self.address = address
    }
}

/// Every problem found in a configuration, each with where it is.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var path: String?
    public var problems: [String]

    public init(path: String?, problems: [String]) {
        self.path = path
        self.problems = problems
    }

    public var description: String {
        let prefix = path.map { "\($0): " } ?? ""
        return problems.map { prefix + $0 }.joined(separator: "\n")
    }
}

/// `HOST:PORT` and `[IPv6]:PORT`.
public enum HostPort {
    public static func parse(_ text: String) -> (String, Int)? {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        return (String(host), port)
    }
}
