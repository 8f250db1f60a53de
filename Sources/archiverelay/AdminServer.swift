import ArchiveStore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import ServiceLifecycle

/// The admin HTTP endpoint (loopback by default): `/metrics` in Prometheus text format,
/// `/healthz` (the process serves), `/readyz` (the archive is writable and has room).
final class AdminServer: Service, Sendable {
    let channel: any Channel

    init(host: String, port: Int, registry: PrometheusCollectorRegistry, store: ArchiveStore, logger: Logger) async throws {
        let respond: @Sendable (String) -> (HTTPResponseStatus, String, String) = { [registry, store] path in
            switch path {
            case "/metrics":
                var bytes: [UInt8] = []
                registry.emit(into: &bytes)
                return (.ok, "text/plain; version=0.0.4", String(decoding: bytes, as: UTF8.self))
            case "/healthz":
                return (.ok, "text/plain", "ok\n")
            case "/readyz":
                if case .low(let free) = store.capacity {
                    return (.serviceUnavailable, "text/plain", "not ready: archive volume low on space (\(free) bytes free)\n")
                }
                if let fault = store.recentWriteFault() {
                    return (.serviceUnavailable, "text/plain", "not ready: archive write failed in the last 5 minutes: \(fault)\n")
                }
                return (.ok, "text/plain", "ready\n")
            default:
                return (.notFound, "text/plain", "not found\n")
            }
        }
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(respond: respond))
                }
            }
            .bind(host: host, port: port).get()
        logger.info("admin endpoint listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
    }

    func run() async throws {
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

/// Answers one request per call with the text the responder gives for its path.
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let respond: @Sendable (String) -> (HTTPResponseStatus, String, String)
    private var path = "/"
    private var keepAlive = false

    init(respond: @escaping @Sendable (String) -> (HTTPResponseStatus, String, String)) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "/")
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let (status, contentType, body) = respond(path)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
            let keepAlive = self.keepAlive
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { loopBound.value.close(promise: nil) }
            }
        }
    }
}
