import NIOCore
import NIOPosix
@testable import SMTPListener
import Testing

/// The options `SMTPServer` sets on every accepted connection, read back from the kernel.
struct AcceptedSocketTests {
    /// What the kernel reports for an accepted socket after `configureAccepted`.
    private struct Readback: Sendable {
        var noDelay: Int32 = -1
        var socketDebug: Int32 = -1
    }

    /// Nagle is off on the accepted socket itself (the test's listener has it off, so
    /// nothing is inherited), and no `SOL_SOCKET` option was set in its place: SO_DEBUG
    /// shares TCP_NODELAY's number and needs CAP_NET_ADMIN, so for a node run by an
    /// unprivileged user every connection was closed before its greeting.
    @Test(.timeLimit(.minutes(5))) func nagleIsOffAndNoPrivilegedOptionIsSet() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let readback = group.next().makePromise(of: Readback.self)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.tcpOption(.tcp_nodelay), value: 0)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    do {
                        let options = try #require(channel.syncOptions)
                        try SMTPServer.configureAccepted(options)
                        readback.succeed(Readback(noDelay: Int32(try options.getOption(.tcpOption(.tcp_nodelay))),
                                                  socketDebug: Int32(try options.getOption(ChannelOptions.Types.SocketOption(level: .socket, name: NIOBSDSocket.Option(rawValue: SO_DEBUG))))))
                    } catch {
                        readback.fail(error)
                        throw error
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        let client = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port).get()
        let result = try await readback.futureResult.get()
        try await client.close()
        try await server.close()
        #expect(result.noDelay != 0)
        #expect(result.socketDebug == 0)
    }
}
