import ForwardQueue
import Foundation
import NIOHTTP1

/// The forward queue on the admin endpoint (loopback): what `archiverelay queue …` uses
/// while the node runs.
///
/// - `GET /queue`: the snapshot as JSON (`QueueSnapshot`).
/// - `POST /queue/retry?id=N` or `?all=1`, `POST /queue/hold?id=N`,
///   `POST /queue/release?id=N` or `?all=1`, `POST /queue/delete?id=N`: a one-line answer.
enum QueueAdminRoutes {
    static func respond(_ request: AdminRequest, queue: ForwardQueue) async -> (HTTPResponseStatus, String, String) {
        if request.path == "/queue" {
            guard request.method == .GET else { return (.methodNotAllowed, "text/plain", "use GET\n") }
            do {
                return (.ok, "application/json", String(decoding: try QueueJSON.encoder().encode(queue.snapshot()), as: UTF8.self))
            } catch {
                return (.internalServerError, "text/plain", "\(error)\n")
            }
        }
        guard request.method == .POST else { return (.methodNotAllowed, "text/plain", "use POST\n") }
        let all = request.query["all"] == "1"
        let id = request.query["id"].flatMap { UInt64($0) }
        if id == nil && !(all && ["/queue/retry", "/queue/release"].contains(request.path)) {
            return (.badRequest, "text/plain", "give id=N\(["/queue/retry", "/queue/release"].contains(request.path) ? " or all=1" : "")\n")
        }
        do {
            switch request.path {
            case "/queue/retry":
                let count = try queue.retry(id: all ? nil : id)
                return (.ok, "text/plain", "\(count) entries due now\n")
            case "/queue/hold":
                guard let id else { return (.badRequest, "text/plain", "give id=N\n") }
                try await queue.hold(id: id)
                return (.ok, "text/plain", "entry \(id) held\n")
            case "/queue/release":
                let count = try await queue.release(id: all ? nil : id)
                return (.ok, "text/plain", "\(count) entries released\n")
            case "/queue/delete":
                guard let id else { return (.badRequest, "text/plain", "give id=N\n") }
                try await queue.delete(id: id)
                return (.ok, "text/plain", "entry \(id) deleted\n")
            default:
                return (.notFound, "text/plain", "not found\n")
            }
        } catch ForwardQueueError.notFound(let id) {
            return (.notFound, "text/plain", "no queue entry \(id)\n")
        } catch {
            return (.internalServerError, "text/plain", "\(error)\n")
        }
    }
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
