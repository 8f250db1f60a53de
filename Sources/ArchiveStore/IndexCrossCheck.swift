import Foundation

/// `verify`'s comparison of the index with the segments. `list`, `digest` and dedupe
/// believe the index, so a deleted or edited row changes what they say without touching a
/// segment: every record before the index's checkpoint must have its rows (its original's
/// in `messages`, its arrival's in `arrivals`, the arrival's addresses in `addresses`),
/// equal in every column, and every row must describe a record at its segment and offset.
///
/// The index is read in one read transaction, opened before the segments are listed: a
/// running node only indexes durable records, so the segments then hold every record its
/// rows name. Rows are merged with the records in (segment, offset) order, so memory does
/// not grow with the archive; the transaction holds back WAL checkpoints until `finish`.
final class IndexCrossCheck {
    /// One table's rows in (segment, offset) order; `current` is the next row not yet
    /// matched with a record.
    private struct Rows<Row> {
        let statement: SQLiteConnection.Statement
        let read: (SQLiteConnection.Statement) -> Row
        let position: (Row) -> ArchivePosition
        let orphan: (Row) -> String
        var current: Row?

        init(_ statement: SQLiteConnection.Statement, read: @escaping (SQLiteConnection.Statement) -> Row,
             position: @escaping (Row) -> ArchivePosition, orphan: @escaping (Row) -> String) throws {
            self.statement = statement
            self.read = read
            self.position = position
            self.orphan = orphan
            current = try statement.step() ? read(statement) : nil
        }

        mutating func advance() throws {
            current = try statement.step() ? read(statement) : nil
        }

        /// Passes (and reports) the rows before `position`; the row at it, if there is one.
        mutating func row(at position: ArchivePosition, fault: (ArchivePosition, String) -> Void) throws -> Row? {
            while let row = current, self.position(row) < position {
                fault(self.position(row), orphan(row))
                try advance()
            }
            guard let row = current, self.position(row) == position else { return nil }
            try advance()
            return row
        }

        /// Passes the rows of segment `sequence` unmatched (and reports those before it).
        mutating func skip(segment sequence: UInt64, fault: (ArchivePosition, String) -> Void) throws {
            while let row = current, self.position(row).segment <= sequence {
                if self.position(row).segment < sequence { fault(self.position(row), orphan(row)) }
                try advance()
            }
        }

        /// Reports every row left.
        mutating func rest(fault: (ArchivePosition, String) -> Void) throws {
            while let row = current {
                fault(position(row), orphan(row))
                try advance()
            }
        }
    }

    private let index: ArchiveIndex
    private let checkpoint: IndexCheckpoint?
    private var originals: Rows<ArchiveIndexEntry>
    private var arrivals: Rows<ArrivalEntry>
    private(set) var faults: [ArchiveFault] = []
    /// Records after the checkpoint without a row: not indexed yet (the node is behind).
    private(set) var notYetIndexed = 0
    /// Records whose digest (or arrival id) is indexed at an earlier copy (stored while
    /// dedupe was off).
    private(set) var laterCopies = 0
    /// Set when SQLite failed mid-way: what was compared stands, the rest is not checked.
    private var broken = false

    /// Opens the index at `path` read-only and begins the snapshot; nil when there is none.
    static func begin(path: String) throws -> IndexCrossCheck? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let index = try ArchiveIndex.openReadOnly(path: path)
        try index.connection.execute("BEGIN")
        return try IndexCrossCheck(index: index, checkpoint: index.checkpoint())
    }

    private init(index: ArchiveIndex, checkpoint: IndexCheckpoint?) throws {
        self.index = index
        self.checkpoint = checkpoint
        originals = try Rows(index.connection.prepare("SELECT \(ArchiveIndex.columns) FROM messages ORDER BY segment, offset"),
                             read: { ArchiveIndex.entry($0) }, position: \.position,
                             orphan: { "index: row of message \($0.id) (sha256 \($0.sha256)) has no valid record here" })
        arrivals = try Rows(index.connection.prepare("SELECT \(ArchiveIndex.arrivalColumns) FROM arrivals ORDER BY segment, offset"),
                            read: ArchiveIndex.arrival, position: \.position,
                            orphan: { "index: row of arrival \($0.id) has no valid record here" })
    }

    /// What the next valid record of the segments, in order, adds to the index.
    func record(_ rows: IndexRows) {
        guard !broken else { return }
        sqlite {
            for record in rows.originals { try compare(record) }
            for record in rows.arrivals { try compare(record) }
        }
    }

    private func compare(_ record: ArchiveIndexEntry) throws {
        if let current = try originals.row(at: record.position, fault: fault) {
            let altered = ArchiveIndex.storedForm(record).fieldsDiffering(from: current)
            if !altered.isEmpty {
                fault(current.position, "index: row of message \(current.id) differs from the record in \(altered.joined(separator: ", "))")
            }
        } else if isBeforeCheckpoint(record.position) {
            if let first = try index.entry(sha256: record.sha256), first.position < record.position {
                laterCopies += 1
            } else {
                fault(record.position, "index: no row for message \(record.id) (sha256 \(record.sha256))")
            }
        } else {
            notYetIndexed += 1
        }
    }

    private func compare(_ record: ArrivalEntry) throws {
        if let current = try arrivals.row(at: record.position, fault: fault) {
            let altered = ArchiveIndex.storedForm(record).fieldsDiffering(from: current)
            if !altered.isEmpty {
                fault(current.position, "index: row of arrival \(current.id) differs from the record in \(altered.joined(separator: ", "))")
            }
            // `list --sender` / `--recipient` read the addresses table.
            for (role, list) in [(0, record.senders), (1, record.recipientAddresses)] {
                for address in list where try !index.hasAddress(address, role: role, original: record.originalSHA256) {
                    fault(record.position, "index: address \(address) of arrival \(record.id) is missing")
                }
            }
        } else if isBeforeCheckpoint(record.position) {
            if let first = try index.arrival(id: record.id), first.position < record.position {
                laterCopies += 1
            } else {
                fault(record.position, "index: no row for arrival \(record.id)")
            }
        } else {
            notYetIndexed += 1
        }
    }

    /// A segment whose records are not read (evicted, no source): its rows are not compared.
    func skip(segment: UInt64) {
        guard !broken else { return }
        sqlite {
            try originals.skip(segment: segment, fault: fault)
            try arrivals.skip(segment: segment, fault: fault)
        }
    }

    private func isBeforeCheckpoint(_ position: ArchivePosition) -> Bool {
        guard let checkpoint else { return false }
        return position < ArchivePosition(segment: checkpoint.segment, offset: checkpoint.offset)
    }

    /// Reports the rows left over and the addresses of no message, ends the snapshot.
    func finish() -> [ArchiveFault] {
        sqlite {
            guard !broken else { return }
            try originals.rest(fault: fault)
            try arrivals.rest(fault: fault)
            let orphans = try index.connection.prepare("""
                SELECT COUNT(*) FROM addresses WHERE message NOT IN (SELECT message FROM arrivals)
                """)
            if try orphans.step(), orphans.int(0) > 0 {
                faults.append(ArchiveFault(segment: ArchiveLayout.indexFileName, offset: nil,
                                           reason: "index: \(orphans.int(0)) address rows belong to no arrival"))
            }
        }
        try? index.connection.execute("COMMIT")
        return faults
    }

    private func fault(_ position: ArchivePosition, _ reason: String) {
        faults.append(ArchiveFault(segment: SegmentName.file(position.segment), offset: position.offset, reason: reason))
    }

    /// Runs `body`; a SQLite failure (a damaged page) becomes a fault and ends the check.
    private func sqlite(_ body: () throws -> Void) {
        do {
            try body()
        } catch {
            broken = true
            faults.append(ArchiveFault(segment: ArchiveLayout.indexFileName, offset: nil, reason: "index unreadable: \(error)"))
        }
    }
}

extension ArchiveIndexEntry {
    /// The names of the columns that differ from `other`'s.
    func fieldsDiffering(from other: ArchiveIndexEntry) -> [String] {
        let fields: [(name: String, equal: Bool)] = [
            ("id", id == other.id), ("sha256", sha256 == other.sha256), ("message_id", messageID == other.messageID),
            ("received_at", receivedAt == other.receivedAt), ("subject", subject == other.subject), ("size", size == other.size),
            ("stored_size", storedSize == other.storedSize),
        ]
        return fields.filter { !$0.equal }.map(\.name)
    }
}

extension ArrivalEntry {
    /// The names of the columns that differ from `other`'s.
    func fieldsDiffering(from other: ArrivalEntry) -> [String] {
        let fields: [(name: String, equal: Bool)] = [
            ("id", id == other.id), ("message", originalSHA256 == other.originalSHA256), ("received_at", receivedAt == other.receivedAt),
            ("node", node == other.node), ("listener", listener == other.listener), ("client", clientAddress == other.clientAddress),
            ("helo", helo == other.helo), ("tls", tls == other.tls), ("sender", sender == other.sender),
            ("recipients", recipients == other.recipients), ("journal", journal == other.journal),
            ("content_key", contentKey == other.contentKey), ("digest", digest == other.digest),
            ("received_size", receivedSize == other.receivedSize), ("stored_size", storedSize == other.storedSize),
        ]
        return fields.filter { !$0.equal }.map(\.name)
    }
}
