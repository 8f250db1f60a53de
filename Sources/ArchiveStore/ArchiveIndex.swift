import Foundation

/// One archived message as listed: what the index knows and where the record lives.
public struct ArchiveIndexEntry: Sendable, Equatable {
    public var id: String
    public var sha256: String
    public var messageID: String?
    public var receivedAt: Date
    public var sender: String
    public var recipients: [String]
    public var subject: String?
    public var size: UInt64
    /// On-disk size of the record (framing, metadata and compressed body).
    public var storedSize: Int
    public var segment: UInt64
    public var offset: Int

    init(metadata m: ArchiveMetadata, segment: UInt64, offset: Int, storedSize: Int) {
        id = m.id
        sha256 = m.sha256Hex
        messageID = m.messageID
        receivedAt = m.envelope.receivedAt
        sender = m.envelope.sender
        recipients = m.envelope.recipients
        subject = m.subject
        size = m.originalSize
        self.storedSize = storedSize
        self.segment = segment
        self.offset = offset
    }

    init(id: String, sha256: String, messageID: String?, receivedAt: Date, sender: String, recipients: [String],
         subject: String?, size: UInt64, storedSize: Int, segment: UInt64, offset: Int) {
        self.id = id; self.sha256 = sha256; self.messageID = messageID; self.receivedAt = receivedAt
        self.sender = sender; self.recipients = recipients; self.subject = subject; self.size = size
        self.storedSize = storedSize; self.segment = segment; self.offset = offset
    }
}

/// Filters for listing and exporting; nil fields match everything. Address matches are
/// case-insensitive and exact.
public struct ArchiveFilter: Sendable, Equatable {
    public var since: Date?
    public var until: Date?
    public var sender: String?
    public var recipient: String?
    public var messageID: String?

    public init(since: Date? = nil, until: Date? = nil, sender: String? = nil, recipient: String? = nil, messageID: String? = nil) {
        self.since = since; self.until = until; self.sender = sender; self.recipient = recipient; self.messageID = messageID
    }

    public func matches(_ e: ArchiveIndexEntry) -> Bool {
        if let since, e.receivedAt < since { return false }
        if let until, e.receivedAt >= until { return false }
        if let sender, e.sender.lowercased() != sender.lowercased() { return false }
        if let recipient, !e.recipients.contains(where: { $0.lowercased() == recipient.lowercased() }) { return false }
        if let messageID, Self.bareMessageID(e.messageID ?? "") != Self.bareMessageID(messageID) { return false }
        return true
    }

    /// Message-IDs compare without their angle brackets, so `<a@b>` and `a@b` match.
    static func bareMessageID(_ text: String) -> String {
        var s = Substring(text.trimmingWhitespace())
        if s.hasPrefix("<") { s = s.dropFirst() }
        if s.hasSuffix(">") { s = s.dropLast() }
        return String(s)
    }
}

/// Where the index has caught up to: every valid record before `offset` in `segment`,
/// and in all earlier segments, is indexed.
struct IndexCheckpoint: Equatable {
    var segment: UInt64
    var offset: Int
}

/// The SQLite index (WAL mode): id, digest, Message-ID and envelope → segment and offset.
/// Derived data, rebuilt from the segments whenever it is missing or doubtful.
final class ArchiveIndex {
    static let schemaVersion = "1"
    let connection: SQLiteConnection
    let path: String

    private init(connection: SQLiteConnection, path: String) {
        self.connection = connection
        self.path = path
    }

    /// Opens for writing, creating the schema if the file is new.
    static func openWritable(path: String) throws -> ArchiveIndex {
        let connection = try SQLiteConnection(path: path, readOnly: false)
        // WAL: readers (the CLI) never block the writer. synchronous=NORMAL: the index is
        // derived, a crash may lose its last transactions and the checkpoint replays them.
        try connection.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS checkpoint(singleton INTEGER PRIMARY KEY CHECK (singleton = 0),
                segment INTEGER NOT NULL, offset INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS messages(
                id TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL UNIQUE, message_id TEXT,
                received_at INTEGER NOT NULL, sender TEXT NOT NULL, recipients TEXT NOT NULL,
                subject TEXT, size INTEGER NOT NULL, stored_size INTEGER NOT NULL,
                segment INTEGER NOT NULL, offset INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS recipients(message INTEGER NOT NULL, address TEXT NOT NULL COLLATE NOCASE);
            CREATE INDEX IF NOT EXISTS messages_message_id ON messages(message_id);
            CREATE INDEX IF NOT EXISTS messages_received_at ON messages(received_at);
            CREATE INDEX IF NOT EXISTS recipients_address ON recipients(address);
            INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '\(schemaVersion)');
            """)
        let index = ArchiveIndex(connection: connection, path: path)
        try index.checkSchema()
        return index
    }

    /// A second connection to an index another connection writes: the writer thread's
    /// dedupe lookups, which WAL lets run while the index thread inserts.
    static func openLookup(path: String) throws -> ArchiveIndex {
        let connection = try SQLiteConnection(path: path, readOnly: false)
        try connection.execute("PRAGMA query_only=1;")
        return ArchiveIndex(connection: connection, path: path)
    }

    static func openReadOnly(path: String) throws -> ArchiveIndex {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SQLiteError(code: 14, message: "no index at \(path)")
        }
        let index = ArchiveIndex(connection: try SQLiteConnection(path: path, readOnly: true), path: path)
        try index.checkSchema()
        return index
    }

    /// Fails unless the file is a sound index of this schema version.
    func checkSchema() throws {
        let check = try connection.prepare("PRAGMA quick_check")
        guard try check.step(), check.text(0) == "ok" else {
            throw SQLiteError(code: 11, message: "quick_check failed")
        }
        let version = try connection.prepare("SELECT value FROM meta WHERE key = 'schema_version'")
        guard try version.step(), version.text(0) == Self.schemaVersion else {
            throw SQLiteError(code: 11, message: "unknown schema version")
        }
    }

    func checkpoint() throws -> IndexCheckpoint? {
        let stmt = try connection.prepare("SELECT segment, offset FROM checkpoint WHERE singleton = 0")
        guard try stmt.step() else { return nil }
        return IndexCheckpoint(segment: UInt64(stmt.int(0)), offset: Int(stmt.int(1)))
    }

    /// Adds records and advances the checkpoint in one transaction. A digest already
    /// present is ignored (the first stored copy stays the indexed one).
    func insert(_ entries: [ArchiveIndexEntry], checkpoint: IndexCheckpoint) throws {
        try connection.transaction {
            for e in entries {
                let inserted = try connection.withStatement("""
                    INSERT OR IGNORE INTO messages(id, sha256, message_id, received_at, sender, recipients, subject,
                        size, stored_size, segment, offset) VALUES (?,?,?,?,?,?,?,?,?,?,?)
                    """) { insert in
                    try insert.bind([
                        .text(e.id), .text(e.sha256), e.messageID.map { .text($0) } ?? .null,
                        .int(Int64((e.receivedAt.timeIntervalSince1970 * 1000).rounded())), .text(e.sender),
                        .text(e.recipients.joined(separator: "\n")), e.subject.map { .text($0) } ?? .null,
                        .int(Int64(e.size)), .int(Int64(e.storedSize)), .int(Int64(e.segment)), .int(Int64(e.offset)),
                    ])
                    _ = try insert.step()
                    return connection.changes > 0
                }
                guard inserted else { continue }
                let rowID = connection.lastRowID
                try connection.withStatement("INSERT INTO recipients(message, address) VALUES (?, ?)") { addRecipient in
                    for address in e.recipients {
                        try addRecipient.bind([.int(rowID), .text(address)])
                        _ = try addRecipient.step()
                    }
                }
            }
            try connection.withStatement("INSERT OR REPLACE INTO checkpoint(singleton, segment, offset) VALUES (0, ?, ?)") { cp in
                try cp.bind([.int(Int64(checkpoint.segment)), .int(Int64(checkpoint.offset))])
                _ = try cp.step()
            }
        }
    }

    static let columns = "id, sha256, message_id, received_at, sender, recipients, subject, size, stored_size, segment, offset"

    private func entries(_ sql: String, _ values: [SQLiteConnection.Statement.Value]) throws -> [ArchiveIndexEntry] {
        try connection.withStatement(sql) { stmt in try entries(stmt, values) }
    }

    private func entries(_ stmt: SQLiteConnection.Statement, _ values: [SQLiteConnection.Statement.Value]) throws -> [ArchiveIndexEntry] {
        try stmt.bind(values)
        var result: [ArchiveIndexEntry] = []
        while try stmt.step() { result.append(Self.entry(stmt)) }
        return result
    }

    /// The row `stmt` is on, its `columns` starting at column `first`.
    static func entry(_ stmt: SQLiteConnection.Statement, from first: Int32 = 0) -> ArchiveIndexEntry {
        ArchiveIndexEntry(
            id: stmt.text(first) ?? "", sha256: stmt.text(first + 1) ?? "", messageID: stmt.text(first + 2),
            receivedAt: Date(timeIntervalSince1970: Double(stmt.int(first + 3)) / 1000), sender: stmt.text(first + 4) ?? "",
            recipients: (stmt.text(first + 5) ?? "").split(separator: "\n").map(String.init), subject: stmt.text(first + 6),
            size: UInt64(stmt.int(first + 7)), storedSize: Int(stmt.int(first + 8)), segment: UInt64(stmt.int(first + 9)),
            offset: Int(stmt.int(first + 10))
        )
    }

    /// `entry` as its row gives it back: text is bound as a C string, so it ends at a NUL
    /// (a Subject may hold one), and the recipients are one newline-joined column.
    static func storedForm(_ entry: ArchiveIndexEntry) -> ArchiveIndexEntry {
        func stored(_ text: String) -> String { text.firstIndex(of: "\0").map { String(text[..<$0]) } ?? text }
        var row = entry
        row.id = stored(entry.id)
        row.sha256 = stored(entry.sha256)
        row.messageID = entry.messageID.map(stored)
        row.sender = stored(entry.sender)
        row.recipients = stored(entry.recipients.joined(separator: "\n")).split(separator: "\n").map(String.init)
        row.subject = entry.subject.map(stored)
        return row
    }

    func entry(sha256 hex: String) throws -> ArchiveIndexEntry? {
        try entries("SELECT \(Self.columns) FROM messages WHERE sha256 = ?", [.text(hex)]).first
    }

    func entry(id: String) throws -> ArchiveIndexEntry? {
        try entries("SELECT \(Self.columns) FROM messages WHERE id = ?", [.text(id)]).first
    }

    /// The most recently inserted entry; open re-reads its record to check the index
    /// still describes the segments (it is never trusted blindly).
    func lastEntry() throws -> ArchiveIndexEntry? {
        try entries("SELECT \(Self.columns) FROM messages ORDER BY rowid DESC LIMIT 1", []).first
    }

    /// Entries matching `filter`, oldest first. Message-ID matching is done in Swift to
    /// ignore angle brackets.
    func list(_ filter: ArchiveFilter) throws -> [ArchiveIndexEntry] {
        var clauses: [String] = []
        var values: [SQLiteConnection.Statement.Value] = []
        if let since = filter.since {
            clauses.append("received_at >= ?"); values.append(.int(Int64((since.timeIntervalSince1970 * 1000).rounded(.up))))
        }
        if let until = filter.until {
            clauses.append("received_at < ?"); values.append(.int(Int64((until.timeIntervalSince1970 * 1000).rounded(.up))))
        }
        if let sender = filter.sender { clauses.append("sender = ? COLLATE NOCASE"); values.append(.text(sender)) }
        if let recipient = filter.recipient {
            clauses.append("rowid IN (SELECT message FROM recipients WHERE address = ?)"); values.append(.text(recipient))
        }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let rows = try entries("SELECT \(Self.columns) FROM messages \(whereClause) ORDER BY received_at, id", values)
        return rows.filter(filter.matches)
    }
}
