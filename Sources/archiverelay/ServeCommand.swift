import AdminEndpoint
import ArchiveStore
import ArchiveTier
import ArgumentParser
import AuditTrail
import DurableFiles
import ForwardQueue
import Foundation
import LogFormats
import Logging
import Metrics
import NIOCore
import NIOPosix
import NIOSSL
import OperatorText
import Prometheus
import RelayConfiguration
import RelayPipeline
import SMTPListener
import ServiceLifecycle
import ServiceNotify

/// `archiverelay serve`: runs a node until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a node: the SMTP listeners, the archive and the admin endpoint.",
        discussion: "Without --config the embedded default runs: one listener on 127.0.0.1:2525 for loopback clients, the archive under ./data, admin HTTP on 127.0.0.1:8025."
    )

    @Option(help: "The node's TOML configuration (docs/CONFIG.md).") var config: String?
    @Option(help: "Address of the first listener, HOST:PORT (overrides the configuration).") var listen: String?
    @Option(name: .customLong("data-dir"), help: "Where the archive lives (overrides the configuration).") var dataDir: String?
    @Option(help: "Admin HTTP address, HOST:PORT (overrides the configuration).") var admin: String?
    @Option(name: .customLong("node-id"), help: "This node's id (overrides the configuration).") var nodeID: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String = "info"
    @Option(name: .customLong("log-format"),
            help: "text, json (one object per line) or journald (<N> priority prefixes). Default: journald when JOURNAL_STREAM names stderr, else text.")
    var logFormat: LogFormat?

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--log-level must be one of \(levels), got '\(TerminalText.escape(logLevel))'")
        }
    }

    func run() async throws {
        // Before anything is created: the archive and the queue hold every envelope.
        FilePermissions.restrictProcessUmask()
        let overrides = ConfigurationOverrides(dataDir: dataDir, admin: admin, nodeID: nodeID, listen: listen)
        let checked: Result<ValidatedConfiguration, ConfigurationProblems>
        if let config {
            checked = overrides.load(path: config)
        } else {
            var configuration = NodeConfiguration.embeddedDefault
            overrides.apply(to: &configuration)
            checked = ConfigurationCheck.validate(configuration)
        }
        let validated: ValidatedConfiguration
        switch checked {
        case .success(let v): validated = v
        case .failure(let problems):
            throw ValidationError(TerminalText(lines: ConfigurationError(path: config, problems: problems.errors).description).description)
        }
        let settings = validated.node
        // Before anything touches the event loop group: NIO sizes it on first use.
        NIOSingletons.groupLoopCountSuggestion = settings.eventLoopThreads
        let listeners = validated.listeners
        let ownID = validated.routing.nodeID.value
        let routing = RoutingState(routing: validated.routing)
        guard let (adminHost, adminPort) = HostPort.parse(settings.adminAddress) else {
            throw ValidationError("admin address must be HOST:PORT, got \(TerminalText.escape(settings.adminAddress))")
        }

        let level = Logger.Level(rawValue: logLevel) ?? .info  // validate() refused anything else
        let format = logFormat ?? settings.logFormat ?? LogFormat.automatic()
        LoggingSystem.bootstrap { label in format.makeHandler(label: label, level: level) }
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A durable append takes a fraction of a millisecond; swift-prometheus's default
        // buckets start at 5 ms and would put nearly every append in the first one.
        factory.durationHistogramBuckets["archive_append_duration"] = ArchiveMetrics.appendDurationBuckets
        MetricsSystem.bootstrap(factory)
        var logger = Logger(label: "archiverelay")
        logger[metadataKey: "node"] = "\(ownID)"
        logger.info("starting", metadata: ["event_loop_threads": "\(settings.eventLoopThreads)"])
        OpenFileLimit.raise(forSessions: listeners.reduce(0) { $0 + $1.maximumConnections }, logger: logger)

        try DataDirectory.prepare(settings.dataDirectory)
        let audit = try AuditLog(dataDirectory: URL(fileURLWithPath: settings.dataDirectory))
        var archiveOptions = validated.archive
        archiveOptions.audit = audit
        archiveOptions.expiryStepHook = ExpiryService.crashHook()
        // The floor beside the free space, so an alert can compare the two (examples/monitoring).
        Gauge(label: "archive_min_free_bytes").record(archiveOptions.minimumFreeBytes)
        // Evicted segments are read from the bucket, by the node as by the archive commands.
        let bucketReads = validated.remote.map { BucketSegmentSource(configuration: $0.bucket) }
        archiveOptions.remoteSegments = bucketReads
        if let keys = validated.archive.keys.ring.writingKey {
            logger.info("archive segments are encrypted", metadata: ["key_id": "\(keys.id)", "key_ids": "\(validated.archive.keys.ring.ids)"])
        }
        let store = try await ArchiveStore.open(dataDirectory: settings.dataDirectory, options: archiveOptions, logger: logger)
        let queue = try await ForwardQueue.open(dataDirectory: settings.dataDirectory, peers: validated.peers, archive: store,
                                                nodeID: ownID, logger: logger)
        // Before any listener: from here on the queue takes the promise of every new record.
        let receiver = RelayReceiver(store: store, queue: queue, routing: routing, logger: logger)
        let expiry = ExpiryService(store: store, queue: queue, dataDirectory: settings.dataDirectory, policy: validated.retention, logger: logger)
        let adminTokens = AdminTokenRing(AdminTokenSet(tokens: AdminToken.fromFile(settings.adminTokens),
                                                       local: try LocalAdminToken.create(dataDirectory: settings.dataDirectory)))
        let notifier = ServiceNotifier(logger: logger)
        let reload = config.map {
            ConfigurationReloader(path: $0, overrides: overrides, running: validated, node: routing, queue: queue, adminTokens: adminTokens,
                                  archiveKeys: store.options.keys, expiry: expiry, audit: audit, notifier: notifier, logger: logger)
        }
        reload?.start()

        var services: [any Service] = []
        var servers: [SMTPServer] = []
        for listener in listeners {
            servers.append(try await SMTPServer.bind(configuration: listener, hostname: ownID,
                                                     receiver: receiver, logger: logger))
        }
        reload?.attach(servers)
        services += servers as [any Service]
        services.append(ForwardQueueService(queue: queue))
        services.append(expiry)
        services.append(DigestGauge(dataDirectory: settings.dataDirectory, logger: logger))
        if let remote = validated.remote {
            services.append(RemoteTierService(settings: remote, dataDirectory: settings.dataDirectory, store: store, expiry: expiry, logger: logger))
        }
        let adminSettings = AdminEndpointSettings(host: adminHost, port: adminPort, policy: AdminAccessPolicy(allowedHostNames: settings.adminHostNames),
                                                  tls: try settings.adminTLS.map(Self.adminTLS))
        services.append(try await AdminServer(settings: adminSettings, tokens: adminTokens, registry: registry, store: store, queue: queue,
                                              expiry: expiry, dataDirectory: settings.dataDirectory, audit: audit, logger: logger))
        if notifier.isActive {
            // Last: graceful shutdown goes through the services from the end, so STOPPING=1 goes out first.
            let watchdog = WatchdogSettings(environment: ProcessInfo.processInfo.environment, pid: getpid())
            let addresses = servers.map { "\($0.configuration.name) \($0.localAddress.hostAndPort)" }.joined(separator: ", ")
            services.append(ServiceManagerService(notifier: notifier, watchdog: watchdog,
                                                  liveness: NodeLiveness(loops: MultiThreadedEventLoopGroup.singleton, store: store),
                                                  readyStatus: "accepting mail on \(addresses); archive open"))
        }

        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("node stopped on error", metadata: ["error": "\(error)"])
        }
        receiver.disconnect()
        await queue.close()
        try await store.close()
        logger.info("node stopped")
    }
}

extension LogFormat: ExpressibleByArgument {}

extension ServeCommand {
    /// The admin endpoint's TLS server configuration from its PEM files.
    static func adminTLS(_ files: AdminTLSFiles) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        } catch {
            throw ValidationError("admin TLS: cannot load \(files.certificateFile) and \(files.keyFile): \(error)")
        }
    }
}

/// Runs the forward queue's deliveries in the service group until graceful shutdown.
struct ForwardQueueService: Service {
    let queue: ForwardQueue

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await queue.run() }
    }
}
