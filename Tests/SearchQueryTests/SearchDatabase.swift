import CSQLite
import MessageText
import SearchQuery

/// SQLite's "copy the bound value now" destructor sentinel (a C macro, not imported).
private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

struct TestSQLiteError: Error, CustomStringConvertible {
    var description: String
}

/// A search database in memory, made from `SearchSchema`, that runs `SearchStatement`s.
final class SearchDatabase {
    private let handle: OpaquePointer

    init() throws {
        var db: OpaquePointer?
        guard sqlite3_open(":memory:", &db) == SQLITE_OK, let db else { throw TestSQLiteError(description: "cannot open") }
        handle = db
        for statement in SearchSchema.statements { try run(SearchStatement(sql: statement, bindings: [])) }
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs a statement; each row as its columns' values (integers as Int64, text as String, NULL as nil).
    @discardableResult
    func run(_ statement: SearchStatement) throws -> [[Any?]] {
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(handle, statement.sql, -1, &prepared, nil) == SQLITE_OK, let prepared else {
            throw TestSQLiteError(description: "prepare: \(String(cString: sqlite3_errmsg(handle))) in \(statement.sql)")
        }
        defer { sqlite3_finalize(prepared) }
        guard sqlite3_bind_parameter_count(prepared) == Int32(statement.bindings.count) else {
            throw TestSQLiteError(description: "\(statement.bindings.count) bindings for \(sqlite3_bind_parameter_count(prepared)) parameters")
        }
        for (offset, binding) in statement.bindings.enumerated() {
            let index = Int32(offset + 1)
            switch binding {
            case .integer(let value): sqlite3_bind_int64(prepared, index, value)
            case .text(let value): sqlite3_bind_text(prepared, index, value, -1, transientDestructor)
            }
        }
        var rows: [[Any?]] = []
        while true {
            let rc = sqlite3_step(prepared)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw TestSQLiteError(description: "step: \(String(cString: sqlite3_errmsg(handle))) in \(statement.sql)")
            }
            rows.append((0..<sqlite3_column_count(prepared)).map { column -> Any? in
                switch sqlite3_column_type(prepared, column) {
                case SQLITE_INTEGER: sqlite3_column_int64(prepared, column)
                case SQLITE_TEXT: String(cString: sqlite3_column_text(prepared, column))
                default: nil
                }
            })
        }
        return rows
    }

    func docids(_ statement: SearchStatement) throws -> Set<Int64> {
        Set(try run(statement).compactMap { $0.first as? Int64 })
    }

    /// Indexes one original the way the indexer does: every text field segmented.
    func insert(_ doc: FixtureDoc) throws {
        try run(SearchStatement(
            sql: "INSERT INTO docs(docid, id, sha256, message_id, date, received_at, size, has_attachment) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            bindings: [.integer(doc.docid), .text("doc\(doc.docid)"), .text("sha\(doc.docid)"), .text(doc.messageID ?? ""),
                       .integer(doc.date), .integer(doc.arrivals.map(\.receivedAt).min() ?? doc.date), .integer(doc.size),
                       .integer(doc.hasAttachment ? 1 : 0)]))
        if doc.messageID == nil { try run(SearchStatement(sql: "UPDATE docs SET message_id = NULL WHERE docid = ?", bindings: [.integer(doc.docid)])) }
        let text = [doc.sender, doc.recipients, doc.cc, doc.bcc, doc.subject, doc.body, doc.filename]
        try run(SearchStatement(
            sql: "INSERT INTO docs_text(rowid, sender, recipients, cc, bcc, subject, body, filename) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            bindings: [.integer(doc.docid)] + text.map { .text(SearchText.segmented($0)) }))
        for arrival in doc.arrivals {
            try run(SearchStatement(
                sql: "INSERT INTO arrivals(rowid, id, docid, received_at) VALUES (?, ?, ?, ?)",
                bindings: [.integer(arrival.rowid), .text("arrival\(arrival.rowid)"), .integer(doc.docid), .integer(arrival.receivedAt)]))
            try run(SearchStatement(
                sql: "INSERT INTO arrival_text(rowid, sender, recipients, cc, bcc) VALUES (?, ?, ?, ?, ?)",
                bindings: [.integer(arrival.rowid)] + [arrival.sender, arrival.recipients, arrival.cc, arrival.bcc].map { .text(SearchText.segmented($0)) }))
        }
    }
}

struct FixtureArrival {
    var rowid: Int64
    var receivedAt: Int64
    var sender: String
    var recipients: String
    var cc = ""
    var bcc = ""
}

struct FixtureDoc {
    var docid: Int64
    var messageID: String?
    var date: Int64
    var size: Int64
    var hasAttachment = false
    var sender: String
    var recipients: String
    var cc = ""
    var bcc = ""
    var subject: String
    var body: String
    var filename = ""
    var arrivals: [FixtureArrival]
}
