import Foundation

/// One arrival as retention sees it: when and where it came, MAIL FROM and RCPT TO.
public struct RetainedArrival: Sendable, Equatable {
    public var receivedAt: Date
    public var listener: String
    /// MAIL FROM; empty for the null sender `<>`.
    public var sender: String
    /// RCPT TO.
    public var recipients: [String]

    public init(receivedAt: Date, listener: String, sender: String, recipients: [String]) {
        self.receivedAt = receivedAt
        self.listener = listener
        self.sender = sender
        self.recipients = recipients
    }
}

/// One original as retention sees it: its arrivals, and every address the index holds for
/// it (the `addresses` table: real senders, and every recipient a journal report names,
/// Bcc included, over all its arrivals).
public struct RetainedOriginal: Sendable, Equatable {
    public var id: String
    public var sha256: String
    public var arrivals: [RetainedArrival]
    public var senders: [String]
    public var recipients: [String]
    /// The segments that hold a record of it (its message record, its arrival records):
    /// what a segment's Object Lock must keep as long as the original is kept.
    public var segments: Set<UInt64>

    public init(id: String, sha256: String, arrivals: [RetainedArrival], senders: [String] = [], recipients: [String] = [],
                segments: Set<UInt64> = []) {
        self.id = id
        self.sha256 = sha256
        self.arrivals = arrivals
        self.senders = senders
        self.recipients = recipients
        self.segments = segments
    }
}

/// The index's originals one batch at a time, in the order they were indexed: the
/// retention planner's input, whose memory is one batch whatever the archive's size.
public final class RetainedOriginals {
    private let index: ArchiveIndex
    private var lastRowID: Int64 = 0

    public init(dataDirectory: String) throws {
        index = try ArchiveIndex.openReadOnly(path: ArchiveLayout(dataDirectory: dataDirectory).indexPath)
    }

    /// The next at most `limit` originals; empty at the end.
    public func next(limit: Int) throws -> [RetainedOriginal] {
        var rows: [(rowid: Int64, original: RetainedOriginal, receivedAt: Date)] = []
        try index.connection.withStatement("SELECT rowid, id, sha256, received_at, segment FROM messages WHERE rowid > ? ORDER BY rowid LIMIT ?") { s in
            try s.bind([.int(lastRowID), .int(Int64(max(1, limit)))])
            while try s.step() {
                rows.append((s.int(0), RetainedOriginal(id: s.text(1) ?? "", sha256: s.text(2) ?? "", arrivals: [],
                                                        segments: [UInt64(clamping: s.int(4))]),
                             Date(timeIntervalSince1970: Double(s.int(3)) / 1000)))
            }
        }
        guard let last = rows.last else { return [] }
        lastRowID = last.rowid
        var position: [String: Int] = [:]
        for (i, row) in rows.enumerated() { position[row.original.sha256] = i }
        let marks = Array(repeating: "?", count: rows.count).joined(separator: ",")
        let keys = rows.map { SQLiteConnection.Statement.Value.text($0.original.sha256) }
        try index.connection.withStatement("""
            SELECT message, received_at, listener, sender, recipients, segment FROM arrivals WHERE message IN (\(marks)) ORDER BY rowid
            """) { s in
            try s.bind(keys)
            while try s.step() {
                guard let i = position[s.text(0) ?? ""] else { continue }
                rows[i].original.arrivals.append(RetainedArrival(
                    receivedAt: Date(timeIntervalSince1970: Double(s.int(1)) / 1000), listener: s.text(2) ?? "",
                    sender: s.text(3) ?? "", recipients: (s.text(4) ?? "").split(separator: "\n").map(String.init)))
                rows[i].original.segments.insert(UInt64(clamping: s.int(5)))
            }
        }
        try index.connection.withStatement("SELECT message, role, address FROM addresses WHERE message IN (\(marks)) ORDER BY rowid") { s in
            try s.bind(keys)
            while try s.step() {
                guard let i = position[s.text(0) ?? ""], let address = s.text(2) else { continue }
                if s.int(1) == 0 { rows[i].original.senders.append(address) } else { rows[i].original.recipients.append(address) }
            }
        }
        // An original stored before arrivals had records has none: its own received-at counts.
        return rows.map { row in
            var original = row.original
            if original.arrivals.isEmpty {
                original.arrivals = [RetainedArrival(receivedAt: row.receivedAt, listener: "", sender: "", recipients: [])]
            }
            return original
        }
    }
}
