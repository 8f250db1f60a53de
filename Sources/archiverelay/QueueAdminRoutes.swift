import AdminEndpoint
import ForwardQueue
import Foundation
import Hummingbird
import Logging
import Metrics

/// The forward queue on the admin endpoint: what `archiverelay queue …` uses while the
/// node runs.
///
/// - `GET /queue?after=ID&limit=N` (role read): one page of the snapshot as JSON
///   (`QueueSnapshot`): the summaries and up to N entries (default and most
///   `QueuePage.maximum`) with ids above ID; `nextAfter` names the next page's ID.
/// - `POST /queue/retry?id=N` or `?all=1`, `POST /queue/hold?id=N`,
///   `POST /queue/release?id=N` or `?all=1`, `POST /queue/delete?id=N` (role operate):
///   `{"result": "..."}`. Every change is audited first, then logged (notice) and counted
///   (`admin_changes_total{action}`).
enum QueueAdminRoutes {
    static let actions = ["retry", "hold", "release", "delete"]

    /// `admin_changes_total{action}`, made once per action (swift-metrics, not per request).
    private static let changes = Dictionary(uniqueKeysWithValues: actions.map {
        ($0, Counter(label: "admin_changes_total", dimensions: [("action", $0)]))
    })

    static func add(_ router: Router<AdminContext>, queue: ForwardQueue?, audit: AdminAudit, logger: Logger) {
        router.get("/queue") { request, context in
            let caller = try context.require(.read)
            guard let queue else { throw AdminFailure(.notFound, "no forward queue") }
            return try page(request, queue: queue, caller: caller, audit: audit)
        }
        router.refuse([.post, .put, .delete, .patch], on: "/queue", use: "GET")
        for action in actions {
            let path = RouterPath("/queue/\(action)")
            router.post(path) { request, context in
                let caller = try context.require(.operate)
                guard let queue else { throw AdminFailure(.notFound, "no forward queue") }
                return try await change(action, request, context: context, caller: caller, queue: queue, audit: audit, logger: logger)
            }
            router.refuse([.get, .put, .delete, .patch], on: path, use: "POST")
        }
    }

    private static func change(_ action: String, _ request: Request, context: AdminContext, caller: AdminCaller, queue: ForwardQueue,
                               audit: AdminAudit, logger: Logger) async throws -> Response {
        let all = try request.parameter("all") == "1"
        let allowsAll = action == "retry" || action == "release"
        let id = try request.parameter("id").flatMap { UInt64($0) }
        guard id != nil || (all && allowsAll) else {
            throw AdminFailure(.badRequest, "give id=N\(allowsAll ? " or all=1" : "")")
        }
        let entry = all ? "all" : id.map(String.init) ?? "?"
        try audit.record(caller, "queue.\(action)", ["id": entry])
        let answer: Response
        do {
            let result: String
            switch action {
            case "retry":
                result = "\(try queue.retry(id: all ? nil : id)) entries due now"
            case "hold":
                try await queue.hold(id: id ?? 0)
                result = "entry \(id ?? 0) held"
            case "release":
                result = "\(try await queue.release(id: all ? nil : id)) entries released"
            default:
                try await queue.delete(id: id ?? 0)
                result = "entry \(id ?? 0) deleted"
            }
            answer = AdminJSON.response(.ok, ["result": result])
        } catch ForwardQueueError.notFound(let id) {
            answer = AdminJSON.response(.notFound, ["error": "no queue entry \(id)"])
        }
        changes[action]?.increment()
        logger.notice("admin change", metadata: [
            "action": "\(action)", "entry": "\(entry)", "client": "\(context.client)", "actor": "\(caller.actor)",
            "status": "\(answer.status.code)",
        ])
        return answer
    }

    private static func page(_ request: Request, queue: ForwardQueue, caller: AdminCaller, audit: AdminAudit) throws -> Response {
        let after = try request.parameter("after").map { UInt64($0) } ?? 0
        let limit = try request.parameter("limit").map { Int($0) } ?? QueuePage.maximum
        guard let after, let limit, (1...QueuePage.maximum).contains(limit) else {
            throw AdminFailure(.badRequest, "after must be an entry id and limit 1 to \(QueuePage.maximum)")
        }
        let snapshot = queue.snapshot(after: after, limit: limit)
        let json = try QueueJSON.encoder().encode(snapshot)
        try audit.record(caller, "queue.list", ["after": String(after), "limit": String(limit)], count: snapshot.entries.count)
        return AdminJSON.bytes(contentType: "application/json", json)
    }
}

/// How many queue entries one `GET /queue` answers with: a page of 1,000 entries is about
/// 400 KB of JSON; a 20,000-entry queue in one answer held the node's memory per request.
enum QueuePage {
    static let maximum = 1000
}

/// JSON for queue snapshots: ISO 8601 dates, sorted keys (stable for scripts and diffs).
enum QueueJSON {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
