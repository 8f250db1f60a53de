import Foundation
import SMTPListener

/// The node's configuration file (TOML), as documented key by key in docs/CONFIG.md.
/// Every key is optional; what is missing takes the default of the settings type it
/// becomes (`ValidatedConfiguration`).
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
        /// The admin API's bearer tokens (TOML, `[[token]] name, role, sha256`); without it
        /// only the node's own CLI token (`<data-dir>/admin/local.token`) is accepted.
        public var admin_tokens_file: String?
        /// PEM certificate chain and key: the admin endpoint speaks only TLS when both are set.
        public var admin_tls_certificate_file: String?
        public var admin_tls_key_file: String?
        /// Forwarding stops when a copy would pass this many archiverelay nodes. Default 10.
        public var max_hops: Int?
        /// Threads that run the sessions (SwiftNIO event loops). Default: one per core.
        public var event_loop_threads: Int?
        /// `text`, `json` or `journald`; `serve --log-format` wins. Default: journald when
        /// JOURNAL_STREAM names stderr, else text.
        public var log_format: String?
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
        /// Unwrap Exchange / Microsoft 365 journal reports (`auto`, the default) or archive
        /// them as plain mail (`off`).
        var journal_reports: JournalReports?
    }

    /// `journal_reports` of a listener.
    public enum JournalReports: String, Codable, Sendable {
        case auto
        case off
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
        /// Whether the node keeps the full-text search index up to date (default true).
        public var search_index: Bool?
        /// The key file segments are encrypted with (`EncryptionKeyCheck`); none: plaintext.
        public var encryption_keys_file: String?
        /// `[archive.remote]`: the object-storage tier (`RemoteTierCheck`).
        public var remote: Remote?
    }

    /// `[archive.remote]`: the bucket sealed segments go to (docs/CONFIG.md).
    public struct Remote: Codable, Sendable {
        public var endpoint: String?
        public var region: String?
        public var bucket: String?
        public var prefix: String?
        public var addressing: String?
        public var credentials: String?
        public var credentials_file: String?
        public var credentials_profile: String?
        public var ca_file: String?
        public var request_timeout_seconds: Int?
        public var connect_timeout_seconds: Int?
        public var object_lock: String?
        /// An `Int`, checked for more than 0: TOMLKit traps on a negative value for a `UInt64`.
        public var local_max_bytes: Int?
        public var upload_every_seconds: Int?
    }

    /// `[retention]`: how long archived mail is kept (docs/CONFIG.md).
    public struct RetentionTable: Codable, Sendable {
        /// The period of arrivals no rule takes; "forever" when absent.
        public var `default`: String?
        public var rule: [RetentionRuleEntry]?
        public var expire_every_seconds: Int?
    }

    /// One `[[retention.rule]]`.
    public struct RetentionRuleEntry: Codable, Sendable {
        public var name: String?
        public var keep: String?
        public var senders: [String]?
        public var recipients: [String]?
        public var listeners: [String]?
        public var routes: [String]?
        public var query: String?
    }

    public var node: Node?
    public var listener: [Listener]?
    public var archive: Archive?
    public var retention: RetentionTable?
    var connection: [Connection]?
    var route: [Route]?

    /// The configuration a node runs with when it is given no file: one listener on
    /// 127.0.0.1:2525 for loopback clients (`ListenerConfiguration`'s default), archive
    /// everything under ./data (`NodeSettings`' default).
    public static let embeddedDefault = NodeConfiguration(listener: [Listener(name: "journal", address: "127.0.0.1:2525")])
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
