import AdminEndpoint
import AuditTrail
import Foundation
import Hummingbird
import OperatorText

/// `GET /audit?since=T` (role admin): the audit log's entries at or after T (a UTC day or an
/// RFC 3339 time, as `archive audit --since`), each as the log stores it (with seq, prev and
/// hash), in `{"count": n, "entries": [...]}`. Reading it is itself recorded (`audit.read`).
enum AuditAdminRoutes {
    static func add(_ router: Router<AdminContext>, log: AuditLog, audit: AdminAudit) {
        router.get("/audit") { request, context in
            let caller = try context.require(.admin)
            let sinceText = try request.parameter("since")
            let since: Date?
            do {
                since = try sinceText.map(CommandLineTime.parse)
            } catch {
                throw AdminFailure(.badRequest, "since: \(error)")
            }
            let entries: [Any]
            do {
                entries = try log.entries(since: since).map { record in
                    try JSONSerialization.jsonObject(with: Data(record.line.utf8))
                }
            } catch {
                throw AdminFailure(.internalServerError, "audit log: \(error)")
            }
            try audit.record(caller, "audit.read", sinceText.map { ["since": $0] } ?? [:], count: entries.count)
            return AdminJSON.response(.ok, ["count": entries.count, "entries": entries])
        }
        router.refuse([.post, .put, .delete, .patch], on: "/audit", use: "GET")
    }
}
