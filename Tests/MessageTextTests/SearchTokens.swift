import CSQLite
import MessageText

/// The terms the search index makes of a text: `SearchText.segmented`, then SQLite FTS5's
/// own `unicode61 remove_diacritics 2` tokenizer (an in-memory fts5 table read back
/// through fts5vocab), so the tests count tokens exactly as the index does.
final class SearchTokens {
    private var db: OpaquePointer?

    init() throws {
        guard sqlite3_open(":memory:", &db) == SQLITE_OK else { throw TokenizerError(message: "sqlite3_open failed") }
        try execute("CREATE VIRTUAL TABLE t USING fts5(x, tokenize = 'unicode61 remove_diacritics 2')")
        try execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'row')")
    }

    deinit { sqlite3_close(db) }

    struct TokenizerError: Error { var message: String }

    private func execute(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw TokenizerError(message: String(cString: sqlite3_errmsg(db)))
        }
    }

    func tokens(_ text: String) throws -> Set<String> {
        try execute("DELETE FROM t")
        var insert: OpaquePointer?
        guard sqlite3_prepare_v2(db, "INSERT INTO t(x) VALUES (?)", -1, &insert, nil) == SQLITE_OK else {
            throw TokenizerError(message: String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(insert) }
        let segmented = SearchText.segmented(text)
        sqlite3_bind_text(insert, 1, segmented, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
        guard sqlite3_step(insert) == SQLITE_DONE else { throw TokenizerError(message: String(cString: sqlite3_errmsg(db))) }
        var select: OpaquePointer?
        guard sqlite3_prepare_v2(db, "SELECT term FROM v", -1, &select, nil) == SQLITE_OK else {
            throw TokenizerError(message: String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(select) }
        var terms: Set<String> = []
        while sqlite3_step(select) == SQLITE_ROW {
            if let text = sqlite3_column_text(select, 0) { terms.insert(String(cString: text)) }
        }
        return terms
    }
}
