import ForwardQueue
import NIOCore
import RelayConfiguration
import RouteEngine
import SMTPListener
import Testing

struct ConfigurationCheckTests {
    static let environment = ConfigurationCheck.Environment(hostName: "build-host") { path in
        path.hasPrefix("/missing/") ? "does not exist" : nil
    }

    static let secret = String(repeating: "3c", count: 32)
    static let base = """
        [node]
        id = "node-a"

        [[listener]]
        name = "journal"
        address = "127.0.0.1:2525"

        [[listener]]
        name = "ha"
        address = "0.0.0.0:2625"
        trust_trace = true

        [[connection]]
        name = "peer"
        host = "10.0.0.12"
        port = 2626

        """

    static func errors(_ text: String) -> [String] {
        switch ConfigurationCheck.check(text: text, environment: environment) {
        case .success: return []
        case .failure(let problems): return problems.errors
        }
    }

    static func warnings(_ text: String) -> [String] {
        switch ConfigurationCheck.check(text: text, environment: environment) {
        case .success(let validated): return validated.warnings
        case .failure(let problems): return problems.warnings
        }
    }

    /// Each case: what is added to `base`, and exactly the errors expected (all of them).
    static let cases: [(String, String, [String])] = [
        ("clean", """
            [[route]]
            name = "journal"
            listeners = ["journal"]
            forward = ["peer"]
            """, []),
        ("unknown connection and listener", """
            [[route]]
            name = "journal"
            listeners = ["journal"]
            [[route]]
            name = "ha"
            listeners = ["ha", "hq"]
            forward = ["b", "peer"]
            """, ["route[2] \"ha\": listeners names unknown listener \"hq\"", "route[2] \"ha\": forward names unknown connection \"b\""]),
        ("duplicate names", """
            [[listener]]
            name = "journal"
            address = "127.0.0.1:2527"
            [[connection]]
            name = "peer"
            host = "10.0.0.13"
            [[route]]
            name = "r"
            [[route]]
            name = "r"
            """, ["listener[3] \"journal\": the name is already used by listener[1] \"journal\"",
                  "connection[2] \"peer\": the name is already used by connection[1] \"peer\"",
                  "route[2] \"r\": the name is already used by route[1] \"r\""]),
        ("same port, specific and wildcard", """
            [[listener]]
            name = "again"
            address = "127.0.0.1:2625"
            [[listener]]
            name = "twice"
            address = "127.0.0.1:2525"
            [[listener]]
            name = "v6"
            address = "[::1]:2525"
            """, ["listener[3] \"again\": port 2625 is already taken by listener[2] \"ha\" (0.0.0.0:2625)",
                  "listener[4] \"twice\": port 2525 is already taken by listener[1] \"journal\" (127.0.0.1:2525)"]),
        ("impossible connection limits", """
            [[connection]]
            name = "slow"
            host = "10.0.0.13"
            port = 0
            tls = "maybe"
            max_connections = 0
            queue_limit = -1
            queue_max_bytes = 0
            on_full = "drop"
            min_backoff_seconds = 600
            max_backoff_seconds = 300
            max_retries = -1
            connect_timeout_seconds = 0
            command_timeout_seconds = 0
            data_timeout_seconds = -5
            helo = "two words"
            certificate_file = "/etc/client.pem"
            """, [
                "connection[2] \"slow\": port must be 1 to 65535, got 0",
                "connection[2] \"slow\": tls must be one of \"none\", \"opportunistic\", \"required\", got \"maybe\"",
                "connection[2] \"slow\": certificate_file and key_file go together (a client certificate needs its key)",
                "connection[2] \"slow\": max_connections must be greater than 0, got 0",
                "connection[2] \"slow\": queue_limit must be greater than 0, got -1",
                "connection[2] \"slow\": queue_max_bytes must be greater than 0, got 0",
                "connection[2] \"slow\": on_full must be one of \"tempfail\", \"drop-forward\", got \"drop\"",
                "connection[2] \"slow\": min_backoff_seconds (600) is greater than max_backoff_seconds (300)",
                "connection[2] \"slow\": max_retries must be 0 (for ever) or more, got -1",
                "connection[2] \"slow\": connect_timeout_seconds must be greater than 0, got 0",
                "connection[2] \"slow\": command_timeout_seconds must be greater than 0, got 0",
                "connection[2] \"slow\": data_timeout_seconds must be greater than 0, got -5",
                "connection[2] \"slow\": helo must be a host name without white space, got \"two words\"",
            ]),
        ("missing connection fields", """
            [[connection]]
            port = 25
            """, ["connection[2]: name is required", "connection[2]: host is required"]),
        ("unreadable files", """
            [[connection]]
            name = "tls-peer"
            host = "archive-b.example.com"
            tls = "required"
            ca_file = "/missing/ca.pem"
            certificate_file = "/missing/client.pem"
            key_file = "/etc/archiverelay/client.key"
            [[listener]]
            name = "secure"
            address = "127.0.0.1:2465"
            tls = "implicit"
            certificate_file = "/missing/cert.pem"
            key_file = "/missing/key.pem"
            client_ca_file = "/missing/peers-ca.pem"
            """, ["listener[3] \"secure\": certificate_file /missing/cert.pem: does not exist",
                  "listener[3] \"secure\": key_file /missing/key.pem: does not exist",
                  "listener[3] \"secure\": client_ca_file /missing/peers-ca.pem: does not exist",
                  "connection[2] \"tls-peer\": ca_file /missing/ca.pem: does not exist",
                  "connection[2] \"tls-peer\": certificate_file /missing/client.pem: does not exist"]),
        ("client certificates with optional TLS", """
            [[listener]]
            name = "peers"
            address = "127.0.0.1:2626"
            tls = "starttls"
            certificate_file = "/etc/archiverelay/cert.pem"
            key_file = "/etc/archiverelay/key.pem"
            client_ca_file = "/etc/archiverelay/peers-ca.pem"
            """, ["listener[3] \"peers\": client_ca_file needs tls = \"starttls-required\" or \"implicit\""]),
        ("route values", """
            [[route]]
            name = "drop"
            archive = false
            senders = ["a*@example.com", "<>"]
            recipients = ["<>"]
            ack_after_forward = "all"
            ack_timeout_seconds = 0
            [[route]]
            listeners = ["ha"]
            """, ["route[1] \"drop\": senders: pattern \"a*@example.com\": a wildcard is only allowed as \"*\" or a leading \"*.\"",
                  "route[1] \"drop\": recipients: \"<>\" (the null sender) can only be a sender pattern",
                  "route[1] \"drop\": ack_after_forward must be one of \"none\", \"one\", got \"all\"",
                  "route[1] \"drop\": ack_timeout_seconds must be greater than 0, got 0",
                  "route[1] \"drop\": archive = false and no forward: every message it takes would be accepted and lost",
                  "route[2]: name is required"]),
        ("static loop through an own listener", """
            [[connection]]
            name = "myself"
            host = "127.0.0.1"
            port = 2625
            [[route]]
            name = "journal"
            listeners = ["journal"]
            forward = ["myself"]
            [[route]]
            name = "ha"
            listeners = ["ha"]
            forward = ["peer"]
            """, ["route[1] \"journal\": connection \"myself\" (127.0.0.1:2625) is this node's own listener[2] \"ha\", where route[2] \"ha\" forwards again: a loop"]),
        ("static loop by node id and catch-all route", """
            [[connection]]
            name = "myself"
            host = "NODE-A"
            port = 2525
            [[route]]
            name = "all"
            forward = ["myself"]
            """, ["route[1] \"all\": connection \"myself\" (NODE-A:2525) is this node's own listener[1] \"journal\", where route[1] \"all\" forwards again: a loop"]),
        ("node section", """
            [[route]]
            name = "r"
            [archive]
            compression_level = 22
            segment_max_bytes = 0
            """, ["archive: compression_level must be 1 to 19, got 22", "archive: segment_max_bytes must be greater than 0, got 0"]),
        // TOMLKit traps on a negative integer read as UInt64 (check-config and SIGHUP died).
        ("negative min_free_bytes", """
            [[route]]
            name = "r"
            [archive]
            min_free_bytes = -1
            """, ["archive: min_free_bytes must be 0 or more, got -1"]),
        ("negative inflight_max_bytes", """
            [[route]]
            name = "r"
            [archive]
            inflight_max_bytes = -1
            """, ["archive: inflight_max_bytes must be 0 or more, got -1"]),
        ("durations beyond 30 days", """
            command_timeout_seconds = 10000000000000000
            max_backoff_seconds = 2592001
            [[route]]
            name = "r"
            ack_timeout_seconds = 9223372036854775807
            [[listener]]
            name = "slow"
            address = "127.0.0.1:2999"
            session_timeout_seconds = 10000000000000000
            """, ["listener[3] \"slow\": session_timeout_seconds must be at most 2592000 (30 days), got 10000000000000000",
                  "connection[1] \"peer\": max_backoff_seconds must be at most 2592000 (30 days), got 2592001",
                  "connection[1] \"peer\": command_timeout_seconds must be at most 2592000 (30 days), got 10000000000000000",
                  "route[1] \"r\": ack_timeout_seconds must be at most 2592000 (30 days), got 9223372036854775807"]),
        ("command line length beyond the ceiling", """
            [[listener]]
            name = "wide"
            address = "127.0.0.1:2999"
            max_command_line_length = 100000000000
            """, ["listener[3] \"wide\": max_command_line_length must be at most 65536, got 100000000000"]),
        ("unknown keys", """
            [[route]]
            name = "r"
            recipient = ["journal@example.com"]
            [[listener]]
            name = "x"
            address = "127.0.0.1:2999"
            trust_traces = true
            """, ["listener[3]: unknown key \"trust_traces\"", "route[1]: unknown key \"recipient\""]),
        ("wrong type", """
            [[route]]
            name = "r"
            forward = "peer"
            """, ["route[1].forward: expected an array"]),
        ("not TOML", """
            [[route]
            name = "r"
            """, ["line 17, column 9: not valid TOML: Error while parsing table header: expected ']', saw '\\n'"]),
    ]

    @Test(arguments: cases)
    func reportsEveryProblemWithItsLocation(name: String, addition: String, expected: [String]) {
        #expect(Self.errors(Self.base + addition) == expected, "\(name)")
    }

    @Test(arguments: [
        ("", "[node]\nid = \"a b\"\n", "node: id: \"a b\" is not a node id: 1 to 64 of A-Z a-z 0-9 . _ -"),
        ("bad host", "[node]\nmax_hops = 0\n", "node: id: the host name \"bad host\" (the default id) is not a node id: 1 to 64 of A-Z a-z 0-9 . _ -"),
    ])
    func nodeIDIsChecked(hostName: String, text: String, expected: String) {
        var environment = Self.environment
        environment.hostName = hostName
        guard case .failure(let problems) = ConfigurationCheck.check(text: text, environment: environment) else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(problems.errors.first == expected)
    }

    /// Every `[[listener]]` key lands in the field the listener reads (CONFIG.md's table),
    /// each set to a value of its own so that two keys crossed would show.
    @Test func everyListenerKeyReachesTheListener() throws {
        let text = """
            [[listener]]
            name = "journal"
            address = "[::1]:2525"
            allowed_clients = ["192.0.2.0/24"]
            trusted_proxies = ["198.51.100.7"]
            max_connections = 7
            max_connections_per_client = 3
            max_message_size = 1234567
            max_recipients = 55
            max_command_line_length = 600
            max_text_line_length = 2000
            command_timeout_seconds = 11
            data_timeout_seconds = 12
            session_timeout_seconds = 13
            max_consecutive_errors = 4
            bare_line_endings = "normalize"
            shutdown_grace_seconds = 14
            trust_trace = true
            """
        let validated = try ConfigurationCheck.check(text: text, environment: Self.environment).get()
        let listener = try #require(validated.listeners.first)
        #expect(listener.host == "::1" && listener.port == 2525)
        #expect(listener.allowedClients.map(\.description) == ["192.0.2.0/24"])
        #expect(try listener.trustedProxies.first?.contains(SocketAddress(ipAddress: "198.51.100.7", port: 1)) == true)
        #expect(listener.maximumConnections == 7)
        #expect(listener.maximumConnectionsPerClient == 3)
        #expect(listener.limits.maximumMessageSize == 1_234_567)
        #expect(listener.limits.maximumRecipients == 55)
        #expect(listener.limits.maximumCommandLineLength == 600)
        #expect(listener.limits.maximumTextLineLength == 2000)
        #expect(listener.limits.commandTimeout == .seconds(11))
        #expect(listener.limits.dataTimeout == .seconds(12))
        #expect(listener.limits.sessionTimeout == .seconds(13))
        #expect(listener.limits.maximumConsecutiveErrors == 4)
        #expect(listener.bareLineEndings == .normalize)
        #expect(listener.shutdownGracePeriod == .seconds(14))
        #expect(validated.routing.trustsTrace(onListener: "journal"))
    }

    /// Every `[[connection]]` key lands in the forward queue's `PeerSettings`, each with a
    /// value of its own.
    @Test func everyConnectionKeyReachesThePeerSettings() throws {
        let text = """
            [node]
            id = "node-a"

            [[listener]]
            name = "journal"
            address = "127.0.0.1:2525"

            [[connection]]
            name = "peer"
            host = "10.0.0.12"
            port = 2626
            tls = "required"
            ca_file = "/etc/ssl/peer-ca.pem"
            server_name = "archive-b.example"
            certificate_file = "/etc/ssl/node-a.pem"
            key_file = "/etc/ssl/node-a.key"
            max_connections = 9
            queue_limit = 777
            queue_max_bytes = 123456789
            on_full = "drop-forward"
            min_backoff_seconds = 2
            max_backoff_seconds = 40
            max_retries = 6
            connect_timeout_seconds = 21
            command_timeout_seconds = 22
            data_timeout_seconds = 23
            helo = "relay-a.example"

            [[route]]
            name = "all"
            forward = ["peer"]
            """
        let validated = try ConfigurationCheck.check(text: text, environment: Self.environment).get()
        let peer = try #require(validated.peers.first)
        #expect(peer.name == "peer" && peer.host == "10.0.0.12" && peer.port == 2626)
        #expect(peer.tls == .required)
        #expect(peer.caFile == "/etc/ssl/peer-ca.pem")
        #expect(peer.serverName == "archive-b.example")
        #expect(peer.clientCertificateFile == "/etc/ssl/node-a.pem" && peer.clientKeyFile == "/etc/ssl/node-a.key")
        #expect(peer.maxConnections == 9)
        #expect(peer.queueLimit == 777)
        #expect(peer.queueMaxBytes == 123_456_789)
        #expect(peer.onFull == .dropForward)
        #expect(peer.minBackoff == 2 && peer.maxBackoff == 40)
        #expect(peer.maxRetries == 6)
        #expect(peer.connectTimeout == 21 && peer.commandTimeout == 22 && peer.dataTimeout == 23)
        #expect(peer.heloName == "relay-a.example")
        #expect(peer.problems.isEmpty, "\(peer.problems)")
    }

    /// `trace_secret` / `trace_key_file`: the chain's key in the routing table, or the
    /// problem with it; without one a node in a chain is warned.
    static let traceKeyCases: [(String, [String])] = [
        ("trace_secret = \"\(secret)\"", []),
        ("trace_secret = \"\(String(repeating: "3C", count: 40))\"", []),
        ("trace_key_file = \"/etc/archiverelay/trace.key\"", []),
        ("trace_secret = \"\(String(repeating: "3c", count: 31))\"",
         ["node: trace_secret must be at least 64 hex digits (32 bytes); \(TraceKeyCheckText.howToMake)"]),
        ("trace_secret = \"correct horse battery staple correct horse battery staple\"",
         ["node: trace_secret must be at least 64 hex digits (32 bytes); \(TraceKeyCheckText.howToMake)"]),
        ("trace_key_file = \"/missing/trace.key\"", ["node: trace_key_file /missing/trace.key: does not exist"]),
        ("trace_key_file = \"/etc/archiverelay/short.key\"",
         ["node: trace_key_file /etc/archiverelay/short.key must hold at least 64 hex digits (32 bytes); \(TraceKeyCheckText.howToMake)"]),
        ("trace_secret = \"\(secret)\"\ntrace_key_file = \"/etc/archiverelay/trace.key\"",
         ["node: set trace_secret or trace_key_file, not both"]),
    ]

    static let keyFiles = ConfigurationCheck.Environment(hostName: "build-host", unreadable: environment.unreadable) { path in
        path.hasSuffix("short.key") ? "abcdef\n" : secret + "\n"
    }

    @Test(arguments: traceKeyCases)
    func traceKeyIsChecked(line: String, expected: [String]) throws {
        let text = Self.base.replacingOccurrences(of: "id = \"node-a\"", with: "id = \"node-a\"\n" + line)
        switch ConfigurationCheck.check(text: text, environment: Self.keyFiles) {
        case .success(let validated):
            #expect(expected == [])
            #expect(validated.routing.traceKey?.scope == .chain)
            #expect(validated.routing.traceTrust(onListener: "ha") == .byKey(try #require(validated.routing.traceKey)))
        case .failure(let problems):
            #expect(problems.errors == expected)
        }
    }

    /// A node that forwards or takes copies without a chain key is warned (and told how to
    /// make one); a node alone is not.
    static let noTraceKey = "node: no trace_secret or trace_key_file: peers cannot verify this node's traces, so a trust_trace listener "
        + "honours any trace its allowed clients send; \(TraceKeyCheckText.howToMake) (docs/CONFIG.md)"

    @Test func aChainedNodeWithoutATraceKeyIsWarned() throws {
        let warning = Self.noTraceKey
        let unkeyed = Self.base
        let route = "[[route]]\nname = \"all\"\nforward = [\"peer\"]\n"
        #expect(Self.warnings(unkeyed + route) == [Self.unverifiedPeer, warning])
        let validated = try ConfigurationCheck.check(text: unkeyed + route, environment: Self.environment).get()
        #expect(validated.routing.traceKey == nil && validated.routing.traceTrust(onListener: "ha") == .byListener)
        #expect(validated.routing.traceTrust(onListener: "journal") == .untrusted)
        let alone = "[node]\nid = \"solo\"\n[[listener]]\nname = \"journal\"\naddress = \"127.0.0.1:2525\"\n"
        #expect(Self.warnings(alone) == [])
    }

    @Test func maxHopsMustBePositive() {
        let text = Self.base.replacingOccurrences(of: "id = \"node-a\"", with: "id = \"node-a\"\nmax_hops = 0")
        #expect(Self.errors(text) == ["node: max_hops must be 1 to 100, got 0"])
    }

    /// `admin_hosts` are compared with the Host header's name: a port, brackets or an empty
    /// name would never match and would hide a typo.
    @Test(arguments: [("archive.example.com", true), ("a-1.localdomain", true), ("ARCHIVE", true), ("", false),
                      ("archive.example.com:8025", false), ("[::1]", false), ("-bad.example", false), ("a..b", false),
                      ("a b", false), ("é.example", false)])
    func adminHostsAreHostNames(name: String, valid: Bool) {
        let text = Self.base.replacingOccurrences(of: "id = \"node-a\"", with: "id = \"node-a\"\nadmin_hosts = [\"\(name)\"]")
        let expected = valid ? [] : ["node: admin_hosts: \(name.debugDescription) is not a host name (letters, digits, - and . only; no port)"]
        #expect(Self.errors(text) == expected)
    }

    @Test(arguments: [(0, false), (1, true), (256, true), (257, false), (-3, false)])
    func eventLoopThreadsAreBounded(threads: Int, accepted: Bool) {
        let text = Self.base.replacingOccurrences(of: "id = \"node-a\"", with: "id = \"node-a\"\nevent_loop_threads = \(threads)")
        let expected = accepted ? [] : ["node: event_loop_threads must be 1 to 256, got \(threads)"]
        #expect(Self.errors(text) == expected)
    }

    @Test(arguments: [("json", true), ("text", true), ("journald", true), ("JSON", false), ("xml", false), ("", false)])
    func logFormatIsOneOfThree(format: String, accepted: Bool) {
        let text = Self.base.replacingOccurrences(of: "id = \"node-a\"", with: "id = \"node-a\"\nlog_format = \"\(format)\"")
        let expected = accepted ? [] : ["node: log_format must be one of text, json, journald, got \"\(format)\""]
        #expect(Self.errors(text) == expected)
    }

    /// What every case of `warningCases` gets for `base`'s connection: forwarding off the
    /// machine without a verified certificate (issue 22, finding 10).
    static let unverifiedPeer = "connection[1] \"peer\": tls = \"opportunistic\" (the default) to 10.0.0.12, which is not loopback: "
        + "the peer's certificate is not verified, so anyone on the path can strip STARTTLS or present any certificate, "
        + "read or alter the copies, or answer 250 so they leave the queue undelivered; use tls = \"required\" (with ca_file for a private CA)"

    static let warningCases: [(String, [String])] = [
        ("""
            [[connection]]
            name = "myself"
            host = "localhost"
            port = 2625
            tls = "none"
            ca_file = "/etc/ca.pem"
            [[route]]
            name = "journal"
            listeners = ["journal"]
            forward = ["myself", "myself"]
            ack_after_forward = "one"
            [[route]]
            name = "ha"
            listeners = ["ha"]
            ack_after_forward = "one"
            """, [
                unverifiedPeer,
                "connection[2] \"myself\": ca_file, server_name and certificate_file have no effect with tls = \"none\"",
                "route[1] \"journal\": forward names connection \"myself\" twice",
                "route[2] \"ha\": ack_after_forward = \"one\" has no effect without forward",
                "route[1] \"journal\": connection \"myself\" (localhost:2625) is this node's own listener[2] \"ha\": this node archives its own copy a second time",
                noTraceKey,
            ]),
        ("", [unverifiedPeer, "connection: connections are configured but no route forwards to them (without [[route]] nothing is forwarded)", noTraceKey]),
        // Only `required` verifies the peer; loopback never leaves the machine.
        ("""
            [[connection]]
            name = "plain"
            host = "archive-b.example.com"
            tls = "none"
            [[connection]]
            name = "unverified"
            host = "2001:db8::12"
            tls = "opportunistic"
            [[connection]]
            name = "verified"
            host = "10.0.0.13"
            tls = "required"
            [[connection]]
            name = "local"
            host = "::1"
            port = 2700
            tls = "none"
            [[connection]]
            name = "local-name"
            host = "localhost"
            port = 2701
            [[route]]
            name = "all"
            forward = ["peer", "plain", "unverified", "verified", "local", "local-name"]
            """, [
                unverifiedPeer,
                "connection[2] \"plain\": tls = \"none\" to archive-b.example.com, which is not loopback: copies cross the network "
                    + "in clear text, so anyone on the path can read or alter the copies, or answer 250 so they leave the queue "
                    + "undelivered; use tls = \"required\" (with ca_file for a private CA)",
                "connection[3] \"unverified\": tls = \"opportunistic\" to 2001:db8::12, which is not loopback: the peer's certificate "
                    + "is not verified, so anyone on the path can strip STARTTLS or present any certificate, read or alter the copies, "
                    + "or answer 250 so they leave the queue undelivered; use tls = \"required\" (with ca_file for a private CA)",
                noTraceKey,
            ]),
        ("""
            [[listener]]
            name = "open"
            address = "127.0.0.1:2700"
            allowed_clients = ["0.0.0.0/0", "10.0.0.0/8", "::/0"]
            trusted_proxies = ["192.0.2.5", "0.0.0.0/0"]
            [[route]]
            name = "r"
            forward = ["peer"]
            """, [
                "listener[3] \"open\": allowed_clients \"0.0.0.0/0\" admits every address: anyone who reaches the port has mail "
                    + "archived (and forwarded where routes say); list the networks of the servers that journal here",
                "listener[3] \"open\": allowed_clients \"::/0\" admits every address: anyone who reaches the port has mail "
                    + "archived (and forwarded where routes say); list the networks of the servers that journal here",
                "listener[3] \"open\": trusted_proxies \"0.0.0.0/0\" trusts every peer's PROXY header: any client can claim any "
                    + "address and so pass allowed_clients; list only the proxies' own addresses",
                unverifiedPeer,
                noTraceKey,
            ]),
    ]

    /// Without TLS, the admin endpoint anywhere but loopback sends tokens and mail in clear: a warning.
    @Test(arguments: [("0.0.0.0:8025", true), ("192.0.2.1:8025", true), ("[::]:8025", true), ("127.0.0.1:8025", false),
                      ("127.1.2.3:8025", false), ("[::1]:8025", false), ("localhost:8025", false)])
    func adminOffLoopbackIsAWarning(admin: String, warned: Bool) {
        let text = Self.base.replacingOccurrences(of: "id = \"node-a\"", with: "id = \"node-a\"\nadmin = \"\(admin)\"")
            + "[[route]]\nname = \"r\"\nforward = [\"peer\"]\n"
        let expected = warned ? ["node: admin \(admin) is not a loopback address and the admin endpoint has no TLS: "
            + "bearer tokens and archived mail cross the network in clear; set admin_tls_certificate_file and "
            + "admin_tls_key_file, or bind it to 127.0.0.1 or [::1]"] : []
        #expect(Self.errors(text) == [])
        #expect(Self.warnings(text) == expected + [Self.unverifiedPeer, Self.noTraceKey])
    }

    /// A session buffers a command line whole, so its limit has a ceiling.
    @Test(arguments: [("65536", nil), ("65537", "must be at most 65536, got 65537"),
                      ("1e11", "not of the expected type")])
    func commandLineLengthIsBounded(value: String, problem: String?) {
        let text = Self.base + "[[listener]]\nname = \"wide\"\naddress = \"127.0.0.1:2999\"\nmax_command_line_length = \(value)\n"
        let errors = Self.errors(text)
        if let problem {
            #expect(errors.count == 1 && errors.allSatisfy { $0.contains(problem) }, "\(errors)")
        } else {
            #expect(errors == [])
        }
    }

    @Test(arguments: warningCases)
    func warningsDoNotFailTheCheck(addition: String, expected: [String]) {
        #expect(Self.errors(Self.base + addition) == [])
        #expect(Self.warnings(Self.base + addition) == expected)
    }
}

/// The advice every trace key message ends with.
enum TraceKeyCheckText {
    static let howToMake = "make one with `openssl rand -hex 32` and give every node of the chain the same"
}
