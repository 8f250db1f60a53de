import Crypto
import DurableFiles
import Foundation

/// Read-only access to an archive, safe while a node is writing to it: segments are
/// opened O_RDONLY, the index read-only (WAL readers never block the writer), and a
/// partially written tail of the active segment is simply where reading stops.
///
/// Records committed after the index's checkpoint are found by scanning forward from it,
/// so a lagging or missing index never hides messages.
public final class ArchiveReader {
    public let layout: ArchiveLayout
    private let index: ArchiveIndex?
    /// Records after the index's checkpoint when the reader opened, oldest first; the node
    /// may have indexed some of them since (`list` lists each once).
    private let tail: [ArchiveIndexEntry]
    let segments: [SegmentDescriptor]

    public init(dataDirectory: String) throws {
        layout = ArchiveLayout(dataDirectory: dataDirectory)
        guard FileManager.default.fileExists(atPath: layout.archiveDirectory) else {
            throw ArchiveStoreError.notFound("no archive in \(dataDirectory)")
        }
        segments = try SegmentCatalog.load(directory: layout.archiveDirectory)
        var index = try? ArchiveIndex.openReadOnly(path: layout.indexPath)
        var checkpoint = try? index?.checkpoint()
        if let open = index, (try? IndexAudit.problem(index: open, checkpoint: checkpoint, segments: segments)) != nil {
            index = nil   // doubtful: fall back to scanning everything
            checkpoint = nil
        }
        self.index = index
        var seen = Set<String>()
        var tail: [ArchiveIndexEntry] = []
        for segment in segments {
            if let checkpoint, segment.sequence < checkpoint.segment { continue }
            guard case .success = segment.header else { continue }
            let start = (checkpoint?.segment == segment.sequence ? checkpoint?.offset : nil) ?? SegmentHeader.size
            let file = try SystemFile.openReadOnly(segment.path)
            defer { file.close() }
            _ = try SegmentScanner.scan(file, from: start, to: segment.recordsEnd, skipDamage: true) { offset, header, bytes, dictionaries in
                guard header.kind == .message else { return }
                let m = try RecordCodec.decodeMetadata(bytes, header: header, dictionaries: dictionaries)
                // Whether the index has it too is settled by `list`, which must check
                // anyway: the node may index a record after this scan.
                guard seen.insert(m.sha256Hex).inserted else { return }
                tail.append(ArchiveIndexEntry(metadata: m, segment: segment.sequence, offset: offset, storedSize: header.recordLength))
            }
        }
        self.tail = tail
    }

    /// Whether list and lookups are served by the index (false: by a full scan).
    public var usesIndex: Bool { index != nil }

    /// Messages matching `filter`, ordered by received-at then id. The index is read now,
    /// the tail was scanned at init: a record the node indexed in between is in both and
    /// is listed once.
    public func list(_ filter: ArchiveFilter = ArchiveFilter()) throws -> [ArchiveIndexEntry] {
        let indexed = try index?.list(filter) ?? []
        let indexedDigests = Set(indexed.map(\.sha256))
        let rest = tail.filter { filter.matches($0) && !indexedDigests.contains($0.sha256) }
        return (indexed + rest).sorted { ($0.receivedAt, $0.id) < ($1.receivedAt, $1.id) }
    }

    /// Finds a message by archive id, `sha256:HEX`, or Message-ID (with or without `<>`).
    /// A Message-ID is not unique (a resent message, a careless sender): when several
    /// messages carry it, throws `ambiguous` with their ids rather than pick one.
    public func lookup(_ key: String) throws -> ArchiveIndexEntry {
        if key.lowercased().hasPrefix("sha256:") {
            let hex = String(key.dropFirst(7)).lowercased()
            guard let bytes = Hex.decode(hex), bytes.count == 32 else {
                throw ArchiveStoreError.notFound("malformed digest \(key)")
            }
            if let e = try index?.entry(sha256: hex) ?? tail.first(where: { $0.sha256 == hex }) { return e }
        } else if let e = try entry(id: key) ?? entry(id: key.uppercased()) {
            return e
        } else {
            let matches = try list(ArchiveFilter(messageID: key))
            if matches.count > 1 { throw ArchiveStoreError.ambiguous(key: key, ids: matches.map(\.id)) }
            if let e = matches.first { return e }
        }
        throw ArchiveStoreError.notFound(key)
    }

    private func entry(id: String) throws -> ArchiveIndexEntry? {
        try index?.entry(id: id) ?? tail.first(where: { $0.id == id })
    }

    /// The stored record of an entry, checksummed.
    public func record(_ entry: ArchiveIndexEntry) throws -> ArchiveRecord {
        guard let segment = segments.first(where: { $0.sequence == entry.segment }) else {
            throw ArchiveStoreError.notFound("segment \(entry.segment) for \(entry.id)")
        }
        let file = try SystemFile.openReadOnly(segment.path)
        defer { file.close() }
        switch try SegmentScanner.readRecord(file, at: entry.offset, limit: segment.recordsEnd) {
        case .valid(let header, let bytes):
            let dictionaries = header.dictionaryID == 0 ? SegmentDictionaries() : try SegmentDictionaries.load(file, limit: segment.recordsEnd).0
            return try RecordCodec.decode(bytes, dictionaries: dictionaries)
        case .invalid(let reason): throw ArchiveStoreError.unrecoverable("\(segment.name) offset \(entry.offset): \(reason)")
        }
    }

    /// The exact original bytes, verified against the stored SHA-256.
    public func original(_ entry: ArchiveIndexEntry) throws -> [UInt8] {
        try record(entry).original()
    }

    /// Totals over the whole archive.
    public func stats() throws -> ArchiveStats {
        let all = try list()
        return ArchiveStats(
            messages: all.count,
            rawBytes: all.reduce(0) { $0 + $1.size },
            storedBytes: all.reduce(0) { $0 + UInt64($1.storedSize) },
            segments: segments.count,
            oldest: all.first?.receivedAt,
            newest: all.last?.receivedAt
        )
    }

    /// Per UTC day: message count and SHA-256 over the sorted message digests. Two nodes
    /// holding the same mail print identical lines.
    public func digest(_ filter: ArchiveFilter = ArchiveFilter()) throws -> [DailyDigest] {
        var days: [String: [[UInt8]]] = [:]
        for entry in try list(filter) {
            days[DailyDigest.dayFormatter.string(from: entry.receivedAt), default: []].append(Hex.decode(entry.sha256) ?? [])
        }
        return days.keys.sorted().map { day in
            let digests = (days[day] ?? []).sorted { $0.lexicographicallyPrecedes($1) }
            var hasher = Crypto.SHA256()
            for d in digests { hasher.update(data: d) }
            return DailyDigest(day: day, messages: digests.count, sha256: Hex.encode(hasher.finalize()))
        }
    }
}

/// Archive totals for `archive stats`.
public struct ArchiveStats: Sendable, Equatable {
    public var messages: Int
    public var rawBytes: UInt64
    public var storedBytes: UInt64
    public var segments: Int
    public var oldest: Date?
    public var newest: Date?

    /// Stored bytes per original byte (lower is better); 0 for an empty archive.
    public var ratio: Double { rawBytes == 0 ? 0 : Double(storedBytes) / Double(rawBytes) }
}

/// One line of `archive digest`.
public struct DailyDigest: Sendable, Equatable {
    public var day: String
    public var messages: Int
    public var sha256: String

    static var dayFormatter: DateFormatter {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f
    }
}
