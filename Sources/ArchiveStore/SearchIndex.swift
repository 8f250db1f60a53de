import Foundation
import JournalReport
import MessageText
import SearchQuery

/// The full-text search database `archive/search.sqlite`: what `archive search` finds
/// originals by. Derived data, like the index: built from the segments by `SearchFeeder`,
/// rebuilt from scratch when missing, of another schema version, or ahead of the segments.
///
/// A database of its own, not tables in `index.sqlite`: SQLite has one writer per
/// database, and the index writer feeds dedupe and `list` within two seconds of a commit;
/// a search batch (seconds of MIME work for a large backlog) must never hold it up.
final class SearchIndex {
    let connection: SQLiteConnection
    let path: String

    private init(connection: SQLiteConnection, path: String) {
        self.connection = connection
        self.path = path
    }

    /// Opens for writing; a database of another schema version is removed and created anew
    /// (it is derived: the feeder rebuilds it from the segments).
    /// `fresh`: remove whatever is there first (a rebuild). The caller must have let go
    /// of its own connections to it.
    static func openWritable(path: String, fresh: Bool = false) throws -> SearchIndex {
        if fresh || FileManager.default.fileExists(atPath: path) && (try? openReadOnly(path: path).schemaVersion()) != String(SearchSchema.version) {
            try remove(path: path)
        }
        let connection = try SQLiteConnection(path: path, readOnly: false)
        // WAL: searches never block the indexer. synchronous=NORMAL: a crash may lose the
        // last transactions, and `progress` (committed with them) says where to resume.
        try connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        let index = SearchIndex(connection: connection, path: path)
        guard try !index.hasSchema() else { return index }
        try connection.transaction {
            guard try !index.hasSchema() else { return }  // another process was first
            for statement in SearchSchema.statements { try connection.execute(statement) }
            try connection.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '\(SearchSchema.version)')")
        }
        return index
    }

    static func openReadOnly(path: String) throws -> SearchIndex {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArchiveStoreError.notFound("no search index at \(path)")
        }
        return SearchIndex(connection: try SQLiteConnection(path: path, readOnly: true), path: path)
    }

    /// Removes the database and its WAL files.
    static func remove(path: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.removeItem(atPath: path + suffix)
        }
    }

    private func hasSchema() throws -> Bool {
        try connection.withStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'") { try $0.step() }
    }

    func schemaVersion() throws -> String? {
        try connection.withStatement("SELECT value FROM meta WHERE key = 'schema_version'") { s in
            try s.step() ? s.text(0) : nil
        }
    }

    /// Every valid record before `offset` in `segment`, and in all earlier segments, is
    /// indexed; nil when nothing is yet.
    func progress() throws -> IndexCheckpoint? {
        try connection.withStatement("SELECT segment, offset FROM progress WHERE singleton = 0") { s in
            try s.step() ? IndexCheckpoint(segment: UInt64(s.int(0)), offset: Int(s.int(1))) : nil
        }
    }

    func setProgress(_ checkpoint: IndexCheckpoint) throws {
        try connection.withStatement("INSERT OR REPLACE INTO progress(singleton, segment, offset) VALUES (0, ?, ?)") { s in
            try s.bind([.int(Int64(checkpoint.segment)), .int(Int64(checkpoint.offset))])
            _ = try s.step()
        }
    }

    func count(_ table: SearchTable) throws -> Int {
        try connection.withStatement("SELECT count(*) FROM \(table.rawValue)") { s in try s.step() ? Int(s.int(0)) : 0 }
    }

    enum SearchTable: String {
        case docs, arrivals
    }

    /// Adds an original and its text; false when an original of that SHA-256 is there
    /// already (a second copy, stored while dedupe was off).
    func add(_ m: ArchiveMetadata, text: MessageText) throws -> Bool {
        let received = Self.seconds(m.receivedAt)
        let inserted = try connection.withStatement("""
            INSERT OR IGNORE INTO docs(id, sha256, message_id, date, received_at, size, has_attachment) VALUES (?,?,?,?,?,?,?)
            """) { s in
            try s.bind([
                .text(m.id), .text(m.sha256Hex), text.messageID.map { .text($0) } ?? .null,
                .int(text.date.map(Self.seconds) ?? received), .int(received),
                .int(Int64(m.originalSize)), .int(text.hasAttachment ? 1 : 0),
            ])
            _ = try s.step()
            return connection.changes > 0
        }
        guard inserted else { return false }
        let docid = connection.lastRowID
        try connection.withStatement("""
            INSERT INTO docs_text(rowid, sender, recipients, cc, bcc, subject, body, filename) VALUES (?,?,?,?,?,?,?,?)
            """) { s in
            try s.bind([.int(docid)] + Self.docColumns(text))
            _ = try s.step()
        }
        return true
    }

    /// Removes an original expiry took (the doc of SHA-256 `sha256` hex and archive id `id`:
    /// a fresh copy stored since has another) and every arrival of it. A contentless FTS5
    /// table forgets a row only when told the values it was given, so `text` is the
    /// original's extraction and `arrivals` its arrivals, read from their records before
    /// they go. False when the doc is not there (not indexed yet, or removed before).
    func remove(sha256: String, id: String, text: MessageText, arrivals: [Arrival]) throws -> Bool {
        let docid: Int64? = try connection.withStatement("SELECT docid FROM docs WHERE sha256 = ? AND id = ?") { s in
            try s.bind([.text(sha256), .text(id)])
            return try s.step() ? s.int(0) : nil
        }
        guard let docid else { return false }
        let rows: [(rowid: Int64, id: String)] = try connection.withStatement("SELECT rowid, id FROM arrivals WHERE docid = ?") { s in
            try s.bind([.int(docid)])
            var rows: [(Int64, String)] = []
            while try s.step() { rows.append((s.int(0), s.text(1) ?? "")) }
            return rows
        }
        let known = Dictionary(arrivals.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for row in rows {
            guard let arrival = known[row.id] else {
                throw SQLiteError(code: 11, message: "search index: arrival \(row.id) of \(id) has no record to remove it by; rebuild the search index (archive reindex)")
            }
            let fields = ArrivalSearchFields(arrival)
            try connection.withStatement("INSERT INTO arrival_text(arrival_text, rowid, sender, recipients, cc, bcc) VALUES ('delete',?,?,?,?,?)") { s in
                try s.bind([.int(row.rowid)] + Self.arrivalColumns(fields))
                _ = try s.step()
            }
        }
        try connection.withStatement("DELETE FROM arrivals WHERE docid = ?") { s in
            try s.bind([.int(docid)])
            _ = try s.step()
        }
        try connection.withStatement("""
            INSERT INTO docs_text(docs_text, rowid, sender, recipients, cc, bcc, subject, body, filename) VALUES ('delete',?,?,?,?,?,?,?,?)
            """) { s in
            try s.bind([.int(docid)] + Self.docColumns(text))
            _ = try s.step()
        }
        try connection.withStatement("DELETE FROM docs WHERE docid = ?") { s in
            try s.bind([.int(docid)])
            _ = try s.step()
        }
        return true
    }

    /// The arrival_text columns of an arrival, in table order.
    private static func arrivalColumns(_ fields: ArrivalSearchFields) -> [SQLiteConnection.Statement.Value] {
        [fields.senders, fields.recipients, fields.cc, fields.bcc].map(column)
    }

    /// The docs_text columns of an original's text, in table order.
    private static func docColumns(_ text: MessageText) -> [SQLiteConnection.Statement.Value] {
        [text.from, text.to, text.cc, text.bcc, [text.subject], [text.body], text.attachmentNames].map(column)
    }

    /// Adds an arrival of the original with SHA-256 `original` (hex); false when it is
    /// there already, or its original is not (a damaged record).
    func add(_ arrival: Arrival, original: String) throws -> Bool {
        let docid: Int64? = try connection.withStatement("SELECT docid FROM docs WHERE sha256 = ?") { s in
            try s.bind([.text(original)])
            return try s.step() ? s.int(0) : nil
        }
        guard let docid else { return false }
        let inserted = try connection.withStatement("INSERT OR IGNORE INTO arrivals(id, docid, received_at) VALUES (?,?,?)") { s in
            try s.bind([.text(arrival.id), .int(docid), .int(Self.seconds(arrival.envelope.receivedAt))])
            _ = try s.step()
            return connection.changes > 0
        }
        guard inserted else { return false }
        let rowid = connection.lastRowID
        let fields = ArrivalSearchFields(arrival)
        try connection.withStatement("INSERT INTO arrival_text(rowid, sender, recipients, cc, bcc) VALUES (?,?,?,?,?)") { s in
            try s.bind([.int(rowid)] + Self.arrivalColumns(fields))
            _ = try s.step()
        }
        return true
    }

    /// A time as the search database keeps it: whole seconds since 1970 (`after:` and the
    /// like compare days).
    private static func seconds(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down))
    }

    /// One FTS column's value: the values a line each, CJK segmented (`SearchText`).
    private static func column(_ values: [String]) -> SQLiteConnection.Statement.Value {
        .text(SearchText.segmented(values.joined(separator: "\n")))
    }
}

/// What an arrival adds to the search: its envelope, and the addresses its journal report
/// names, in the columns `from:`, `to:`, `cc:` and `bcc:` look at.
struct ArrivalSearchFields: Equatable {
    var senders: [String] = []
    var recipients: [String] = []
    var cc: [String] = []
    var bcc: [String] = []

    init(_ arrival: Arrival) {
        if !arrival.envelope.sender.isEmpty { senders.append(arrival.envelope.sender) }
        recipients = arrival.envelope.recipients
        guard let report = arrival.report else { return }
        senders += report.senders
        for r in report.recipients {
            let names = [r.address, r.expandedFrom, r.forwardedFrom].compactMap { $0 }
            switch r.kind {
            case .to, .recipient: recipients += names
            case .cc: cc += names
            case .bcc: bcc += names
            }
        }
    }
}
