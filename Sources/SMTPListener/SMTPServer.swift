import Logging
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
    private let serverChannel: NIOAsyncChannel<AcceptedConnection, Never>
    private let context: SMTPConnection.Context
    private let registry: ConnectionRegistry

    struct AcceptedConnection: Sendable {
        let channel: any Channel
        let inbox: SessionInbox
        let deadline: SessionDeadline
        let expectsProxyHeader: Bool
    }

    /// Binds the listener's socket. Serving starts with `run()`.
    public static func bind(
        configuration: ListenerConfiguration, hostname: String, receiver: any MessageReceiver,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) async throws -> SMTPServer {
        let sslContext = try TLSContextFactory.makeServerContext(configuration)
        let registry = ConnectionRegistry(
            maximumConnections: configuration.maximumConnections,
            maximumPerClient: configuration.maximumConnectionsPerClient)
        var logger = logger
        logger[metadataKey: "listener"] = "\(configuration.name)"
        let context = SMTPConnection.Context(
            configuration: configuration, hostname: hostname, receiver: receiver, sslContext: sslContext,
            registry: registry, metrics: ListenerMetrics(listener: configuration.name), logger: logger)
        let trusted = configuration.trustedProxies
        let checkInterval = SessionEventHandler.checkInterval(for: configuration.limits)
        let implicitTLS = configuration.tlsMode == .implicit ? sslContext : nil
        let channel = try await ServerBootstrap(group: group)
            // A burst of up to max_connections sessions waits in the kernel instead of being
            // dropped (and retried by the clients seconds later); the kernel caps it at somaxconn.
            .serverChannelOption(.backlog, value: Int32(clamping: max(512, configuration.maximumConnections)))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Message content comes in tens of kilobytes: read it in few syscalls from the
            // first message of a connection on (NIO's default starts at 2 KiB).
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(
                minimum: 1024, initial: 16 * 1024, maximum: 256 * 1024))
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    let proxied = channel.remoteAddress.map { address in trusted.contains { $0.contains(address) } } ?? false
                    if proxied { try sync.addHandler(ProxyProtocolHandler()) }
                    if let implicitTLS { try sync.addHandler(NIOSSLServerHandler(context: implicitTLS)) }
                    let deadline = SessionDeadline()
                    try sync.addHandler(SessionEventHandler(deadline: deadline, checkInterval: checkInterval))
                    let inbox = SessionInbox(eventLoop: channel.eventLoop)
                    try sync.addHandler(inbox)
                    return AcceptedConnection(channel: channel, inbox: inbox, deadline: deadline, expectsProxyHeader: proxied)
                }
            }
        guard let localAddress = channel.channel.localAddress else {
            throw ListenerError.bindFailed(configuration.host, configuration.port)
        }
        logger.info("listening", metadata: ["address": "\(localAddress)", "tls": "\(configuration.tlsMode.rawValue)"])
        return SMTPServer(configuration: configuration, localAddress: localAddress, serverChannel: channel,
                          context: context, registry: registry)
    }

    private init(configuration: ListenerConfiguration, localAddress: SocketAddress,
                 serverChannel: NIOAsyncChannel<AcceptedConnection, Never>, context: SMTPConnection.Context,
                 registry: ConnectionRegistry) {
        self.configuration = configuration
        self.localAddress = localAddress
        self.serverChannel = serverChannel
        self.context = context
        self.registry = registry
    }

    /// Sessions open now (admitted and not yet ended).
    public var openSessions: Int { registry.count }

    public func run() async throws {
        // The accept loop runs on the listening socket's event loop, each session on its own
        // connection's: no connection passes through Swift's global executor threads.
        let acceptLoop = EventLoopTaskExecutor(serverChannel.channel.eventLoop)
        try await withGracefulShutdownHandler {
            try await withTaskExecutorPreference(acceptLoop) {
                try await withThrowingDiscardingTaskGroup { group in
                    try await serverChannel.executeThenClose { inbound in
                        for try await accepted in inbound {
                            let executor = EventLoopTaskExecutor(accepted.channel.eventLoop)
                            group.addTask(executorPreference: executor) { await self.serve(accepted) }
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            self.shutdown()
        }
        context.logger.info("listener stopped")
    }

    private func serve(_ accepted: AcceptedConnection) async {
        let io = SessionIO(channel: accepted.channel, inbox: accepted.inbox, deadline: accepted.deadline,
                           sessionTimeout: configuration.limits.sessionTimeout, metrics: context.metrics)
        let connection = SMTPConnection(context: context, channel: accepted.channel, io: io)
        await connection.run(expectProxyHeader: accepted.expectsProxyHeader)
        accepted.channel.close(promise: nil)
    }

    /// Stops accepting, tells every session, and closes what is left after the grace period.
    public func shutdown() {
        context.logger.info("shutting down", metadata: ["open_sessions": "\(registry.count)"])
        serverChannel.channel.close(promise: nil)
        for channel in registry.beginShutdown() {
            channel.pipeline.fireUserInboundEventTriggered(SessionShutdownEvent())
        }
        let registry = self.registry
        serverChannel.channel.eventLoop.scheduleTask(in: configuration.shutdownGracePeriod) {
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

/// Builds the listener's TLS context from its certificate and key files.
enum TLSContextFactory {
    static func makeServerContext(_ configuration: ListenerConfiguration) throws -> NIOSSLContext? {
        guard configuration.tlsMode != .none else { return nil }
        guard let certificateFile = configuration.certificateFile, let keyFile = configuration.privateKeyFile else {
            throw ListenerError.tlsMaterial("listener \(configuration.name) needs certificate_file and key_file for TLS")
        }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            tls.minimumTLSVersion = .tlsv12
            if let authority = configuration.clientCertificateAuthorityFile {
                // A server that verifies asks for the client's certificate and fails the
                // handshake without one; host names do not apply to clients.
                tls.certificateVerification = .noHostnameVerification
                tls.trustRoots = .file(authority)
            }
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ListenerError.tlsMaterial("\(certificateFile), \(keyFile): \(error)")
        }
    }
}
