import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// Where and how the admin endpoint serves.
public struct AdminEndpointSettings: Sendable {
    public var host: String
    public var port: Int
    public var policy: AdminAccessPolicy
    public var limits: AdminLimits
    /// When set, the port speaks only TLS (HTTP/1.1 inside).
    public var tls: TLSConfiguration?

    public init(host: String, port: Int, policy: AdminAccessPolicy = AdminAccessPolicy(), limits: AdminLimits = AdminLimits(),
                tls: TLSConfiguration? = nil) {
        self.host = host
        self.port = port
        self.policy = policy
        self.limits = limits
        self.tls = tls
    }
}

/// The admin HTTP endpoint's server, on Hummingbird: binds, puts `AdminGate` (policy,
/// limits, tokens) before every route, and serves the routes the caller adds (the
/// executable's, which know the node).
public final class AdminEndpoint: Sendable {
    /// Where it listens (the port the kernel chose, for port 0).
    public let localAddress: SocketAddress
    private let group: ServiceGroup
    private let serving: Task<Void, Never>

    private enum Start: Sendable {
        case running(SocketAddress?)
        case failed(any Error)
    }

    private init(localAddress: SocketAddress, group: ServiceGroup, serving: Task<Void, Never>) {
        self.localAddress = localAddress
        self.group = group
        self.serving = serving
    }

    /// Binds and serves; throws what binding failed with (the caller names the endpoint).
    public static func start(_ settings: AdminEndpointSettings, tokens: AdminTokenRing, logger: Logger,
                             routes: (Router<AdminContext>) -> Void) async throws -> AdminEndpoint {
        let router = Router(context: AdminContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: AdminGate(policy: settings.policy, tokens: tokens, limits: settings.limits, logger: logger))
        routes(router)
        let http1 = HTTP1Channel.Configuration(idleTimeout: settings.limits.idleTimeout)
        let server: HTTPServerBuilder = try settings.tls.map { try .tls(.http1(configuration: http1), tlsConfiguration: $0) }
            ?? .http1(configuration: http1)
        let (starts, started) = AsyncStream.makeStream(of: Start.self)
        // Hummingbird logs every request at debug and its own start at info: the node logs its own line.
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let application = Application(
            router: router, server: server,
            configuration: ApplicationConfiguration(
                address: .hostname(settings.host, port: settings.port), serverName: nil,
                availableConnectionsDelegate: MaximumAvailableConnections(settings.limits.maxConnections)),
            onServerRunning: { channel in started.yield(.running(channel.localAddress)) },
            logger: quiet)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [application], logger: quiet))
        let serving = Task {
            do {
                try await group.run()
            } catch {
                started.yield(.failed(error))
            }
            started.finish()
        }
        for await start in starts {
            switch start {
            case .running(let address?):
                return AdminEndpoint(localAddress: address, group: group, serving: serving)
            case .running(nil):
                serving.cancel()
                throw AdminEndpointError.noAddress
            case .failed(let error):
                throw error
            }
        }
        throw AdminEndpointError.noAddress
    }

    /// Stops accepting and lets the answers in progress finish (Hummingbird's graceful
    /// shutdown) for up to five seconds, then cancels the server, which closes what is still
    /// open: a client that stopped reading must not hold the node's shutdown.
    public func close() async {
        await group.triggerGracefulShutdown()
        let serving = serving
        await withTaskGroup(of: Void.self) { race in
            race.addTask { await serving.value }
            race.addTask {
                try? await Task.sleep(for: .seconds(5))
                serving.cancel()
            }
            await race.next()
            race.cancelAll()
        }
        await serving.value
    }
}

/// The server stopped before it reported where it listens.
public enum AdminEndpointError: Error, CustomStringConvertible {
    case noAddress

    public var description: String { "the admin endpoint stopped before it listened" }
}

extension Router where Context == AdminContext {
    /// Answers 405 to `methods` on `path` (Hummingbird answers 404 to a method a path lacks).
    public func refuse(_ methods: [HTTPRequest.Method], on path: RouterPath, use allowed: String) {
        for method in methods {
            on(path, method: method) { _, _ -> Response in
                throw AdminFailure(.methodNotAllowed, "use \(allowed)")
            }
        }
    }
}
