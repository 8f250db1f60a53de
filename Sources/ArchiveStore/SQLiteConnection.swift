import CSQLite
import DurableFiles
import Foundation

/// A SQLite failure with SQLite's message; the index treats any of these as "derived
/// data is unusable", never as a reason to lose archive data.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String
    public var description: String { "sqlite error \(code): \(message)" }
}

/// SQLite's "copy the bound value now" destructor sentinel (a C macro, not imported).
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A thin wrapper over one sqlite3 connection: prepare, bind, step. Confined to one
/// thread at a time (the writer thread, or a CLI's main task).
package final class SQLiteConnection {
    private let handle: OpaquePointer
    var rawHandle: OpaquePointer { handle }
    /// Prepared statements by SQL text: the writer runs the same few statements for every
    /// batch, and parsing them each time showed up in profiles (~8% of a busy node's CPU).
    private var statements: [String: Statement] = [:]
    private static let statementCacheLimit = 32

    /// A private database in memory (`inMemory`) or the file at `path`.
    package init(path: String, readOnly: Bool, inMemory: Bool = false) throws(SQLiteError) {
        if !readOnly && !inMemory { try Self.createPrivately(path) }
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(inMemory ? ":memory:" : path, &db, flags | SQLITE_OPEN_NOMUTEX | (inMemory ? SQLITE_OPEN_MEMORY : 0), nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: message)
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
    }

    /// Creates the database file with `FilePermissions.file` unless it exists: SQLite
    /// would create it 0644 less the umask, and gives its -wal and -shm the mode of the
    /// database file.
    private static func createPrivately(_ path: String) throws(SQLiteError) {
        do {
            try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_EXCL).close()
        } catch where error.errno == EEXIST {
            return
        } catch {
            throw SQLiteError(code: SQLITE_CANTOPEN, message: "\(error)")
        }
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    package func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? "exec failed"
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc, message: message)
        }
    }

    package func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        return Statement(handle: stmt, database: handle)
    }

    /// Runs `body` with a cached prepared statement and resets it afterwards, so a
    /// statement left mid-result never pins a read snapshot (and the WAL).
    package func withStatement<T>(_ sql: String, _ body: (Statement) throws -> T) throws -> T {
        let statement: Statement
        if let cached = statements[sql] {
            statement = cached
        } else {
            statement = try prepare(sql)
            if statements.count >= Self.statementCacheLimit { statements.removeAll() }
            statements[sql] = statement
        }
        defer { statement.reset() }
        return try body(statement)
    }

    func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs `body` in a transaction, rolling back if it throws.
    package func transaction<T>(_ body: () throws -> T) throws -> T {
        try withStatement("BEGIN IMMEDIATE") { _ = try $0.step() }
        do {
            let result = try body()
            try withStatement("COMMIT") { _ = try $0.step() }
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// One prepared statement; bind with `bind(_:)`, iterate with `step()`.
    package final class Statement {
        private let handle: OpaquePointer
        /// The connection's handle, for error messages. Not the connection itself: the
        /// connection caches statements, and a strong reference back would leak both.
        /// sqlite3_close_v2 keeps the database alive until its last statement is finalized.
        private let database: OpaquePointer

        fileprivate init(handle: OpaquePointer, database: OpaquePointer) {
            self.handle = handle
            self.database = database
        }

        deinit { sqlite3_finalize(handle) }

        func reset() {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }

        private func error(_ rc: Int32) -> SQLiteError {
            SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(database)))
        }

        package enum Value {
            case int(Int64)
            case text(String)
            case null
        }

        package func bind(_ values: [Value]) throws(SQLiteError) {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
            for (i, value) in values.enumerated() {
                let index = Int32(i + 1)
                let rc: Int32
                switch value {
                case .int(let v): rc = sqlite3_bind_int64(handle, index, v)
                case .text(let s): rc = sqlite3_bind_text(handle, index, s, -1, transientDestructor)
                case .null: rc = sqlite3_bind_null(handle, index)
                }
                guard rc == SQLITE_OK else { throw error(rc) }
            }
        }

        /// Advances; true while a row is available.
        package func step() throws(SQLiteError) -> Bool {
            let rc = sqlite3_step(handle)
            switch rc {
            case SQLITE_ROW: return true
            case SQLITE_DONE: return false
            default: throw error(rc)
            }
        }

        package func int(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
        package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

        package func text(_ column: Int32) -> String? {
            guard sqlite3_column_type(handle, column) != SQLITE_NULL, let p = sqlite3_column_text(handle, column) else { return nil }
            return String(cString: p)
        }
    }
}

extension SQLiteConnection {
    package var changes: Int32 { sqlite3_changes(rawHandle) }
    var lastRowID: Int64 { sqlite3_last_insert_rowid(rawHandle) }
}
