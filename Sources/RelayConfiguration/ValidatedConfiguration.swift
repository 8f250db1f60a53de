import ArchiveStore
import ForwardQueue
import Governance
import LogFormats
import NIOCore
import RouteEngine
import SMTPListener

/// A configuration that passed every check: each component's own settings type, ready to
/// build the node with. A value, so a reload (SIGHUP) can build a new one beside the
/// running one and swap it in only if it is good.
public struct ValidatedConfiguration: Sendable {
    public var node: NodeSettings
    public var listeners: [ListenerConfiguration]
    /// The `[[connection]]` peers, in file order; a peer whose connection names no `helo`
    /// greets with the node id.
    public private(set) var peers: [PeerSettings]
    public var archive: ArchiveStoreOptions
    public var routing: RoutingTable
    /// `[retention]`: what the expiry planner applies.
    public var retention: RetentionPolicy
    /// `[archive.remote]`: the object-storage tier; nil when the node keeps segments locally only.
    public var remote: RemoteTierSettings?
    public var warnings: [String]
    /// Peers that greet with the node id because their connection names no `helo`.
    private var greetingWithNodeID: Set<String>

    init(node: NodeSettings, listeners: [ListenerConfiguration], peers: [PeerSettings], archive: ArchiveStoreOptions,
         routing: RoutingTable, retention: RetentionPolicy, remote: RemoteTierSettings? = nil, warnings: [String]) {
        self.node = node
        self.remote = remote
        self.listeners = listeners
        self.peers = peers
        self.archive = archive
        self.routing = routing
        self.retention = retention
        self.warnings = warnings
        self.greetingWithNodeID = Set(peers.filter { $0.heloName == nil }.map(\.name))
        keepNodeID(routing.nodeID)
    }

    /// Runs under `nodeID` instead of the file's: a reload keeps the id the node started
    /// with (a new one needs a restart), in its routing and in the peers' default greeting.
    public mutating func keepNodeID(_ nodeID: NodeID) {
        routing.nodeID = nodeID
        for index in peers.indices where greetingWithNodeID.contains(peers[index].name) {
            peers[index].heloName = nodeID.value
        }
    }

    /// What only a restart applies (listeners, data directory, admin, node id, event loop
    /// threads, archive and its object-storage tier), as text to compare across a reload. A listener's TLS files are
    /// read again on reload, at the paths it started with, so those paths count.
    public var restartFingerprint: String {
        let listeners = listeners.map { "\($0.name)=\($0.host):\($0.port),\($0.tlsMode),\($0.certificateFile ?? ""),\($0.privateKeyFile ?? "")" }
        return "\(listeners)|\(node.dataDirectory)|\(node.adminAddress),\(node.adminTLS.map { "\($0.certificateFile),\($0.keyFile)" } ?? "")|\(routing.nodeID)|\(node.eventLoopThreads)|\(node.logFormat?.rawValue ?? "")|"
            + "\(archive.compressionLevel),\(archive.maxSegmentBytes),\(archive.maxSegmentAge),\(archive.minimumFreeBytes),\(archive.maxInflightBytes),\(archive.searchIndex)|"
            + "\(remote.map { "\($0)" } ?? "")"
    }
}

/// `[node]` as the executable runs it. The node id, `max_hops` and the trace key are the
/// routing table's (`ValidatedConfiguration.routing`).
public struct NodeSettings: Sendable, Equatable {
    /// The archive lives in `<dataDirectory>/archive/`, the queue beside it.
    public var dataDirectory = "./data"
    /// `HOST:PORT` of the admin HTTP endpoint (metrics, health, queue). Keep it on loopback.
    public var adminAddress = "127.0.0.1:8025"
    /// Host names (besides IP addresses and `localhost`) the admin endpoint answers to:
    /// a request naming another host is refused (DNS rebinding).
    public var adminHostNames: [String] = []
    /// `admin_tokens_file`'s tokens, read and checked at load (and at each reload).
    public var adminTokens: [AdminTokenEntry] = []
    /// The admin endpoint's certificate and key files when it serves TLS.
    public var adminTLS: AdminTLSFiles?
    /// Threads that run every session, forwarding client and the admin endpoint (SwiftNIO
    /// event loops). One per core, SwiftNIO's own default; on a machine the node shares
    /// with its clients, one fewer does better (docs/CONFIG.md).
    public var eventLoopThreads = System.coreCount
    /// How `serve` writes its log when `--log-format` does not say; nil: `LogFormat.automatic()`.
    public var logFormat: LogFormat?

    /// What `event_loop_threads` may be.
    static let eventLoopThreadRange = 1...256

    public init() {}

    /// The `[node]` table's values over the defaults; unchecked (`ConfigurationCheck` checks).
    init(_ entry: NodeConfiguration.Node?) {
        if let dataDirectory = entry?.data_dir { self.dataDirectory = dataDirectory }
        if let admin = entry?.admin { adminAddress = admin }
        if let hosts = entry?.admin_hosts { adminHostNames = hosts }
        if let certificate = entry?.admin_tls_certificate_file, let key = entry?.admin_tls_key_file {
            adminTLS = AdminTLSFiles(certificateFile: certificate, keyFile: key)
        }
        if let threads = entry?.event_loop_threads { eventLoopThreads = threads }
        logFormat = entry?.log_format.flatMap(LogFormat.init(rawValue:))
    }
}
