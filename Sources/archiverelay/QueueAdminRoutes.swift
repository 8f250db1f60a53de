import AdminEndpoint
import ForwardQueue
import Foundation
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// The forward queue on the admin endpoint (loopback): what `archiverelay queue …` uses
/// while the node runs.
///
/// - `GET /queue?after=ID&limit=N`: one page of the snapshot as JSON (`QueueSnapshot`):
///   the summaries and up to N entries (default and most `QueuePage.maximum`) with ids
///   above ID; `nextAfter` names the next page's ID while there is one.
/// - `POST /queue/retry?id=N` or `?all=1`, `POST /queue/hold?id=N`,
///   `POST /queue/release?id=N` or `?all=1`, `POST /queue/delete?id=N`: a one-line answer.
///   Every change is logged (notice) and counted (`admin_changes_total{action}`).
enum QueueAdminRoutes {
    /// `admin_changes_total{action}`, made once per action (swift-metrics, not per request).
    private static let changes = Dictionary(uniqueKeysWithValues: ["retry", "hold", "release", "delete"].map {
        ($0, Counter(label: "admin_changes_total", dimensions: [("action", $0)]))
    })

    static func respond(_ request: AdminRequest, queue: ForwardQueue, logger: Logger) async -> AdminResponse {
        if request.path == "/queue" {
            guard request.method == .GET || request.method == .HEAD else { return .text(.methodNotAllowed, "use GET\n") }
            return page(request, queue: queue)
        }
        guard request.method == .POST else { return .text(.methodNotAllowed, "use POST\n") }
        let action = String(request.path.dropFirst("/queue/".count))
        guard let changes = Self.changes[action] else { return .text(.notFound, "not found\n") }
        let all = request.query["all"] == "1"
        let allowsAll = action == "retry" || action == "release"
        let id = request.query["id"].flatMap { UInt64($0) }
        guard id != nil || (all && allowsAll) else {
            return .text(.badRequest, "give id=N\(allowsAll ? " or all=1" : "")\n")
        }
        let answer: AdminResponse
        do {
            switch action {
            case "retry":
                answer = .text(.ok, "\(try queue.retry(id: all ? nil : id)) entries due now\n")
            case "hold":
                try await queue.hold(id: id ?? 0)
                answer = .text(.ok, "entry \(id ?? 0) held\n")
            case "release":
                answer = .text(.ok, "\(try await queue.release(id: all ? nil : id)) entries released\n")
            default:
                try await queue.delete(id: id ?? 0)
                answer = .text(.ok, "entry \(id ?? 0) deleted\n")
            }
        } catch ForwardQueueError.notFound(let id) {
            answer = .text(.notFound, "no queue entry \(id)\n")
        } catch {
            answer = .text(.internalServerError, "\(error)\n")
        }
        changes.increment()
        logger.notice("admin change", metadata: [
            "action": "\(action)", "entry": "\(all ? "all" : id.map(String.init) ?? "?")", "client": "\(request.client)",
            "status": "\(answer.status.code)",
        ])
        return answer
    }

    private static func page(_ request: AdminRequest, queue: ForwardQueue) -> AdminResponse {
        let after = request.query["after"].map { UInt64($0) } ?? 0
        let limit = request.query["limit"].map { Int($0) } ?? QueuePage.maximum
        guard let after, let limit, (1...QueuePage.maximum).contains(limit) else {
            return .text(.badRequest, "after must be an entry id and limit 1 to \(QueuePage.maximum)\n")
        }
        do {
            let json = try QueueJSON.encoder().encode(queue.snapshot(after: after, limit: limit))
            return AdminResponse(status: .ok, contentType: "application/json", body: ByteBuffer(bytes: json))
        } catch {
            return .text(.internalServerError, "\(error)\n")
        }
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
