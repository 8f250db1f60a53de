import AdminEndpoint
import ArchiveStore
import AuditTrail
import Foundation
import Governance
import Hummingbird
import SearchQuery

/// Legal holds and expiry on the admin endpoint, the API twins of `archive hold …` and
/// `archive expire` (docs/OPERATIONS.md, "Retention, holds and audit"). Reading holds needs
/// role read; creating and releasing them, and running expiry now, role admin. Every
/// request is audited before it answers (a change inside its own transaction, as the CLI's).
///
/// - `GET /holds`: `{"holds": [...]}`, open and released, oldest first.
/// - `GET /holds/{name}`: the hold's fields with `count` and `ids` (newest first, at most 1000).
/// - `POST /holds?name=N&query=Q&reason=R`: opens a hold; 409 when one of that name is open.
/// - `POST /holds/{name}/release`: releases it.
/// - `POST /archive/expire`: runs the node's expiry now; answers what it removed.
enum GovernanceAdminRoutes {
    static let maximumIDs = 1000

    static func add(_ router: Router<AdminContext>, dataDirectory: String, keys: ArchiveKeys, remote: (any RemoteSegmentSource)?,
                    expiry: ExpiryService?, audit: AdminAudit) {
        router.get("/holds") { _, context in
            let caller = try context.require(.read)
            let holds = try holding { try HoldStore.open(dataDirectory: dataDirectory, .read)?.all() ?? [] }
            try audit.record(caller, "hold.list", count: holds.count)
            return AdminJSON.response(.ok, ["holds": holds.map(HoldText.fields)])
        }
        router.get("/holds/:name") { _, context in
            let caller = try context.require(.read)
            let name = context.parameters.get("name") ?? ""
            let (hold, count, ids) = try holding { () throws -> (LegalHold, Int, [String]) in
                guard let hold = try HoldStore.open(dataDirectory: dataDirectory, .read)?.hold(named: name) else {
                    throw HoldError.noOpenHold(name)
                }
                let search = try ArchiveSearch(dataDirectory: dataDirectory, keys: keys.ring, remote: remote)
                return (hold, try search.count(hold.query), try search.hits(hold.query, limit: maximumIDs).map(\.id))
            }
            try audit.record(caller, "hold.show", ["hold": name], count: count)
            return AdminJSON.response(.ok, HoldText.fields(hold).merging(["count": count, "ids": ids]) { _, new in new })
        }
        router.post("/holds") { request, context in
            let caller = try context.require(.admin)
            guard let name = try request.parameter("name"), let query = try request.parameter("query"),
                  let reason = try request.parameter("reason") else {
                throw AdminFailure(.badRequest, "give name=, query= and reason=")
            }
            try holding {
                guard let store = try HoldStore.open(dataDirectory: dataDirectory, .create) else { return }
                try store.create(LegalHold(name: name, query: query, reason: reason, createdAt: Date(), createdBy: caller.actor),
                                 audit: audit.recorder)
            }
            return AdminJSON.response(.created, ["hold": name, "state": "open"])
        }
        router.post("/holds/:name/release") { _, context in
            let caller = try context.require(.admin)
            let name = context.parameters.get("name") ?? ""
            try holding {
                guard let store = try HoldStore.open(dataDirectory: dataDirectory, .change) else { throw HoldError.noOpenHold(name) }
                try store.release(name, by: caller.actor, audit: audit.recorder)
            }
            return AdminJSON.response(.ok, ["hold": name, "state": "released"])
        }
        router.post("/archive/expire") { _, context in
            let caller = try context.require(.admin)
            guard let expiry else { throw AdminFailure(.notFound, "this node runs no expiry") }
            do {
                let outcome = try await expiry.run(actor: caller.actor)
                return AdminJSON.response(.ok, [
                    "removed": outcome.originals, "records": outcome.records, "deferred": outcome.deferred, "runs": outcome.runs,
                    "rules": outcome.byRule,
                ])
            } catch ArchiveStoreError.busy(let reason) {
                throw AdminFailure(.conflict, reason)
            } catch let failure as AdminFailure {
                throw failure
            } catch {
                throw AdminFailure(.serviceUnavailable, "expiry failed: \(describe(error))")
            }
        }
        router.refuse([.post, .put, .delete, .patch], on: RouterPath("/holds/:name"), use: "GET")
        router.refuse([.get, .put, .delete, .patch], on: RouterPath("/holds/:name/release"), use: "POST")
        router.refuse([.get, .put, .delete, .patch], on: RouterPath("/archive/expire"), use: "POST")
    }

    /// Holds' errors as answers: a query that does not parse 400 with its column, a name in
    /// use 409, no such hold 404, an audit log that cannot take the entry 503.
    private static func holding<T>(_ body: () throws -> T) throws(AdminFailure) -> T {
        do {
            return try body()
        } catch let error as SearchQueryError {
            throw AdminFailure(.badRequest, "query: \(error.description)")
        } catch let error as HoldError {
            switch error {
            case .exists: throw AdminFailure(.conflict, error.description)
            case .noOpenHold: throw AdminFailure(.notFound, error.description)
            default: throw AdminFailure(.badRequest, error.description)
            }
        } catch let failure as AdminFailure {
            throw failure
        } catch let error as AuditFailure {
            throw AdminFailure(.serviceUnavailable, error.description)
        } catch {
            throw AdminFailure(.serviceUnavailable, describe(error))
        }
    }
}
