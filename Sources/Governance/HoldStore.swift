import ArchiveStore
import AuditTrail
import DurableFiles
import Foundation
import SearchQuery

/// `<data-dir>/holds/holds.sqlite`: the legal holds, primary data (never rebuilt, so
/// synchronous=FULL: a hold reported created survives a power loss). Every change is
/// recorded in the audit trail inside its transaction: when the entry cannot be
/// recorded, the change does not happen.
public final class HoldStore {
    private let connection: SQLiteConnection

    public static func path(dataDirectory: String) -> String { dataDirectory + "/holds/holds.sqlite" }

    /// How a command uses the store.
    public enum Access: Sendable {
        /// Read only; nil when there is no store (no holds).
        case read
        /// Change holds there are; nil when there is no store.
        case change
        /// Change, creating the store (and `holds/`) when missing.
        case create
    }

    public static func open(dataDirectory: String, _ access: Access) throws -> HoldStore? {
        let path = path(dataDirectory: dataDirectory)
        let create = access == .create
        if !create && !FileManager.default.fileExists(atPath: path) { return nil }
        // A mistyped --data-dir must not grow a data directory of its own.
        guard FileManager.default.fileExists(atPath: dataDirectory) else { throw ArchiveStoreError.notFound("no data directory \(dataDirectory)") }
        let directory = (path as NSString).deletingLastPathComponent
        let existed = FileManager.default.fileExists(atPath: directory)
        try FilePermissions.createDirectories(directory)
        let store = HoldStore(connection: try SQLiteConnection(path: path, readOnly: access == .read))
        // synchronous is the connection's: every writer sets it.
        if access != .read {
            try store.connection.execute("""
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous=FULL;
                CREATE TABLE IF NOT EXISTS holds(
                    name TEXT NOT NULL, query TEXT NOT NULL, reason TEXT NOT NULL,
                    created_at INTEGER NOT NULL, created_by TEXT NOT NULL,
                    released_at INTEGER, released_by TEXT);
                CREATE UNIQUE INDEX IF NOT EXISTS holds_open_name ON holds(name) WHERE released_at IS NULL;
                """)
            if create {
                if !existed { try Durable.syncDirectory(dataDirectory, faults: nil) }
                try Durable.syncDirectory(directory, faults: nil)
            }
        }
        return store
    }

    private init(connection: SQLiteConnection) { self.connection = connection }

    /// Every hold, open and released, oldest first.
    public func all() throws -> [LegalHold] {
        try holds("SELECT name, query, reason, created_at, created_by, released_at, released_by FROM holds ORDER BY rowid", [])
    }

    public func open() throws -> [LegalHold] { try all().filter(\.isOpen) }

    /// The open hold named `name`, else the most recently released one of that name.
    public func hold(named name: String) throws -> LegalHold? {
        try holds("""
            SELECT name, query, reason, created_at, created_by, released_at, released_by FROM holds WHERE name = ?
            ORDER BY released_at IS NULL DESC, rowid DESC LIMIT 1
            """, [.text(name)]).first
    }

    /// Creates an open hold; the query must parse (`SearchQueryError` with its column).
    public func create(_ hold: LegalHold, audit: any AuditRecorder) throws {
        try HoldError.checkName(hold.name)
        guard !hold.reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw HoldError.emptyReason }
        _ = try SearchQuery.parse(hold.query)
        try connection.transaction {
            if try self.hold(named: hold.name)?.isOpen == true { throw HoldError.exists(hold.name) }
            try connection.withStatement("INSERT INTO holds(name, query, reason, created_at, created_by) VALUES (?,?,?,?,?)") { s in
                try s.bind([.text(hold.name), .text(hold.query), .text(hold.reason), .int(Retention.millis(hold.createdAt)),
                            .text(hold.createdBy)])
                _ = try s.step()
            }
            try audit.record(AuditEntry(time: hold.createdAt, actor: hold.createdBy, action: "hold.create",
                                        arguments: ["hold": hold.name, "query": hold.query, "reason": hold.reason], resultCount: 1))
        }
    }

    /// Releases the open hold `name`; it stays in the store.
    public func release(_ name: String, by actor: String, at time: Date = Date(), audit: any AuditRecorder) throws {
        try connection.transaction {
            try connection.withStatement("UPDATE holds SET released_at = ?, released_by = ? WHERE name = ? AND released_at IS NULL") { s in
                try s.bind([.int(Retention.millis(time)), .text(actor), .text(name)])
                _ = try s.step()
            }
            guard connection.changes > 0 else { throw HoldError.noOpenHold(name) }
            try audit.record(AuditEntry(time: time, actor: actor, action: "hold.release", arguments: ["hold": name], resultCount: 1))
        }
    }

    private func holds(_ sql: String, _ values: [SQLiteConnection.Statement.Value]) throws -> [LegalHold] {
        try connection.withStatement(sql) { s in
            try s.bind(values)
            var result: [LegalHold] = []
            while try s.step() {
                result.append(LegalHold(
                    name: s.text(0) ?? "", query: s.text(1) ?? "", reason: s.text(2) ?? "", createdAt: Self.date(s.int(3)),
                    createdBy: s.text(4) ?? "", releasedAt: s.text(5) == nil ? nil : Self.date(s.int(5)), releasedBy: s.text(6)))
            }
            return result
        }
    }

    private static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}

extension HoldStore {
    /// Why the holds in `dataDirectory` cannot be kept with `searchIndex` off (a hold is a
    /// query over the search database); nil when they can.
    public static func searchProblem(dataDirectory: String, searchIndex: Bool) -> String? {
        guard !searchIndex, let store = try? open(dataDirectory: dataDirectory, .read),
              let open = try? store.open(), !open.isEmpty else { return nil }
        return "archive: \(open.count) legal hold(s) are open in \(dataDirectory) and need the search index, "
            + "but [archive] search_index = false: expiry could not tell what they hold"
    }
}
