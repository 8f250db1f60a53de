import DurableFiles
import Foundation

/// One archived original as listed: what the index knows, where its record lives, and
/// what its arrivals add up to.
public struct ArchiveIndexEntry: Sendable, Equatable {
    public var id: String
    public var sha256: String
    public var messageID: String?
    /// When the arrival that brought the original here was received.
    public var receivedAt: Date
    public var subject: String?
    public var size: UInt64
    /// On-disk size of the original's record (framing, metadata and compressed body).
    public var storedSize: Int
    public var segment: UInt64
    public var offset: Int
    /// Every real sender of every arrival (`Arrival.senders`), first arrival first.
    public var senders: [String] = []
    /// Every recipient of every arrival (`Arrival.recipientAddresses`), first arrival first.
    public var recipients: [String] = []
    /// How many arrivals brought it.
    public var arrivals = 0
    /// Whether any arrival was a journal report.
    public var journal = false

    /// The first arrival's real sender; empty for the null sender `<>`.
    public var sender: String { senders.first ?? "" }

    public var position: ArchivePosition { ArchivePosition(segment: segment, offset: offset) }

    init(metadata m: ArchiveMetadata, segment: UInt64, offset: Int, storedSize: Int) {
        id = m.id
        sha256 = m.sha256Hex
        messageID = m.messageID
        receivedAt = m.receivedAt
        subject = m.subject
        size = m.originalSize
        self.storedSize = storedSize
        self.segment = segment
        self.offset = offset
    }

    init(id: String, sha256: String, messageID: String?, receivedAt: Date, subject: String?, size: UInt64, storedSize: Int,
         segment: UInt64, offset: Int) {
        self.id = id; self.sha256 = sha256; self.messageID = messageID; self.receivedAt = receivedAt
        self.subject = subject; self.size = size
        self.storedSize = storedSize; self.segment = segment; self.offset = offset
    }

    /// Adds an arrival's addresses to the unions (each address once, case-insensitively).
    mutating func add(_ arrival: Arrival) {
        arrivals += 1
        journal = journal || arrival.isJournalReport
        Self.merge(arrival.senders, into: &senders)
        Self.merge(arrival.recipientAddresses, into: &recipients)
    }

    private static func merge(_ addresses: [String], into list: inout [String]) {
        for address in addresses where !list.contains(where: { $0.caseInsensitiveCompare(address) == .orderedSame }) {
            list.append(address)
        }
    }
}

/// One arrival as the index keeps it: enough to find its record, dedupe it, and answer
/// `list` and `digest` without reading the record. `show` reads the record for the rest
/// (the report's envelope, the wrapper).
public struct ArrivalEntry: Sendable, Equatable {
    public var id: String
    /// The SHA-256 (hex) of the original it carried.
    public var originalSHA256: String
    public var receivedAt: Date
    public var node: String
    public var listener: String
    public var clientAddress: String
    public var helo: String
    public var tls: String?
    /// MAIL FROM and RCPT TO.
    public var sender: String
    public var recipients: [String]
    public var journal: Bool
    /// `Arrival.contentKey`: what a retry of the same transaction shares.
    public var contentKey: String
    /// `Arrival.digest` (hex), what `archive digest` adds up.
    public var digest: String
    public var receivedSize: UInt64
    public var storedSize: Int
    public var segment: UInt64
    public var offset: Int
    /// For the `addresses` table, not columns of this row: `Arrival.senders` and
    /// `Arrival.recipientAddresses`; empty when read back from the index.
    var senders: [String] = []
    var recipientAddresses: [String] = []

    public var position: ArchivePosition { ArchivePosition(segment: segment, offset: offset) }

    init(_ a: Arrival, originalSHA256: [UInt8], storedSize: Int, segment: UInt64, offset: Int, keys: ArrivalKeys? = nil) {
        let e = a.envelope
        let keys = keys ?? a.keys(originalSHA256: originalSHA256)
        self.init(id: a.id, originalSHA256: Hex.encode(originalSHA256), receivedAt: e.receivedAt, node: e.node, listener: e.listener,
                  clientAddress: e.clientAddress, helo: e.helo, tls: e.tls, sender: e.sender, recipients: e.recipients,
                  journal: a.isJournalReport, contentKey: keys.contentKey, digest: keys.digest,
                  receivedSize: a.receivedSize, storedSize: storedSize, segment: segment, offset: offset)
        senders = a.senders
        recipientAddresses = a.recipientAddresses
    }

    init(id: String, originalSHA256: String, receivedAt: Date, node: String, listener: String, clientAddress: String, helo: String,
         tls: String?, sender: String, recipients: [String], journal: Bool, contentKey: String, digest: String, receivedSize: UInt64,
         storedSize: Int, segment: UInt64, offset: Int) {
        self.id = id; self.originalSHA256 = originalSHA256; self.receivedAt = receivedAt; self.node = node
        self.listener = listener; self.clientAddress = clientAddress; self.helo = helo; self.tls = tls
        self.sender = sender; self.recipients = recipients; self.journal = journal; self.contentKey = contentKey
        self.digest = digest; self.receivedSize = receivedSize; self.storedSize = storedSize; self.segment = segment
        self.offset = offset
    }
}

/// What a batch of records adds to the index.
struct IndexRows {
    var originals: [ArchiveIndexEntry] = []
    var arrivals: [ArrivalEntry] = []

    var isEmpty: Bool { originals.isEmpty && arrivals.isEmpty }
    var count: Int { originals.count + arrivals.count }

    mutating func append(_ other: IndexRows) {
        originals += other.originals
        arrivals += other.arrivals
    }

    /// What the record at `segment`/`offset` adds.
    mutating func add(_ contents: RecordContents, segment: UInt64, offset: Int, storedSize: Int) {
        switch contents {
        case .original(let m):
            originals.append(ArchiveIndexEntry(metadata: m, segment: segment, offset: offset, storedSize: storedSize))
        case .arrival(let a, let reference):
            arrivals.append(ArrivalEntry(a, originalSHA256: reference.sha256, storedSize: storedSize, segment: segment, offset: offset))
        case .originalWithArrival(let m, let a):
            originals.append(ArchiveIndexEntry(metadata: m, segment: segment, offset: offset, storedSize: storedSize))
            arrivals.append(ArrivalEntry(a, originalSHA256: m.sha256, storedSize: storedSize, segment: segment, offset: offset))
        }
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
        if let sender, !e.senders.contains(where: { $0.lowercased() == sender.lowercased() }) { return false }
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

