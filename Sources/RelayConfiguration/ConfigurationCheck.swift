import ArchiveStore
import ForwardQueue
import Foundation
import Governance
import LogFormats
import RouteEngine
import SMTPListener

/// Every check `archiverelay check-config` makes, and `serve` (at start and on reload).
public enum ConfigurationCheck {
    /// What the checks need from the machine, replaceable in tests.
    public struct Environment: Sendable {
        public var hostName: String
        /// nil when the file can be read, else why not.
        public var unreadable: @Sendable (String) -> String?
        /// A small file's text (`trace_key_file`), nil when it cannot be read.
        public var contents: @Sendable (String) -> String?
        /// True when every user of the machine may read the file (a secret's file should not be).
        public var worldReadable: @Sendable (String) -> Bool
        /// True when users other than its owner may read the file (its group, or everyone).
        public var sharedReadable: @Sendable (String) -> Bool

        public init(hostName: String, unreadable: @escaping @Sendable (String) -> String?,
                    contents: @escaping @Sendable (String) -> String? = Environment.readText,
                    worldReadable: @escaping @Sendable (String) -> Bool = Environment.isWorldReadable,
                    sharedReadable: @escaping @Sendable (String) -> Bool = Environment.isSharedReadable) {
            self.hostName = hostName
            self.unreadable = unreadable
            self.contents = contents
            self.worldReadable = worldReadable
            self.sharedReadable = sharedReadable
        }

        @Sendable public static func isWorldReadable(_ path: String) -> Bool {
            guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int else { return false }
            return mode & 0o004 != 0
        }

        @Sendable public static func isSharedReadable(_ path: String) -> Bool {
            guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int else { return false }
            return mode & 0o044 != 0
        }

        /// This machine's host name; a file's readability as `access(2)` and `stat(2)` see it
        /// (nothing is opened).
        public static let system = Environment(hostName: ProcessInfo.processInfo.hostName) { path in
            FileManager.default.isReadableFile(atPath: path) ? nil : (FileManager.default.fileExists(atPath: path) ? "not readable" : "does not exist")
        }

        @Sendable public static func readText(_ path: String) -> String? {
            try? String(contentsOfFile: path, encoding: .utf8)
        }
    }

    /// Reads, decodes and checks a file: the configuration to run, or every problem found.
    /// `adjust` changes the decoded file before the checks (`serve`'s command-line flags).
    public static func load(path: String, environment: Environment = .system,
                            adjust: (inout NodeConfiguration) -> Void = { _ in }) -> Result<ValidatedConfiguration, ConfigurationProblems> {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            var problems = ConfigurationProblems()
            problems.error(path, "cannot read the file: \(error.localizedDescription)")
            return .failure(problems)
        }
        return check(text: text, environment: environment, adjust: adjust)
    }

    public static func check(text: String, environment: Environment = .system,
                             adjust: (inout NodeConfiguration) -> Void = { _ in }) -> Result<ValidatedConfiguration, ConfigurationProblems> {
        let (decoded, problems) = ConfigurationFile.decode(text)
        guard var configuration = decoded else { return .failure(problems) }
        adjust(&configuration)
        switch validate(configuration, environment: environment) {
        case .success(let validated) where problems.isEmpty:
            return .success(validated)
        case .success(let validated):
            var all = problems
            all.warnings += validated.warnings
            return .failure(all)
        case .failure(let more):
            var all = problems
            all.merge(more)
            return .failure(all)
        }
    }

    public static func validate(_ configuration: NodeConfiguration, environment: Environment = .system)
        -> Result<ValidatedConfiguration, ConfigurationProblems> {
        var problems = ConfigurationProblems()
        var node = NodeSettings(configuration.node)
        let nodeID = checkNode(configuration.node, node, hostName: environment.hostName, problems: &problems)
        var archive = ArchiveCheck.options(configuration.archive, problems: &problems)
        archive.keys = ArchiveKeys(EncryptionKeyCheck.check(configuration.archive, environment: environment, problems: &problems))
        let listeners = checkListeners(configuration, environment: environment, problems: &problems)

        let connectionEntries = configuration.connection ?? []
        problems.duplicates(connectionEntries.enumerated().map { ($0, $1.name) }, table: "connection")
        var peers: [PeerSettings] = []
        for (index, entry) in connectionEntries.enumerated() {
            let at = NodeConfiguration.location("connection", index, entry.name)
            guard let peer = ConnectionCheck.peer(entry, at: at, problems: &problems) else { continue }
            peers.append(peer)
            for file in ConnectionCheck.files(of: peer) {
                if let why = environment.unreadable(file.path) { problems.error(at, "\(file.key) \(file.path): \(why)") }
            }
        }

        let listenerNames = Set((configuration.listener ?? []).map(\.name))
        let (routes, routeProblems) = RouteConfiguration.validate(
            configuration.route ?? [], listeners: listenerNames, connections: Set(connectionEntries.compactMap(\.name)))
        problems.merge(routeProblems)
        let retention = RetentionCheck.policy(configuration.retention, listeners: listenerNames,
                                              routeNames: Set((configuration.route ?? []).compactMap(\.name)), configured: routes,
                                              searchIndex: archive.searchIndex, problems: &problems)
        let local = (configuration.listener ?? []).enumerated().compactMap { index, entry in
            HostPort.parse(entry.address).map { StaticLoopCheck.LocalListener(index: index, name: entry.name, host: $0.0, port: $0.1) }
        }
        problems.merge(StaticLoopCheck.check(
            routes: configuration.route ?? [], peers: peers, listeners: local,
            localNames: Set([environment.hostName.lowercased(), (nodeID?.value ?? "").lowercased()])))
        if !peers.isEmpty, (configuration.route ?? []).isEmpty {
            problems.warning("connection", "connections are configured but no route forwards to them (without [[route]] nothing is forwarded)")
        }
        let trusting = Set((configuration.listener ?? []).filter { $0.trust_trace ?? false }.map(\.name))
        let traceKey = TraceKeyCheck.check(configuration.node, chained: !peers.isEmpty || !trusting.isEmpty,
                                           environment: environment, problems: &problems)
        node.adminTokens = AdminTokenCheck.check(configuration.node, environment: environment, problems: &problems)
        AdminTLSCheck.check(configuration.node, environment: environment, problems: &problems)
        let remote = RemoteTierCheck.settings(configuration.archive?.remote, nodeID: nodeID?.value ?? "",
                                              environment: environment, problems: &problems)

        guard problems.isEmpty, let nodeID else { return .failure(problems) }
        let plainOnly = Set((configuration.listener ?? []).filter { $0.journal_reports == .off }.map(\.name))
        let routing = RoutingTable(nodeID: nodeID, routes: routes, traceTrustingListeners: trusting,
                                   maxHops: configuration.node?.max_hops ?? RoutingTable.defaultMaxHops, traceKey: traceKey,
                                   journalReportsOff: plainOnly)
        return .success(ValidatedConfiguration(node: node, listeners: listeners, peers: peers, archive: archive,
                                               routing: routing, retention: retention, remote: remote, warnings: problems.warnings))
    }

    private static func checkNode(_ entry: NodeConfiguration.Node?, _ node: NodeSettings, hostName: String,
                                  problems: inout ConfigurationProblems) -> NodeID? {
        let idText = entry?.id ?? hostName
        let nodeID = NodeID(idText)
        if nodeID == nil {
            let source = entry?.id == nil ? "the host name \"\(idText)\" (the default id)" : "\"\(idText)\""
            problems.error("node", "id: \(source) is not a node id: 1 to \(NodeID.maximumLength) of A-Z a-z 0-9 . _ -")
        }
        if let hops = entry?.max_hops, !(1...100).contains(hops) {
            problems.error("node", "max_hops must be 1 to 100, got \(hops)")
        }
        if let threads = entry?.event_loop_threads, !NodeSettings.eventLoopThreadRange.contains(threads) {
            let range = NodeSettings.eventLoopThreadRange
            problems.error("node", "event_loop_threads must be \(range.lowerBound) to \(range.upperBound), got \(threads)")
        }
        if let format = entry?.log_format, LogFormat(rawValue: format) == nil {
            let formats = LogFormat.allCases.map(\.rawValue).joined(separator: ", ")
            problems.error("node", "log_format must be one of \(formats), got \"\(format)\"")
        }
        if let admin = HostPort.parse(node.adminAddress) {
            if !HostPort.isLoopback(admin.0) {
                if node.adminTLS == nil {
                    problems.warning("node", "admin \(node.adminAddress) is not a loopback address and the admin endpoint has no "
                        + "TLS: bearer tokens and archived mail cross the network in clear; set admin_tls_certificate_file and "
                        + "admin_tls_key_file, or bind it to 127.0.0.1 or [::1]")
                }
            }
        } else {
            problems.error("node", "admin must be HOST:PORT, got \(node.adminAddress)")
        }
        // The admin endpoint compares the Host header's name with these (no port, no brackets).
        for name in node.adminHostNames where !Self.isHostName(name) {
            problems.error("node", "admin_hosts: \(name.debugDescription) is not a host name (letters, digits, - and . only; no port)")
        }
        return nodeID
    }

    static func isHostName(_ name: String) -> Bool {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return !name.isEmpty && name.utf8.count <= 253 && labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }

    private static func checkListeners(_ configuration: NodeConfiguration, environment: Environment,
                                       problems: inout ConfigurationProblems) -> [ListenerConfiguration] {
        let entries = configuration.listener ?? []
        problems.duplicates(entries.enumerated().map { ($0, $1.name) }, table: "listener")
        for (index, entry) in entries.enumerated() {
            let at = NodeConfiguration.location("listener", index, entry.name)
            for (key, path) in [("certificate_file", entry.certificate_file), ("key_file", entry.key_file), ("client_ca_file", entry.client_ca_file)] {
                if let path, let why = environment.unreadable(path) { problems.error(at, "\(key) \(path): \(why)") }
            }
            warnOfEveryAddress(entry, at: at, problems: &problems)
        }
        return ListenerCheck.listeners(configuration, problems: &problems)
    }

    /// A network of every address (`0.0.0.0/0`, `::/0`) in a listener's allowlist or proxy
    /// list: legal, and almost never meant.
    private static func warnOfEveryAddress(_ entry: NodeConfiguration.Listener, at: String, problems: inout ConfigurationProblems) {
        for text in entry.allowed_clients ?? [] where ClientNetwork(text)?.prefixLength == 0 {
            problems.warning(at, "allowed_clients \"\(text)\" admits every address: anyone who reaches the port has mail archived "
                + "(and forwarded where routes say); list the networks of the servers that journal here")
        }
        for text in entry.trusted_proxies ?? [] where ClientNetwork(text)?.prefixLength == 0 {
            problems.warning(at, "trusted_proxies \"\(text)\" trusts every peer's PROXY header: any client can claim any address "
                + "and so pass allowed_clients; list only the proxies' own addresses")
        }
    }
}

extension ConfigurationProblems: Error {}
