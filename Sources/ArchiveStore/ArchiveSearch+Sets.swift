import Foundation
import SearchQuery

/// The originals one query matches, materialized once in a temporary table of the search
/// connection (SQLite keeps it in a temporary file, not in memory) so the retention
/// planner asks about one batch of originals at a time.
public struct SearchMatchSet: Sendable, Equatable {
    let table: String
}

extension ArchiveSearch {
    /// Every original `query` matches now. Throws `SearchQueryError` for a query that does
    /// not parse.
    public func matchSet(_ query: String) throws -> SearchMatchSet {
        let docids = SearchSQL.docids(try SearchQuery.parse(query))
        let connection = index.connection
        let existing = try connection.withStatement("SELECT count(*) FROM temp.sqlite_master") { s in try s.step() ? s.int(0) : 0 }
        let set = SearchMatchSet(table: "temp.match_\(existing)")
        try connection.execute("CREATE TABLE \(set.table)(sha256 TEXT PRIMARY KEY) WITHOUT ROWID")
        try connection.withStatement("INSERT OR IGNORE INTO \(set.table)(sha256) SELECT sha256 FROM docs WHERE docid IN (\(docids.sql))") { s in
            try s.bind(docids.bindings.map(Self.value))
            _ = try s.step()
        }
        return set
    }

    /// Those of `sha256s` that are in `set`.
    public func members(of set: SearchMatchSet, among sha256s: [String]) throws -> Set<String> {
        guard !sha256s.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: sha256s.count).joined(separator: ",")
        return try index.connection.withStatement("SELECT sha256 FROM \(set.table) WHERE sha256 IN (\(marks))") { s in
            try s.bind(sha256s.map { .text($0) })
            var found = Set<String>()
            while try s.step() { if let hex = s.text(0) { found.insert(hex) } }
            return found
        }
    }
}
