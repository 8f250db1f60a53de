import AdminEndpoint
import ArchiveStore
import AuditTrail
import ForwardQueue
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import SMTPListener
import ServiceLifecycle

/// The admin HTTP endpoint (loopback by default): `/metrics` in Prometheus text format,
/// `/healthz` (the process serves), `/readyz` (the archive is writable, has room and its
/// index is sound), open to anyone who passes the access policy; the queue
/// (`QueueAdminRoutes`), the archive reads (`ArchiveAdminRoutes`), holds and expiry
/// (`GovernanceAdminRoutes`) and the audit log for
/// bearer tokens of the right role. Who may ask, and how much a client can make it hold:
/// the `AdminEndpoint` module.
final class AdminServer: Service, Sendable {
    let endpoint: AdminEndpoint

    init(settings: AdminEndpointSettings, tokens: AdminTokenRing, registry: PrometheusCollectorRegistry, store: ArchiveStore,
         queue: ForwardQueue?, expiry: ExpiryService?, dataDirectory: String, audit: AuditLog, logger: Logger) async throws {
        let audited = AdminAudit(recorder: audit)
        do {
            endpoint = try await AdminEndpoint.start(settings, tokens: tokens, logger: logger) { router in
                Self.addProbes(router, registry: registry, store: store)
                QueueAdminRoutes.add(router, queue: queue, audit: audited, logger: logger)
                ArchiveAdminRoutes.add(router, dataDirectory: dataDirectory, keys: store.options.keys, remote: store.options.remoteSegments,
                                       audit: audited)
                AuditAdminRoutes.add(router, log: audit, audit: audited)
                GovernanceAdminRoutes.add(router, dataDirectory: dataDirectory, keys: store.options.keys, remote: store.options.remoteSegments,
                                          expiry: expiry, audit: audited)
            }
        } catch {
            throw ListenFailure(what: "admin endpoint", host: settings.host, port: settings.port, underlying: error)
        }
        logger.info("admin endpoint listening", metadata: [
            "address": "\(endpoint.localAddress.hostAndPort)", "tls": "\(settings.tls != nil)",
        ])
    }

    private static func addProbes(_ router: Router<AdminContext>, registry: PrometheusCollectorRegistry, store: ArchiveStore) {
        // What /readyz would answer, judged at each scrape: a Prometheus alert on a failing
        // /readyz needs it as a series (no blackbox prober required).
        let ready = Gauge(label: "node_ready")
        router.get("/metrics") { _, _ in
            ready.record(readiness(store).0 == .ok ? 1 : 0)
            var bytes: [UInt8] = []
            registry.emit(into: &bytes)
            return AdminJSON.bytes(contentType: "text/plain; version=0.0.4", bytes)
        }
        router.get("/healthz") { _, _ in AdminJSON.bytes(contentType: "text/plain; charset=utf-8", Array("ok\n".utf8)) }
        router.get("/readyz") { _, _ in
            let (status, text) = readiness(store)
            return AdminJSON.bytes(status, contentType: "text/plain; charset=utf-8", Array(text.utf8))
        }
    }

    private static func readiness(_ store: ArchiveStore) -> (HTTPResponse.Status, String) {
        if case .low(let free) = store.capacity {
            return (.serviceUnavailable, "not ready: archive volume low on space (\(free) bytes free)\n")
        }
        if let fault = store.recentWriteFault() {
            return (.serviceUnavailable, "not ready: archive write failed in the last 5 minutes: \(fault)\n")
        }
        if let fault = store.indexFault() {
            return (.serviceUnavailable, "not ready: archive index: \(fault)\n")
        }
        return (.ok, "ready\n")
    }

    func run() async throws {
        try? await gracefulShutdown()
        await endpoint.close()
    }
}

/// The audit entry of an API request, written before the answer: when it cannot be
/// written the request is answered 503 and nothing of its result (or its change) happens.
struct AdminAudit: Sendable {
    let recorder: any AuditRecorder

    func record(_ caller: AdminCaller, _ action: String, _ arguments: [String: String] = [:], count: Int? = nil) throws(AdminFailure) {
        do {
            try recorder.record(AuditEntry(actor: caller.actor, action: action, arguments: arguments, resultCount: count))
        } catch {
            throw AdminFailure(.serviceUnavailable, "the audit log could not record this request, so it was not carried out: \(error)")
        }
    }
}

extension Request {
    /// The query parameter `key`, or nil; given twice it is refused (a route acts on one
    /// entry id and must not guess which one was meant).
    func parameter(_ key: String) throws(AdminFailure) -> String? {
        let values = uri.queryParameters[values: Substring(key)]
        guard values.count <= 1 else { throw AdminFailure(.badRequest, "query parameter \(key.debugDescription) given more than once") }
        return values.first.map(String.init)
    }
}
