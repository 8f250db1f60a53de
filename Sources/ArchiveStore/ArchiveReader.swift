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
    /// What the records after the index's checkpoint add, scanned when the reader opened;
    /// the node may have indexed some of them since (`list` counts each once).
    private let tail: IndexRows
    /// The arrivals of `tail`, in full, by id.
    private let tailArrivals: [String: Arrival]
    let segments: [SegmentDescriptor]
    /// Open the records of encrypted segments (`[archive] encryption_keys_file`).
    let keys: SegmentKeyRing
    /// Reads evicted segments' records (`[archive.remote]`); nil: reading one throws
    /// `EvictionError.noSource`, and `verify` checks their seals and chain only.
    let remote: (any RemoteSegmentSource)?

    public init(dataDirectory: String, keys: SegmentKeyRing = .none, remote: (any RemoteSegmentSource)? = nil) throws {
        layout = ArchiveLayout(dataDirectory: dataDirectory)
        self.keys = keys
        self.remote = remote
        guard FileManager.default.fileExists(atPath: layout.archiveDirectory) else {
            throw ArchiveStoreError.notFound("no archive in \(dataDirectory)")
        }
        segments = try SegmentCatalog.load(directory: layout.archiveDirectory, keys: keys, remote: remote)
        var index = try? ArchiveIndex.openReadOnly(path: layout.indexPath)
        var checkpoint = try? index?.checkpoint()
        if let open = index, (try? IndexAudit.problem(index: open, checkpoint: checkpoint, segments: segments)) != nil {
            index = nil   // doubtful: fall back to scanning everything
            checkpoint = nil
        }
        self.index = index
        var tail = IndexRows()
        var arrivals: [String: Arrival] = [:]
        for segment in segments {
            if let checkpoint, segment.sequence < checkpoint.segment { continue }
            guard case .success = segment.header else { continue }
            let start = (checkpoint?.segment == segment.sequence ? checkpoint?.offset : nil) ?? SegmentHeader.size
            let file = try SegmentFile.open(segment)
            defer { file.close() }
            _ = try SegmentScanner.scan(file, from: start, to: segment.recordsEnd, skipDamage: true) { offset, header, bytes, dictionaries in
                guard header.kind != .dictionary else { return }
                let contents = try RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries)
                if let arrival = contents.arrival {
                    // A second copy (stored while dedupe was off) adds nothing new.
                    guard arrivals[arrival.id] == nil else { return }
                    arrivals[arrival.id] = arrival
                }
                tail.add(contents, segment: segment.sequence, offset: offset, storedSize: header.recordLength)
            }
        }
        self.tail = tail
        tailArrivals = arrivals
    }

    /// Whether list and lookups are served by the index (false: by a full scan).
    public var usesIndex: Bool { index != nil }

    /// Originals matching `filter`, ordered by received-at then id, each with what all its
    /// arrivals add up to. The index is read now, the tail was scanned at init: a record
    /// the node indexed in between is in both and is counted once.
    public func list(_ filter: ArchiveFilter = ArchiveFilter()) throws -> [ArchiveIndexEntry] {
        // Without the filter's address clauses first: a tail arrival may add the address
        // an indexed original is looked for by.
        var loose = filter
        loose.sender = nil
        loose.recipient = nil
        let indexed = try (tail.arrivals.isEmpty ? index?.list(filter) : index?.list(loose)) ?? []
        var entries: [String: ArchiveIndexEntry] = [:]
        var order: [String] = []
        for entry in indexed {
            entries[entry.sha256] = entry
            order.append(entry.sha256)
        }
        for original in tail.originals where entries[original.sha256] == nil {
            // A tail original the index lacks (it may have been indexed since: ask it).
            if let known = try index?.entry(sha256: original.sha256) {
                guard loose.matches(known) else { continue }
                entries[original.sha256] = known
            } else {
                guard loose.matches(original) else { continue }
                entries[original.sha256] = original
            }
            order.append(original.sha256)
        }
        let indexedArrivals = Set(try tail.arrivals.compactMap { try index?.arrival(id: $0.id) == nil ? nil : $0.id })
        for arrival in tail.arrivals where !indexedArrivals.contains(arrival.id) {
            guard var entry = entries[arrival.originalSHA256], let full = tailArrivals[arrival.id] else { continue }
            entry.add(full)
            entries[arrival.originalSHA256] = entry
        }
        return order.compactMap { entries[$0] }.filter(filter.matches).sorted { ($0.receivedAt, $0.id) < ($1.receivedAt, $1.id) }
    }

    /// Finds an original by archive id, the id of one of its arrivals, `sha256:HEX`, or
    /// Message-ID (with or without `<>`). A Message-ID is not unique (a resent message, a
    /// careless sender): when several originals carry it, throws `ambiguous` with their ids
    /// rather than pick one.
    public func lookup(_ key: String) throws -> ArchiveIndexEntry {
        if key.lowercased().hasPrefix("sha256:") {
            let hex = String(key.dropFirst(7)).lowercased()
            guard let bytes = Hex.decode(hex), bytes.count == 32 else {
                throw ArchiveStoreError.notFound("malformed digest \(key)")
            }
            if let e = try original(sha256: hex) { return e }
        } else if let e = try entry(id: key) ?? entry(id: key.uppercased()) {
            return e
        } else if let arrival = try arrival(id: key) ?? arrival(id: key.uppercased()), let e = try original(sha256: arrival.originalSHA256) {
            return e
        } else {
            let matches = try list(ArchiveFilter(messageID: key))
            if matches.count > 1 { throw ArchiveStoreError.ambiguous(key: key, ids: matches.map(\.id)) }
            if let e = matches.first { return e }
        }
        throw ArchiveStoreError.notFound(key)
    }

    private func original(sha256 hex: String) throws -> ArchiveIndexEntry? {
        guard let e = try index?.entry(sha256: hex) ?? tail.originals.first(where: { $0.sha256 == hex }) else { return nil }
        return try complete(e)
    }

    private func entry(id: String) throws -> ArchiveIndexEntry? {
        guard let e = try index?.entry(id: id) ?? tail.originals.first(where: { $0.id == id }) else { return nil }
        return try complete(e)
    }

    /// `entry` with the arrivals of the tail the index does not have yet.
    private func complete(_ entry: ArchiveIndexEntry) throws -> ArchiveIndexEntry {
        var entry = entry
        for row in tail.arrivals where row.originalSHA256 == entry.sha256 {
            guard try index?.arrival(id: row.id) == nil, let full = tailArrivals[row.id] else { continue }
            entry.add(full)
        }
        return entry
    }

    /// The index's row of an arrival, by id.
    public func arrival(id: String) throws -> ArrivalEntry? {
        try index?.arrival(id: id) ?? tail.arrivals.first { $0.id == id }
    }

    /// Every arrival of an original, in full (read from their records), in the order
    /// they were recorded.
    public func arrivals(of entry: ArchiveIndexEntry) throws -> [Arrival] {
        var rows = try index?.arrivals(ofOriginal: entry.sha256) ?? []
        let known = Set(rows.map(\.id))
        rows += tail.arrivals.filter { $0.originalSHA256 == entry.sha256 && !known.contains($0.id) }
        return try rows.map { try arrival(at: $0) }
    }

    /// The arrival an index row describes, read from its record.
    public func arrival(at row: ArrivalEntry) throws -> Arrival {
        if let full = tailArrivals[row.id] { return full }
        let file = try openSegment(row.segment, for: row.id)
        defer { file.close() }
        switch try SegmentScanner.readRecord(file.file, at: row.offset, limit: file.end) {
        case .valid(let header, let bytes):
            let dictionaries = header.dictionaryID == 0 ? SegmentDictionaries() : try SegmentDictionaries.load(file.file, limit: file.end).0
            guard let arrival = try RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries).arrival else {
                throw ArchiveStoreError.notFound("no arrival at \(row.position)")
            }
            return arrival
        case .invalid(let reason): throw ArchiveStoreError.unrecoverable("\(SegmentName.file(row.segment)) offset \(row.offset): \(reason)")
        }
    }

    /// The stored record of an entry, checksummed.
    public func record(_ entry: ArchiveIndexEntry) throws -> ArchiveRecord {
        let file = try openSegment(entry.segment, for: entry.id)
        defer { file.close() }
        switch try SegmentScanner.readRecord(file.file, at: entry.offset, limit: file.end) {
        case .valid(let header, let bytes):
            let dictionaries = header.dictionaryID == 0 ? SegmentDictionaries() : try SegmentDictionaries.load(file.file, limit: file.end).0
            return try RecordCodec.decode(bytes, dictionaries: dictionaries)
        case .invalid(let reason): throw ArchiveStoreError.unrecoverable("\(SegmentName.file(entry.segment)) offset \(entry.offset): \(reason)")
        }
    }

    private struct OpenSegment {
        var file: SegmentFile
        var end: Int
        func close() { file.close() }
    }

    private func openSegment(_ sequence: UInt64, for id: String) throws -> OpenSegment {
        guard let segment = segments.first(where: { $0.sequence == sequence }) else {
            throw ArchiveStoreError.notFound("segment \(sequence) for \(id)")
        }
        return OpenSegment(file: try SegmentFile.open(segment), end: segment.recordsEnd)
    }

    /// The exact original bytes, verified against the stored SHA-256.
    public func original(_ entry: ArchiveIndexEntry) throws -> [UInt8] {
        try record(entry).original()
    }

    /// An arrival's bytes exactly as received (the original, or the journal report that
    /// wrapped it), verified against the SHA-256 recorded when it arrived.
    public func asReceived(_ row: ArrivalEntry) throws -> [UInt8] {
        let arrival = try arrival(at: row)
        guard let entry = try original(sha256: row.originalSHA256) else { throw ArchiveStoreError.notFound("original of \(row.id)") }
        let original = try self.original(entry)
        return try arrival.asReceived(original: original, originalSHA256: Hex.decode(row.originalSHA256) ?? [])
    }

    /// Every arrival's index row: the index's and the tail's it lacks.
    private func allArrivals() throws -> [ArrivalEntry] {
        var rows = try index?.allArrivals() ?? []
        let known = Set(rows.map(\.id))
        rows += tail.arrivals.filter { !known.contains($0.id) }
        return rows
    }

    /// Totals over the whole archive. Stored bytes: the originals' records (with the
    /// first arrival each holds) and the records of later arrivals.
    public func stats() throws -> ArchiveStats {
        let all = try list()
        let originals = Set(all.map(\.position))
        let arrivalBytes = try allArrivals().filter { !originals.contains($0.position) }.reduce(0) { $0 + UInt64($1.storedSize) }
        return ArchiveStats(
            messages: all.count,
            rawBytes: all.reduce(0) { $0 + $1.size },
            storedBytes: all.reduce(0) { $0 + UInt64($1.storedSize) } + arrivalBytes,
            segments: segments.count,
            oldest: all.first?.receivedAt,
            newest: all.last?.receivedAt
        )
    }

    /// Per UTC day of arrival: how many arrivals, and SHA-256 over their sorted digests
    /// (`Arrival.digest`: the original, the bytes as received, MAIL FROM, RCPT TO). Two
    /// nodes holding the same originals and the same arrivals print identical lines; a
    /// lost envelope shows as a difference.
    public func digest(_ filter: ArchiveFilter = ArchiveFilter()) throws -> [DailyDigest] {
        let rows = try allArrivals()
        var originals: Set<String>?
        if filter != ArchiveFilter() { originals = Set(try list(filter).map(\.sha256)) }
        var days: [String: [[UInt8]]] = [:]
        for row in rows {
            if let originals, !originals.contains(row.originalSHA256) { continue }
            days[DailyDigest.dayFormatter.string(from: row.receivedAt), default: []].append(Hex.decode(row.digest) ?? [])
        }
        return days.keys.sorted().map { day in
            let digests = (days[day] ?? []).sorted { $0.lexicographicallyPrecedes($1) }
            var hasher = Crypto.SHA256()
            for d in digests { hasher.update(data: d) }
            return DailyDigest(day: day, messages: digests.count, sha256: Hex.encode(hasher.finalize()))
        }
    }
}

extension Arrival {
    /// The bytes as received, rebuilt from `original` (already checked against its
    /// SHA-256, `originalSHA256`), checked against `receivedSHA256`. Plain mail is its
    /// original: nothing to rebuild or hash again.
    public func asReceived(original: [UInt8], originalSHA256: [UInt8]) throws -> [UInt8] {
        if wrapper == nil, receivedSHA256 == originalSHA256, receivedSize == UInt64(original.count) { return original }
        let bytes = wrapper?.reconstruct(original: original) ?? original
        guard UInt64(bytes.count) == receivedSize, Array(Crypto.SHA256.hash(data: bytes)) == receivedSHA256 else {
            throw RecordCodecError.digestMismatch
        }
        return bytes
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
    /// Arrivals that day.
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
