import Foundation

/// `verify`'s comparison of the index with the segments. `list`, `digest` and dedupe
/// believe the index, so a deleted or edited row changes what they say without touching a
/// segment: every record before the index's checkpoint must have its row, equal in every
/// field the index keeps, and every row must describe a record at its segment and offset.
///
/// The index is read in one read transaction, opened before the segments are listed: a
/// running node only indexes durable records, so the segments then hold every record its
/// rows name. Rows are merged with the records in (segment, offset) order, so memory does
/// not grow with the archive; the transaction holds back WAL checkpoints until `finish`.
final class IndexCrossCheck {
    private let index: ArchiveIndex
    private let checkpoint: IndexCheckpoint?
    private let rows: SQLiteConnection.Statement
    /// The next row in (segment, offset) order not yet matched with a record.
    private var row: ArchiveIndexEntry?
    private(set) var faults: [ArchiveFault] = []
    /// Records after the checkpoint without a row: not indexed yet (the node is behind).
    private(set) var notYetIndexed = 0
    /// Records whose digest is indexed at an earlier copy (stored while dedupe was off).
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
        rows = try index.connection.prepare("SELECT \(ArchiveIndex.columns) FROM messages ORDER BY segment, offset")
        row = try rows.step() ? ArchiveIndex.entry(rows) : nil
    }

    /// The next valid message record of the segments, in order.
    func record(_ record: ArchiveIndexEntry) {
        guard !broken else { return }
        sqlite {
            while let current = row, current.location < record.location {
                orphan(current)
                try advance()
            }
            if let current = row, current.location == record.location {
                let altered = ArchiveIndex.storedForm(record).fieldsDiffering(from: current)
                if !altered.isEmpty {
                    fault(current, "index: row of message \(current.id) differs from the record in \(altered.joined(separator: ", "))")
                }
                try advance()
            } else if let checkpoint, record.location < checkpoint.location {
                if let first = try index.entry(sha256: record.sha256), first.location < record.location {
                    laterCopies += 1
                } else {
                    fault(record, "index: no row for message \(record.id) (sha256 \(record.sha256))")
                }
            } else {
                notYetIndexed += 1
            }
        }
    }

    /// Reports the rows left over, checks the `recipients` table, ends the snapshot.
    func finish() -> [ArchiveFault] {
        sqlite {
            while !broken, let current = row {
                orphan(current)
                try advance()
            }
            if !broken { try checkRecipientRows() }
        }
        try? index.connection.execute("COMMIT")
        return faults
    }

    /// `list --recipient` reads the `recipients` table: its rows must repeat each message's
    /// recipients, in order, and belong to a message.
    private func checkRecipientRows() throws {
        let messages = try index.connection.prepare("SELECT rowid, \(ArchiveIndex.columns) FROM messages ORDER BY rowid")
        let addresses = try index.connection.prepare("SELECT message, address FROM recipients ORDER BY message, rowid")
        var pending = try addresses.step()
        var orphans = 0
        while try messages.step() {
            let rowID = messages.int(0)
            let entry = ArchiveIndex.entry(messages, from: 1)
            var listed: [String] = []
            while pending, addresses.int(0) <= rowID {
                if addresses.int(0) == rowID { listed.append(addresses.text(1) ?? "") } else { orphans += 1 }
                pending = try addresses.step()
            }
            if listed != entry.recipients {
                fault(entry, "index: recipient rows of message \(entry.id) do not match its recipients")
            }
        }
        while pending {
            orphans += 1
            pending = try addresses.step()
        }
        if orphans > 0 {
            faults.append(ArchiveFault(segment: ArchiveLayout.indexFileName, offset: nil, reason: "index: \(orphans) recipient rows belong to no message"))
        }
    }

    private func advance() throws {
        row = try rows.step() ? ArchiveIndex.entry(rows) : nil
    }

    private func orphan(_ entry: ArchiveIndexEntry) {
        fault(entry, "index: row of message \(entry.id) (sha256 \(entry.sha256)) has no valid record here")
    }

    private func fault(_ entry: ArchiveIndexEntry, _ reason: String) {
        faults.append(ArchiveFault(segment: SegmentName.file(entry.segment), offset: entry.offset, reason: reason))
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

/// A position in the archive, ordered as the segments are.
struct ArchiveLocation: Comparable {
    var segment: UInt64
    var offset: Int

    static func < (a: ArchiveLocation, b: ArchiveLocation) -> Bool {
        (a.segment, a.offset) < (b.segment, b.offset)
    }
}

extension ArchiveIndexEntry {
    var location: ArchiveLocation { ArchiveLocation(segment: segment, offset: offset) }

    /// The names of the fields that differ from `other`'s.
    func fieldsDiffering(from other: ArchiveIndexEntry) -> [String] {
        let fields: [(name: String, equal: Bool)] = [
            ("id", id == other.id), ("sha256", sha256 == other.sha256), ("message_id", messageID == other.messageID),
            ("received_at", receivedAt == other.receivedAt), ("sender", sender == other.sender),
            ("recipients", recipients == other.recipients), ("subject", subject == other.subject), ("size", size == other.size),
            ("stored_size", storedSize == other.storedSize),
        ]
        return fields.filter { !$0.equal }.map(\.name)
    }
}

extension IndexCheckpoint {
    var location: ArchiveLocation { ArchiveLocation(segment: segment, offset: offset) }
}
