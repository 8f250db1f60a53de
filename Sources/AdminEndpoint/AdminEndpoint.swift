import DurableFiles
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin HTTP endpoint's server: binds, applies the access policy and the limits, and
/// hands each request that passes to the routes (the executable's, which know the node).
public final class AdminEndpoint: Sendable {
    public let channel: any Channel

    /// Binds `host:port` (throws what the kernel said; the caller names the endpoint).
    public init(host: String, port: Int, policy: AdminAccessPolicy, limits: AdminLimits = AdminLimits(),
                group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
                respond: @escaping AdminResponder) async throws {
        let open = LockedValue(0)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let admitted = open.withLock { count in
                    guard count < limits.maxConnections else { return false }
                    count += 1
                    return true
                }
                guard admitted else {
                    // A failed initializer makes NIO close the accepted socket.
                    AdminMetrics.connectionRefused()
                    return channel.eventLoop.makeFailedFuture(AdminConnectionRefused())
                }
                channel.closeFuture.whenComplete { _ in open.withLock { $0 -= 1 } }
                return channel.eventLoop.makeCompletedFuture {
                    // Errors of the HTTP parser get a 400 and a close from NIO's handler.
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(
                        AdminHTTPHandler(policy: policy, limits: limits, logger: logger, respond: respond))
                }
            }
        channel = try await bootstrap.bind(host: host, port: port).get()
    }

    /// Stops accepting; open connections end with their answers or their timeout.
    public func close() async {
        try? await channel.close()
    }
}

/// An accepted admin connection over `AdminLimits.maxConnections`: closed at once.
struct AdminConnectionRefused: Error {}
