import ArchiveStore
import Foundation
import ForwardQueue
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import SMTPListener
import ServiceLifecycle

/// The admin HTTP endpoint (loopback by default): `/metrics` in Prometheus text format,
/// `/healthz` (the process serves), `/readyz` (the archive is writable and has room), and
/// the forward queue: `GET /queue`, `POST /queue/{retry,hold,release,delete}?id=N|all=1`.
final class AdminServer: Service, Sendable {
    let channel: any Channel

    init(host: String, port: Int, registry: PrometheusCollectorRegistry, store: ArchiveStore, queue: ForwardQueue?, logger: Logger) async throws {
        let respond: @Sendable (AdminRequest) async -> (HTTPResponseStatus, String, String) = { [registry, store] request in
            if request.path == "/queue" || request.path.hasPrefix("/queue/") {
                guard let queue else { return (.notFound, "text/plain", "no forward queue\n") }
                return await QueueAdminRoutes.respond(request, queue: queue)
            }
            switch request.path {
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
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(respond: respond))
                }
            }
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw ListenFailure(what: "admin endpoint", host: host, port: port, underlying: error)
        }
        logger.info("admin endpoint listening", metadata: ["address": "\(channel.localAddress?.hostAndPort ?? "?")"])
    }

    func run() async throws {
        try? await gracefulShutdown()
        try? await channel.close()
    }
}

/// One admin request: method, path and query parameters.
struct AdminRequest: Sendable {
    var method: HTTPMethod
    var path: String
    var query: [String: String]

    init(method: HTTPMethod, uri: String) {
        self.method = method
        let parts = uri.split(separator: "?", maxSplits: 1)
        path = String(parts.first ?? "/")
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                query[String(kv[0])] = kv.count > 1 ? String(kv[1]).removingPercentEncoding ?? String(kv[1]) : ""
            }
        }
        self.query = query
    }
}

/// Answers one request per call with what the responder gives for it.
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let respond: @Sendable (AdminRequest) async -> (HTTPResponseStatus, String, String)
    private var request = AdminRequest(method: .GET, uri: "/")
    private var keepAlive = false

    init(respond: @escaping @Sendable (AdminRequest) async -> (HTTPResponseStatus, String, String)) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = AdminRequest(method: head.method, uri: head.uri)
            keepAlive = head.isKeepAlive
        case .body:
            break
        case .end:
            let answer = context.eventLoop.makePromise(of: (HTTPResponseStatus, String, String).self)
            let respond = self.respond
            let request = self.request
            answer.completeWithTask { await respond(request) }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            answer.futureResult.whenSuccess { response in
                let (handler, context) = loopBound.value
                handler.write(response, context: context)
            }
        }
    }

    private func write(_ response: (HTTPResponseStatus, String, String), context: ChannelHandlerContext) {
        let (status, contentType, body) = response
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
