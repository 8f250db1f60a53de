import AdminEndpoint
import ArchiveStore
import AuditTrail
import Dispatch
import DurableFiles
import ForwardQueue
import Foundation
import Logging
import RelayConfiguration
import RelayPipeline
import SMTPListener
import ServiceNotify

/// The command-line flags of `serve` that override the file; applied again on reload.
struct ConfigurationOverrides: Sendable {
    var dataDir: String?
    var admin: String?
    var nodeID: String?
    var listen: String?

    func apply(to configuration: inout NodeConfiguration) {
        var node = configuration.node ?? NodeConfiguration.Node()
        if let dataDir { node.data_dir = dataDir }
        if let admin { node.admin = admin }
        if let nodeID { node.id = nodeID }
        configuration.node = node
        if let listen {
            if var listeners = configuration.listener, !listeners.isEmpty {
                listeners[0].address = listen
                configuration.listener = listeners
            } else {
                configuration.listener = [.init(name: "journal", address: listen)]
            }
        }
    }

    /// Reads, overrides and checks a file: what `serve` runs with, or every problem.
    func load(path: String) -> Result<ValidatedConfiguration, ConfigurationProblems> {
        ConfigurationCheck.load(path: path) { apply(to: &$0) }
    }
}

/// `kill -HUP`: re-reads the configuration file and swaps in its routes and connections,
/// without touching sessions, and reads the TLS files of every listener and connection
/// again (a renewed certificate), and the archive's encryption keys (a new key encrypts from
/// the next segment on). A file that does not check keeps the running
/// configuration, and the log says why. Listeners, the archive, the node id and the admin
/// address are read at start only; a reload that changes them applies the rest and says so.
/// Each reload, applied or refused, is recorded in the audit log (`config.reload`, actor `node`),
/// and told to a service manager (RELOADING=1, then READY=1 with the outcome as STATUS).
final class ConfigurationReloader: @unchecked Sendable {
    private let path: String
    private let overrides: ConfigurationOverrides
    private let node: RoutingState
    private let queue: ForwardQueue
    private let expiry: ExpiryService?
    private let adminTokens: AdminTokenRing
    /// The ring the archive writes and reads with.
    private let archiveKeys: ArchiveKeys
    private let logger: Logger
    private let audit: any AuditRecorder
    private let notifier: ServiceNotifier?
    private let startFingerprint: String
    private var source: (any DispatchSourceSignal)?
    /// The running listeners, once bound (`attach`); read on the signal handler's queue.
    private let listeners = LockedValue<[SMTPServer]>([])

    init(path: String, overrides: ConfigurationOverrides, running: ValidatedConfiguration, node: RoutingState,
         queue: ForwardQueue, adminTokens: AdminTokenRing, archiveKeys: ArchiveKeys, expiry: ExpiryService? = nil, audit: any AuditRecorder,
         notifier: ServiceNotifier? = nil, logger: Logger) {
        self.path = path
        self.archiveKeys = archiveKeys
        self.expiry = expiry
        self.overrides = overrides
        self.node = node
        self.queue = queue
        self.adminTokens = adminTokens
        self.logger = logger
        self.audit = audit
        self.notifier = notifier
        self.startFingerprint = running.restartFingerprint
    }

    func start() {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        source.setEventHandler { [self] in reload() }
        source.resume()
        self.source = source
    }

    /// The listeners whose certificates a reload reads again.
    func attach(_ servers: [SMTPServer]) {
        listeners.withLock { $0 = servers }
    }

    func reload() {
        notifier?.reloading(status: "reloading \(path)")
        let outcome = apply()
        notifier?.reloaded(status: outcome)
    }

    /// One reload; returns its outcome in a few words for the service manager's STATUS.
    private func apply() -> String {
        switch overrides.load(path: path) {
        case .failure(let problems):
            recordReload(["result": "refused"])
            logger.error("reload refused; the running configuration stays",
                         metadata: ["file": "\(path)", "problems": "\(problems.errors)"])
            return "reload refused (\(problems.errors.count) problems in \(path)); running configuration kept"
        case .success(var validated):
            let needsRestart = validated.restartFingerprint != startFingerprint
            validated.keepNodeID(node.routing.nodeID)
            do {
                try queue.configure(peers: validated.peers)
            } catch {
                recordReload(["result": "refused"])
                logger.error("reload refused; the running configuration stays", metadata: ["file": "\(path)", "error": "\(error)"])
                return "reload refused (connections: \(error)); running configuration kept"
            }
            let routing = validated.routing
            node.replace(routing: routing)
            expiry?.replace(validated.retention)
            adminTokens.replaceFileTokens(AdminToken.fromFile(validated.node.adminTokens))
            archiveKeys.replace(with: validated.archive.keys.ring)
            if needsRestart {
                logger.warning("reload: listener, archive, node id, admin, event loop thread or log format changes need a restart; routes and connections were applied",
                               metadata: ["file": "\(path)"])
            }
            reloadCertificates()
            queue.reloadCertificates()
            recordReload(needsRestart ? ["result": "applied", "restart_needed": "true"] : ["result": "applied"])
            logger.notice("configuration reloaded", metadata: [
                "file": "\(path)", "routes": "\(routing.routes.map(\.name))", "connections": "\(validated.peers.map(\.name))",
                "admin_tokens": "\(validated.node.adminTokens.map(\.name))",
                "archive_key_ids": "\(validated.archive.keys.ring.ids)",
            ])
            return needsRestart ? "configuration reloaded; some changes need a restart" : "configuration reloaded"
        }
    }

    /// The reload has happened (or was refused) by the time it is recorded: a log that
    /// cannot take the entry is an error in the node's log, not a reason to undo it.
    private func recordReload(_ outcome: [String: String]) {
        do {
            try audit.record(AuditEntry(actor: AuditActor.node, action: "config.reload", arguments: outcome.merging(["file": path]) { $1 }))
        } catch {
            logger.error("config.reload not recorded in the audit log", metadata: ["error": "\(error)"])
        }
    }

    /// Each TLS listener's certificate and key, read again; a pair that does not load
    /// leaves that listener's current certificate in place.
    private func reloadCertificates() {
        for server in listeners.withLock({ $0 }) {
            let name = server.configuration.name
            do {
                if try server.reloadCertificate() {
                    logger.notice("TLS certificate reloaded", metadata: ["listener": "\(name)",
                                                                         "file": "\(server.configuration.certificateFile ?? "")"])
                }
            } catch {
                logger.error("TLS certificate not reloaded; the listener keeps the one it has",
                             metadata: ["listener": "\(name)", "error": "\(error)"])
            }
        }
    }

}
