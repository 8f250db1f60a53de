import DurableFiles
import Foundation

/// The SQLite index (WAL mode): originals by id, digest and Message-ID, their arrivals,
/// and every address of every arrival → segment and offset. Derived data, rebuilt from the
/// segments whenever it is missing, of another schema version, or doubtful.
final class ArchiveIndex {
    /// 2: arrivals and addresses tables (an index of version 1 is rebuilt at open).
    static let schemaVersion = "2"
    /// A retry of one transaction (same bytes, MAIL FROM and RCPT TO set) received within
    /// this long of an arrival already recorded is that arrival (docs/FORMAT.md, "Arrivals").
    static let retryWindow: TimeInterval = 24 * 3600
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
                id TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL UNIQUE, message_id TEXT, received_at INTEGER NOT NULL,
                subject TEXT, size INTEGER NOT NULL, stored_size INTEGER NOT NULL, segment INTEGER NOT NULL, offset INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS arrivals(
                id TEXT NOT NULL UNIQUE, message TEXT NOT NULL, received_at INTEGER NOT NULL, node TEXT NOT NULL,
                listener TEXT NOT NULL, client TEXT NOT NULL, helo TEXT NOT NULL, tls TEXT, sender TEXT NOT NULL,
                recipients TEXT NOT NULL, journal INTEGER NOT NULL, content_key TEXT NOT NULL, digest TEXT NOT NULL,
                received_size INTEGER NOT NULL, stored_size INTEGER NOT NULL, segment INTEGER NOT NULL, offset INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS addresses(message TEXT NOT NULL, role INTEGER NOT NULL, address TEXT NOT NULL COLLATE NOCASE,
                UNIQUE(message, role, address));
            CREATE INDEX IF NOT EXISTS messages_message_id ON messages(message_id);
            CREATE INDEX IF NOT EXISTS messages_received_at ON messages(received_at);
            CREATE INDEX IF NOT EXISTS arrivals_message ON arrivals(message);
            CREATE INDEX IF NOT EXISTS arrivals_content_key ON arrivals(content_key);
            CREATE INDEX IF NOT EXISTS addresses_address ON addresses(address, role);
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

    /// `checked`: run `checkSchema` first, whose quick_check reads the whole file (a
    /// lookup of a few rows that can tell a wrong answer, as `archive search` can, skips it).
    static func openReadOnly(path: String, checked: Bool = true) throws -> ArchiveIndex {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SQLiteError(code: 14, message: "no index at \(path)")
        }
        let index = ArchiveIndex(connection: try SQLiteConnection(path: path, readOnly: true), path: path)
        if checked { try index.checkSchema() }
        return index
    }

    /// Fails unless the file is a sound index of this schema version.
    func checkSchema() throws {
        let check = try connection.prepare("PRAGMA quick_check")
        guard try check.step(), check.text(0) == "ok" else {
            throw SQLiteError(code: 11, message: "quick_check failed")
        }
        guard try schemaVersion() == Self.schemaVersion else {
            throw SQLiteError(code: 11, message: "unknown schema version")
        }
    }

    func schemaVersion() throws -> String? {
        let version = try connection.prepare("SELECT value FROM meta WHERE key = 'schema_version'")
        return try version.step() ? version.text(0) : nil
    }

    func checkpoint() throws -> IndexCheckpoint? {
        let stmt = try connection.prepare("SELECT segment, offset FROM checkpoint WHERE singleton = 0")
        guard try stmt.step() else { return nil }
        return IndexCheckpoint(segment: UInt64(stmt.int(0)), offset: Int(stmt.int(1)))
    }

    // MARK: Writing

    /// Adds rows and advances the checkpoint in one transaction. A digest (or arrival id)
    /// already present is ignored: the first stored copy stays the indexed one.
    /// How many arrivals the index holds.
    func arrivalCount() throws -> Int {
        try connection.withStatement("SELECT count(*) FROM arrivals") { s in try s.step() ? Int(s.int(0)) : 0 }
    }

    func insert(_ rows: IndexRows, checkpoint: IndexCheckpoint) throws {
        try connection.transaction {
            try insertRows(rows, addressesOfKnownArrivals: false)
            try connection.withStatement("INSERT OR REPLACE INTO checkpoint(singleton, segment, offset) VALUES (0, ?, ?)") { cp in
                try cp.bind([.int(Int64(checkpoint.segment)), .int(Int64(checkpoint.offset))])
                _ = try cp.step()
            }
        }
    }

    /// Removes what expiry took: the rows of `records` (looked up by digest or arrival id,
    /// and only where they name that record's segment and offset: a fresh copy's rows stay)
    /// and every address of the originals `sha256s`; then adds `fresh`, the rows of records
    /// of those originals written while the expiry ran (a new arrival stores a fresh copy:
    /// their own inserts were ignored while the old rows held the digest). One transaction.
    func removeExpired(_ records: [ExpiryPlan.Record], originals sha256s: [String], fresh: IndexRows) throws {
        try connection.transaction {
            try connection.withStatement("DELETE FROM messages WHERE sha256 = ? AND segment = ? AND offset = ?") { messages in
                try connection.withStatement("DELETE FROM arrivals WHERE id = ? AND segment = ? AND offset = ?") { arrivals in
                    for r in records {
                        let at: [SQLiteConnection.Statement.Value] = [.int(Int64(r.segment)), .int(Int64(r.offset))]
                        if r.kind == RecordKind.message.rawValue {
                            try messages.bind([.text(r.original)] + at)
                            _ = try messages.step()
                        }
                        // A message record's first arrival has the archive id as its id.
                        try arrivals.bind([.text(r.id)] + at)
                        _ = try arrivals.step()
                    }
                }
            }
            try connection.withStatement("DELETE FROM addresses WHERE message = ?") { delete in
                for sha in sha256s {
                    try delete.bind([.text(sha)])
                    _ = try delete.step()
                }
            }
            try insertRows(fresh, addressesOfKnownArrivals: true)
        }
    }

    /// Adds the rows of fresh copies written during an expiry run: those already there are
    /// left, the missing ones (and every address of their arrivals) added.
    func addFresh(_ rows: IndexRows) throws {
        guard !rows.isEmpty else { return }
        try connection.transaction { try insertRows(rows, addressesOfKnownArrivals: true) }
    }

    /// Inserts rows; a digest or arrival id already present is ignored, and so are its
    /// addresses unless `addressesOfKnownArrivals`.
    private func insertRows(_ rows: IndexRows, addressesOfKnownArrivals: Bool) throws {
        try connection.withStatement("""
            INSERT OR IGNORE INTO messages(\(Self.columns)) VALUES (?,?,?,?,?,?,?,?,?)
            """) { insert in
            for e in rows.originals {
                try insert.bind([
                    .text(e.id), .text(e.sha256), e.messageID.map { .text($0) } ?? .null, .int(Self.millis(e.receivedAt)),
                    e.subject.map { .text($0) } ?? .null, .int(Int64(e.size)), .int(Int64(e.storedSize)),
                    .int(Int64(e.segment)), .int(Int64(e.offset)),
                ])
                _ = try insert.step()
            }
        }
        try connection.withStatement("""
            INSERT OR IGNORE INTO arrivals(\(Self.arrivalColumns)) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """) { insert in
            try connection.withStatement("INSERT OR IGNORE INTO addresses(message, role, address) VALUES (?,?,?)") { address in
                for a in rows.arrivals {
                    try insert.bind([
                        .text(a.id), .text(a.originalSHA256), .int(Self.millis(a.receivedAt)), .text(a.node), .text(a.listener),
                        .text(a.clientAddress), .text(a.helo), a.tls.map { .text($0) } ?? .null, .text(a.sender),
                        .text(a.recipients.joined(separator: "\n")), .int(a.journal ? 1 : 0), .text(a.contentKey), .text(a.digest),
                        .int(Int64(a.receivedSize)), .int(Int64(a.storedSize)), .int(Int64(a.segment)), .int(Int64(a.offset)),
                    ])
                    _ = try insert.step()
                    guard connection.changes > 0 || addressesOfKnownArrivals else { continue }
                    for (role, list) in [(0, a.senders), (1, a.recipientAddresses)] {
                        for value in list {
                            try address.bind([.text(a.originalSHA256), .int(Int64(role)), .text(value)])
                            _ = try address.step()
                        }
                    }
                }
            }
        }
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    // MARK: Rows

    static let columns = "id, sha256, message_id, received_at, subject, size, stored_size, segment, offset"
    static let arrivalColumns = """
        id, message, received_at, node, listener, client, helo, tls, sender, recipients, journal, content_key, digest, \
        received_size, stored_size, segment, offset
        """
    /// `columns` of `messages m`, then what its arrivals add up to (`entry` reads them).
    static let listColumns = """
        m.id, m.sha256, m.message_id, m.received_at, m.subject, m.size, m.stored_size, m.segment, m.offset,
        (SELECT COUNT(*) FROM arrivals a WHERE a.message = m.sha256),
        (SELECT IFNULL(MAX(a.journal), 0) FROM arrivals a WHERE a.message = m.sha256),
        (SELECT group_concat(address, char(10)) FROM (SELECT address FROM addresses WHERE message = m.sha256 AND role = 0 ORDER BY rowid)),
        (SELECT group_concat(address, char(10)) FROM (SELECT address FROM addresses WHERE message = m.sha256 AND role = 1 ORDER BY rowid))
        """

    /// The row `stmt` is on, its `columns` starting at column `first` (and with
    /// `aggregates`, the four `listColumns` after them).
    static func entry(_ stmt: SQLiteConnection.Statement, from first: Int32 = 0, aggregates: Bool = false) -> ArchiveIndexEntry {
        var e = ArchiveIndexEntry(
            id: stmt.text(first) ?? "", sha256: stmt.text(first + 1) ?? "", messageID: stmt.text(first + 2),
            receivedAt: Date(timeIntervalSince1970: Double(stmt.int(first + 3)) / 1000), subject: stmt.text(first + 4),
            size: UInt64(stmt.int(first + 5)), storedSize: Int(stmt.int(first + 6)), segment: UInt64(stmt.int(first + 7)),
            offset: Int(stmt.int(first + 8)))
        if aggregates {
            e.arrivals = Int(stmt.int(first + 9))
            e.journal = stmt.int(first + 10) != 0
            e.senders = lines(stmt.text(first + 11))
            e.recipients = lines(stmt.text(first + 12))
        }
        return e
    }

    static func arrival(_ stmt: SQLiteConnection.Statement) -> ArrivalEntry {
        ArrivalEntry(
            id: stmt.text(0) ?? "", originalSHA256: stmt.text(1) ?? "",
            receivedAt: Date(timeIntervalSince1970: Double(stmt.int(2)) / 1000), node: stmt.text(3) ?? "",
            listener: stmt.text(4) ?? "", clientAddress: stmt.text(5) ?? "", helo: stmt.text(6) ?? "", tls: stmt.text(7),
            sender: stmt.text(8) ?? "", recipients: lines(stmt.text(9)), journal: stmt.int(10) != 0, contentKey: stmt.text(11) ?? "",
            digest: stmt.text(12) ?? "", receivedSize: UInt64(stmt.int(13)), storedSize: Int(stmt.int(14)),
            segment: UInt64(stmt.int(15)), offset: Int(stmt.int(16)))
    }

    private static func lines(_ text: String?) -> [String] {
        (text ?? "").split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Text as its column gives it back: bound as a C string, so it ends at a NUL (a
    /// Subject may hold one).
    static func stored(_ text: String) -> String { text.firstIndex(of: "\0").map { String(text[..<$0]) } ?? text }

    static func storedForm(_ entry: ArchiveIndexEntry) -> ArchiveIndexEntry {
        var row = entry
        row.id = stored(entry.id)
        row.sha256 = stored(entry.sha256)
        row.messageID = entry.messageID.map(stored)
        row.subject = entry.subject.map(stored)
        row.senders = []
        row.recipients = []
        row.arrivals = 0
        row.journal = false
        return row
    }

    static func storedForm(_ entry: ArrivalEntry) -> ArrivalEntry {
        var row = entry
        row.id = stored(entry.id)
        row.node = stored(entry.node)
        row.listener = stored(entry.listener)
        row.clientAddress = stored(entry.clientAddress)
        row.helo = stored(entry.helo)
        row.tls = entry.tls.map(stored)
        row.sender = stored(entry.sender)
        row.recipients = stored(entry.recipients.joined(separator: "\n")).split(separator: "\n").map(String.init)
        row.senders = []
        row.recipientAddresses = []
        return row
    }

    // MARK: Lookups

    private func entries(_ sql: String, _ values: [SQLiteConnection.Statement.Value], aggregates: Bool = false) throws -> [ArchiveIndexEntry] {
        try connection.withStatement(sql) { stmt in
            try stmt.bind(values)
            var result: [ArchiveIndexEntry] = []
            while try stmt.step() { result.append(Self.entry(stmt, aggregates: aggregates)) }
            return result
        }
    }

    private func arrivals(_ sql: String, _ values: [SQLiteConnection.Statement.Value]) throws -> [ArrivalEntry] {
        try connection.withStatement(sql) { stmt in
            try stmt.bind(values)
            var result: [ArrivalEntry] = []
            while try stmt.step() { result.append(Self.arrival(stmt)) }
            return result
        }
    }

    /// The row of an original, without what its arrivals add up to: the writer's dedupe.
    func row(sha256 hex: String) throws -> ArchiveIndexEntry? {
        try entries("SELECT \(Self.columns) FROM messages WHERE sha256 = ?", [.text(hex)]).first
    }

    func entry(sha256 hex: String) throws -> ArchiveIndexEntry? {
        try entries("SELECT \(Self.listColumns) FROM messages m WHERE m.sha256 = ?", [.text(hex)], aggregates: true).first
    }

    func entry(id: String) throws -> ArchiveIndexEntry? {
        try entries("SELECT \(Self.listColumns) FROM messages m WHERE m.id = ?", [.text(id)], aggregates: true).first
    }

    /// The most recently inserted original; open re-reads its record to check the index
    /// still describes the segments (it is never trusted blindly).
    func lastEntry() throws -> ArchiveIndexEntry? {
        try entries("SELECT \(Self.columns) FROM messages ORDER BY rowid DESC LIMIT 1", []).first
    }

    /// The most recently inserted arrival: a message's last record (see `lastEntry`).
    func lastArrival() throws -> ArrivalEntry? {
        try arrivals("SELECT \(Self.arrivalColumns) FROM arrivals ORDER BY rowid DESC LIMIT 1", []).first
    }

    func arrival(id: String) throws -> ArrivalEntry? {
        try arrivals("SELECT \(Self.arrivalColumns) FROM arrivals WHERE id = ?", [.text(id)]).first
    }

    /// The arrivals of an original, in the order they were indexed.
    func arrivals(ofOriginal sha256: String) throws -> [ArrivalEntry] {
        try arrivals("SELECT \(Self.arrivalColumns) FROM arrivals WHERE message = ? ORDER BY rowid", [.text(sha256)])
    }

    /// An arrival recorded with `contentKey` and received at most `retryWindow` before or
    /// after `receivedAt`: the arrival a retry of the same transaction is.
    func arrival(contentKey: String, near receivedAt: Date) throws -> ArrivalEntry? {
        let at = Self.millis(receivedAt), window = Int64(Self.retryWindow * 1000)
        return try arrivals("""
            SELECT \(Self.arrivalColumns) FROM arrivals WHERE content_key = ? AND received_at BETWEEN ? AND ? LIMIT 1
            """, [.text(contentKey), .int(at - window), .int(at + window)]).first
    }

    /// Originals matching `filter`, oldest first. Message-ID matching is done in Swift to
    /// ignore angle brackets.
    func list(_ filter: ArchiveFilter) throws -> [ArchiveIndexEntry] {
        var clauses: [String] = []
        var values: [SQLiteConnection.Statement.Value] = []
        if let since = filter.since {
            clauses.append("m.received_at >= ?"); values.append(.int(Int64((since.timeIntervalSince1970 * 1000).rounded(.up))))
        }
        if let until = filter.until {
            clauses.append("m.received_at < ?"); values.append(.int(Int64((until.timeIntervalSince1970 * 1000).rounded(.up))))
        }
        if let sender = filter.sender {
            clauses.append("m.sha256 IN (SELECT message FROM addresses WHERE address = ? AND role = 0)"); values.append(.text(sender))
        }
        if let recipient = filter.recipient {
            clauses.append("m.sha256 IN (SELECT message FROM addresses WHERE address = ? AND role = 1)"); values.append(.text(recipient))
        }
        let whereClause = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        let rows = try entries("SELECT \(Self.listColumns) FROM messages m \(whereClause) ORDER BY m.received_at, m.id", values,
                               aggregates: true)
        return rows.filter(filter.matches)
    }

    /// Every arrival (for `digest`), oldest first.
    func allArrivals() throws -> [ArrivalEntry] {
        try arrivals("SELECT \(Self.arrivalColumns) FROM arrivals ORDER BY received_at, id", [])
    }

    /// Whether the addresses table holds `address` for the original `sha256` in `role`
    /// (0 sender, 1 recipient): `verify` asks it for every address of every arrival.
    func hasAddress(_ address: String, role: Int, original sha256: String) throws -> Bool {
        try connection.withStatement("SELECT 1 FROM addresses WHERE message = ? AND role = ? AND address = ?") { stmt in
            try stmt.bind([.text(sha256), .int(Int64(role)), .text(Self.stored(address))])
            return try stmt.step()
        }
    }
}
