import Logging
import MessageIntake
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SessionTransport

/// One SMTP listener as a swift-service-lifecycle `Service`: it accepts connections until
/// graceful shutdown, then stops accepting, ends idle sessions with 421 4.3.2 and lets
/// sessions inside a transaction finish until the grace period runs out.
public final class SMTPServer: Service, Sendable {
    public let configuration: ListenerConfiguration
    /// The address actually bound (with the real port when the configuration asked for 0).
    public let localAddress: SocketAddress
    private let serverChannel: any Channel
    private let context: SMTPConnection.Context
    private let registry: ConnectionRegistry
    private let launcher: SessionLauncher

    /// Binds the listener's socket. Serving starts with `run()`.
    public static func bind(
        configuration: ListenerConfiguration, hostname: String, receiver: any MessageReceiver,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) async throws -> SMTPServer {
        let tls = try TLSContextFactory.makeServerContext(configuration).map(ListenerTLS.init)
        let registry = ConnectionRegistry(
            maximumConnections: configuration.maximumConnections,
            maximumPerClient: configuration.maximumConnectionsPerClient)
        var logger = logger
        logger[metadataKey: "listener"] = "\(configuration.name)"
        let context = SMTPConnection.Context(
            configuration: configuration, hostname: hostname, receiver: receiver, tls: tls,
            registry: registry, metrics: ListenerMetrics(listener: configuration.name), logger: logger)
        let trusted = configuration.trustedProxies
        let checkInterval = SessionInbox.checkInterval(for: configuration.limits)
        let implicitTLS = configuration.tlsMode == .implicit ? tls : nil
        let limits = configuration.limits
        let launcher = SessionLauncher(group: group) { connection in
            await serve(connection, context: context, limits: limits)
        }
        let bootstrap = ServerBootstrap(group: group)
            // A burst of up to max_connections sessions waits in the kernel instead of being
            // dropped (and retried by the clients seconds later); the kernel caps it at somaxconn.
            .serverChannelOption(.backlog, value: Int32(clamping: max(512, configuration.maximumConnections)))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    do {
                        if let options = channel.syncOptions { try configureAccepted(options) }
                    } catch {
                        // NIO closes the connection before any greeting: say why.
                        context.logger.error("cannot set up an accepted connection", metadata: [
                            "client": "\(channel.remoteAddress?.hostAndPort ?? "unknown")", "error": "\(error)"])
                        throw error
                    }
                    let sync = channel.pipeline.syncOperations
                    let proxied = channel.remoteAddress.map { address in trusted.contains { $0.contains(address) } } ?? false
                    if proxied { try sync.addHandler(ProxyProtocolHandler()) }
                    if let implicitTLS { try sync.addHandler(NIOSSLServerHandler(context: implicitTLS.context)) }
                    try sync.addHandler(SessionInbox(eventLoop: channel.eventLoop, launcher: launcher,
                                                     expectsProxyHeader: proxied, checkInterval: checkInterval))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw ListenFailure(what: "listener \"\(configuration.name)\"", host: configuration.host,
                                port: configuration.port, underlying: error)
        }
        guard let localAddress = channel.localAddress else {
            throw ListenerError.bindFailed(configuration.host, configuration.port)
        }
        logger.info("listening", metadata: ["address": "\(localAddress.hostAndPort)", "tls": "\(configuration.tlsMode.rawValue)"])
        return SMTPServer(configuration: configuration, localAddress: localAddress, serverChannel: channel,
                          context: context, registry: registry, launcher: launcher)
    }

    private static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 16 * 1024, maximum: 256 * 1024)

    /// The options of an accepted connection, set synchronously in the child initializer
    /// (as `childChannelOption`s NIO applies them through a chain of futures, a dozen
    /// allocations per connection). Every one of them must be settable by an unprivileged
    /// user: a failure closes the connection before its greeting.
    static func configureAccepted(_ options: some NIOSynchronousChannelOptions) throws {
        // Replies are small and each is awaited by the client: no Nagle delay. (A TCP
        // option: at `SOL_SOCKET` level the same number is SO_DEBUG, which needs
        // CAP_NET_ADMIN.)
        try options.setOption(.tcpOption(.tcp_nodelay), value: 1)
        // Message content comes in tens of kilobytes: read it in few syscalls from the
        // first message of a connection on (NIO's default starts at 2 KiB).
        try options.setOption(.recvAllocator, value: receiveAllocator)
    }

    private init(configuration: ListenerConfiguration, localAddress: SocketAddress, serverChannel: any Channel,
                 context: SMTPConnection.Context, registry: ConnectionRegistry, launcher: SessionLauncher) {
        self.configuration = configuration
        self.localAddress = localAddress
        self.serverChannel = serverChannel
        self.context = context
        self.registry = registry
        self.launcher = launcher
    }

    /// Sessions open now (admitted and not yet ended).
    public var openSessions: Int { registry.count }

    /// Reads the certificate and key files again (`kill -HUP` after a renewal): sessions
    /// that start TLS from now on present the new certificate. Files that do not load
    /// leave the current certificate in place and throw why. False for a listener without
    /// TLS.
    public func reloadCertificate() throws -> Bool {
        guard let tls = context.tls, let fresh = try TLSContextFactory.makeServerContext(configuration) else { return false }
        tls.replace(with: fresh)
        return true
    }

    /// Serves until the listening socket is closed (graceful shutdown, or cancellation),
    /// then returns once the last session has ended. Sessions run from the moment of
    /// `bind`, each as its own task on its connection's event loop (`SessionLauncher`).
    public func run() async throws {
        let serverChannel = self.serverChannel
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await serverChannel.closeFuture.get()
            } onCancel: {
                serverChannel.close(promise: nil)
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
        await launcher.allEnded()
        context.logger.info("listener stopped")
    }

    private static func serve(_ connection: SessionLauncher.Connection, context: SMTPConnection.Context,
                              limits: SessionLimits) async {
        let io = SessionIO(channel: connection.channel, inbox: connection.inbox, deadline: connection.inbox.deadline,
                           sessionTimeout: limits.sessionTimeout, writeTimeout: limits.commandTimeout,
                           metrics: context.metrics)
        let session = SMTPConnection(context: context, channel: connection.channel, io: io)
        await session.run(expectProxyHeader: connection.expectsProxyHeader)
        connection.channel.close(promise: nil)
    }

    /// Stops accepting, tells every session, and closes what is left after the grace period.
    public func shutdown() {
        context.logger.info("shutting down", metadata: ["open_sessions": "\(registry.count)"])
        serverChannel.close(promise: nil)
        for channel in registry.beginShutdown() {
            channel.pipeline.fireUserInboundEventTriggered(SessionShutdownEvent())
        }
        let registry = self.registry
        serverChannel.eventLoop.scheduleTask(in: configuration.shutdownGracePeriod) {
            for channel in registry.openChannels { channel.close(promise: nil) }
        }
    }
}

/// Errors that stop a listener from starting.
public enum ListenerError: Error, CustomStringConvertible {
    case bindFailed(String, Int)
    case tlsMaterial(String)

    public var description: String {
        switch self {
        case .bindFailed(let host, let port): return "cannot bind \(host):\(port)"
        case .tlsMaterial(let why): return "TLS certificate or key: \(why)"
        }
    }
}
