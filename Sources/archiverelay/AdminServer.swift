import AdminEndpoint
import ArchiveStore
import ForwardQueue
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Prometheus
import SMTPListener
import ServiceLifecycle

/// The admin HTTP endpoint (loopback by default): `/metrics` in Prometheus text format,
/// `/healthz` (the process serves), `/readyz` (the archive is writable, has room and its
/// index is sound), and
/// the forward queue: `GET /queue`, `POST /queue/{retry,hold,release,delete}?id=N|all=1`.
/// Who may ask, and how much a client can make it hold: `AdminEndpoint`.
final class AdminServer: Service, Sendable {
    let endpoint: AdminEndpoint

    init(host: String, port: Int, allowedHostNames: [String], registry: PrometheusCollectorRegistry, store: ArchiveStore,
         queue: ForwardQueue?, logger: Logger) async throws {
        let respond: AdminResponder = { [registry, store] request in
            if request.path == "/queue" || request.path.hasPrefix("/queue/") {
                guard let queue else { return .text(.notFound, "no forward queue\n") }
                return await QueueAdminRoutes.respond(request, queue: queue, logger: logger)
            }
            guard request.method == .GET || request.method == .HEAD else { return .text(.methodNotAllowed, "use GET\n") }
            switch request.path {
            case "/metrics":
                var bytes: [UInt8] = []
                registry.emit(into: &bytes)
                return AdminResponse(status: .ok, contentType: "text/plain; version=0.0.4", body: ByteBuffer(bytes: bytes))
            case "/healthz":
                return .text(.ok, "ok\n")
            case "/readyz":
                if case .low(let free) = store.capacity {
                    return .text(.serviceUnavailable, "not ready: archive volume low on space (\(free) bytes free)\n")
                }
                if let fault = store.recentWriteFault() {
                    return .text(.serviceUnavailable, "not ready: archive write failed in the last 5 minutes: \(fault)\n")
                }
                if let fault = store.indexFault() {
                    return .text(.serviceUnavailable, "not ready: archive index: \(fault)\n")
                }
                return .text(.ok, "ready\n")
            default:
                return .text(.notFound, "not found\n")
            }
        }
        do {
            endpoint = try await AdminEndpoint(host: host, port: port, policy: AdminAccessPolicy(allowedHostNames: allowedHostNames),
                                               logger: logger, respond: respond)
        } catch {
            throw ListenFailure(what: "admin endpoint", host: host, port: port, underlying: error)
        }
        logger.info("admin endpoint listening", metadata: ["address": "\(endpoint.channel.localAddress?.hostAndPort ?? "?")"])
    }

    func run() async throws {
        try? await gracefulShutdown()
        await endpoint.close()
    }
}
