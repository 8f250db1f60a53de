import AdminEndpoint
import ArchiveStore
import Foundation
import Hummingbird
import SearchQuery

/// The archive's reads on the admin endpoint (role read), the API twins of `archive search
/// --json`, `show --json`, `get` and `export --query`. Each is audited once its result is
/// known and before any of it is sent: `archive.search`, `archive.show`, `archive.get`,
/// `archive.export`. The archive is opened read-only per request, as the CLI opens it.
///
/// - `GET /archive/search?q=Q&limit=N`: `{"count": n, "hits": [...]}`, each hit with the
///   fields `archive search --json` prints; newest first, at most N (default 100, most 1000).
/// - `GET /archive/messages/{id}`: `archive show --json`'s object (an archive id, an arrival
///   id, a Message-ID or `sha256:HEX`).
/// - `GET /archive/messages/{id}/original`: the original's bytes, `message/rfc822`.
/// - `GET /archive/export?q=Q`: every original the query finds, in received order, as an
///   mboxrd stream (`application/mbox`).
enum ArchiveAdminRoutes {
    static let defaultLimit = 100
    static let maximumLimit = 1000

    /// `keys`: the node's archive keys (replaced on reload), for encrypted segments;
    /// `remote`: the bucket evicted segments are read from.
    static func add(_ router: Router<AdminContext>, dataDirectory: String, keys: ArchiveKeys, remote: (any RemoteSegmentSource)?,
                    audit: AdminAudit) {
        router.get("/archive/search") { request, context in
            let caller = try context.require(.read)
            let query = try Self.query(request)
            let limit = try request.parameter("limit").map { Int($0) } ?? defaultLimit
            guard let limit, (1...maximumLimit).contains(limit) else { throw AdminFailure(.badRequest, "limit must be 1 to \(maximumLimit)") }
            let hits = try reading { () throws -> [[String: Any]] in
                let search = try ArchiveSearch(dataDirectory: dataDirectory, keys: keys.ring, remote: remote)
                let found = try search.hits(query, limit: limit)
                let snippets = try SearchSnippets(query: query)
                return try zip(found, try search.entries(found)).map { hit, entry in
                    JSONLine.hitFields(entry, hit, snippet: try snippets.snippet(original: try search.original(entry)))
                }
            }
            try audit.record(caller, "archive.search", ["query": query, "limit": String(limit)], count: hits.count)
            return AdminJSON.response(.ok, ["count": hits.count, "hits": hits])
        }
        router.get("/archive/messages/:id") { request, context in
            let caller = try context.require(.read)
            let id = try messageID(context)
            let shown = try reading { () throws -> [String: Any] in
                let reader = try ArchiveReader(dataDirectory: dataDirectory, keys: keys.ring, remote: remote)
                let entry = try reader.lookup(id)
                return ShownOriginal(entry: entry, headers: OriginalHeaders(original: try reader.original(entry)),
                                     arrivals: try reader.arrivals(of: entry)).json
            }
            try audit.record(caller, "archive.show", ["id": id], count: 1)
            return AdminJSON.response(.ok, shown)
        }
        router.get("/archive/messages/:id/original") { request, context in
            let caller = try context.require(.read)
            let id = try messageID(context)
            let original = try reading { () throws -> [UInt8] in
                let reader = try ArchiveReader(dataDirectory: dataDirectory, keys: keys.ring, remote: remote)
                return try reader.original(try reader.lookup(id))
            }
            try audit.record(caller, "archive.get", ["id": id], count: 1)
            return AdminJSON.bytes(contentType: "message/rfc822", original)
        }
        router.get("/archive/export") { request, context in
            let caller = try context.require(.read)
            let query = try Self.query(request)
            let (search, entries) = try reading { () throws -> (ArchiveSearch, [ArchiveIndexEntry]) in
                let search = try ArchiveSearch(dataDirectory: dataDirectory, keys: keys.ring, remote: remote)
                let entries = try search.entries(try search.hits(query, limit: Int.max))
                return (search, entries.sorted { ($0.receivedAt, $0.id) < ($1.receivedAt, $1.id) })
            }
            try audit.record(caller, "archive.export", ["query": query, "format": "mbox"], count: entries.count)
            let exported = ExportedMessages(search: search, entries: entries)
            var response = AdminJSON.bytes(contentType: "application/mbox", [])
            response.body = ResponseBody { writer in
                for entry in exported.entries {
                    try await writer.write(ByteBuffer(bytes: Mbox.entry(from: entry, original: try exported.search.original(entry))))
                }
                try await writer.finish(nil)
            }
            return response
        }
        for path in ["/archive/search", "/archive/messages/:id", "/archive/messages/:id/original", "/archive/export"] {
            router.refuse([.post, .put, .delete, .patch], on: RouterPath(path), use: "GET")
        }
    }

    private static func query(_ request: Request) throws(AdminFailure) -> String {
        guard let query = try request.parameter("q"), !query.isEmpty else {
            throw AdminFailure(.badRequest, "give a query: q=... (archive search's language)")
        }
        return query
    }

    private static func messageID(_ context: AdminContext) throws(AdminFailure) -> String {
        guard let id = context.parameters.get("id"), !id.isEmpty else { throw AdminFailure(.badRequest, "give a message id") }
        return id
    }

    /// The archive's errors as answers: a query that does not parse is 400 with its column,
    /// an unknown id 404, an ambiguous Message-ID 409 with the ids.
    private static func reading<T>(_ body: () throws -> T) throws(AdminFailure) -> T {
        do {
            return try body()
        } catch let error as SearchQueryError {
            throw AdminFailure(.badRequest, "query: \(error.description)")
        } catch ArchiveStoreError.notFound(let key) {
            throw AdminFailure(.notFound, "no archived message \(key)")
        } catch ArchiveStoreError.ambiguous(let key, let ids) {
            throw AdminFailure(.conflict, "\(key) names \(ids.count) originals: \(ids.joined(separator: ", "))")
        } catch {
            throw AdminFailure(.internalServerError, describe(error))
        }
    }
}

/// What an export stream reads from, handed to the response body's writer.
private struct ExportedMessages: @unchecked Sendable {
    // ArchiveSearch is a read-only handle used by one writer at a time.
    let search: ArchiveSearch
    let entries: [ArchiveIndexEntry]
}
