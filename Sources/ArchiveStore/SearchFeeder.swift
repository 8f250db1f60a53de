import DurableFiles
import Foundation
import Logging
import MessageText

/// Feeds the search index from the segments, a batch per transaction, from where the
/// index's `progress` says up to a given end.
///
/// It follows the segments rather than the commit path's hand-over: the same code then
/// catches up an archive that never had a search index, resumes after a crash (`progress`
/// commits with the rows it covers, so a batch is in whole or not at all), and lets the
/// node and `archive search` both feed the same database: every batch reads `progress`
/// inside its write transaction, so whoever comes second starts where the first stopped.
final class SearchFeeder {
    /// A batch ends after this many records or this many original bytes, whichever first:
    /// a transaction short enough that a searcher feeding the same database waits little.
    static let batchRecords = 512
    static let batchBytes = 32 << 20

    let index: SearchIndex
    private let directory: String
    /// The node's keys (replaced on reload) or the CLI's: encrypted segments' records.
    private let keys: ArchiveKeys
    /// Reads evicted segments' records.
    private let remote: (any RemoteSegmentSource)?
    private let logger: Logger
    /// The segment being read, kept between batches.
    private var current: OpenSegment?

    private struct OpenSegment {
        var sequence: UInt64
        var file: SegmentFile
        var descriptor: SegmentDescriptor
        /// Dictionaries of the segment, as of `offset`; nil until a record needs them (a
        /// search that finds nothing new to index then never loads them).
        var dictionaries: SegmentDictionaries?
        var offset: Int

        /// The dictionaries for the record at `offset`: all of them precede a segment's
        /// first message record, so loading up to it finds every one.
        mutating func dictionaries(before offset: Int) throws -> SegmentDictionaries {
            if let dictionaries { return dictionaries }
            let loaded = try SegmentDictionaries.load(file, limit: offset).0
            dictionaries = loaded
            return loaded
        }
    }

    init(index: SearchIndex, archiveDirectory: String, keys: ArchiveKeys = ArchiveKeys(), remote: (any RemoteSegmentSource)? = nil,
         logger: Logger) {
        self.index = index
        self.directory = archiveDirectory
        self.keys = keys
        self.remote = remote
        self.logger = logger
    }

    deinit { current?.file.close() }

    /// Lets go of the segment kept open between batches (expiry may have replaced it).
    func closeSegment() {
        current?.file.close()
        current = nil
    }

    /// Feeds batches until every valid record there is has been indexed.
    func catchUp() throws {
        while !(try step(until: nil).caughtUp) {}
    }

    /// What one batch did.
    struct Batch: Equatable {
        /// Message and arrival records read (a message record of a new original holds one
        /// arrival too: counted once).
        var records = 0
        /// Whether the records up to `end` are all indexed now.
        var caughtUp = false
    }

    /// Indexes the next batch of records before `end` (nil: every valid record there is,
    /// the active segment's up to its first invalid byte).
    /// `stop` is asked before each record: once it says yes, the batch commits what it
    /// has (a node shutting down waits for one record's extraction, not a batch's).
    func step(until end: IndexCheckpoint?, stop: () -> Bool = { false }) throws -> Batch {
        try index.connection.transaction {
            var batch = Batch()
            let stored = try index.progress()
            guard var position = try stored ?? firstPosition() else {
                batch.caughtUp = true
                return batch
            }
            var bytes = 0
            while batch.records < Self.batchRecords && bytes < Self.batchBytes && !stop() {
                if let end, (position.segment, position.offset) >= (end.segment, end.offset) {
                    batch.caughtUp = true
                    break
                }
                guard let next = try read(at: position, end: end) else {
                    batch.caughtUp = true
                    break
                }
                switch next {
                case .record(let record, let after):
                    bytes += try add(record)
                    batch.records += 1
                    position = after
                case .skip(let after):
                    position = after
                }
            }
            if position != stored { try index.setProgress(position) }
            return batch
        }
    }

    private func firstPosition() throws -> IndexCheckpoint? {
        guard let first = try SegmentCatalog.load(directory: directory, keys: keys.ring, remote: remote).first else { return nil }
        return IndexCheckpoint(segment: first.sequence, offset: SegmentHeader.size)
    }

    private enum Next {
        case record(StoredContents, after: IndexCheckpoint)
        /// Nothing to index (a dictionary record, damage, a segment's end): go on from here.
        case skip(after: IndexCheckpoint)
    }

    private enum StoredContents {
        /// The record holds its first arrival (`ArchiveRecord.arrival`).
        case message(ArchiveRecord)
        case arrival(Arrival, OriginalReference)
    }

    /// The record at `position`, or where to go on from; nil when there is nothing more
    /// before `end` (or in the archive).
    private func read(at position: IndexCheckpoint, end: IndexCheckpoint?) throws -> Next? {
        guard var segment = try open(position) else { return nil }
        defer { current = segment }
        // The node's durable end lies within the file: no size needed. Otherwise the
        // segment's records' end, which for an unsealed segment may be stale (it grows, and
        // gets sealed): read again before concluding anything from it.
        func limit() -> Int {
            if let end, position.segment == end.segment { return end.offset }
            return segment.descriptor.recordsEnd
        }
        var refreshed = false
        func refresh() throws {
            guard !refreshed, !segment.descriptor.isSealed else { return }
            segment.descriptor = try SegmentCatalog.describe(directory: directory, sequence: segment.sequence, path: segment.descriptor.path,
                                                             keys: keys.ring, remote: remote)
            refreshed = true
        }
        if position.offset >= limit() { try refresh() }
        guard position.offset < limit() else { return pastSegment(position, end: end) }
        if let removed = segment.file.removed[position.offset] {  // expiry took it
            return .skip(after: IndexCheckpoint(segment: position.segment, offset: position.offset + removed))
        }
        var next: SegmentScanner.RecordRead
        do {
            next = try SegmentScanner.readRecord(segment.file, at: position.offset, limit: limit())
            if case .invalid = next, !refreshed, !segment.descriptor.isSealed {
                try refresh()
                next = try SegmentScanner.readRecord(segment.file, at: position.offset, limit: limit())
            }
        } catch let error as SegmentKeyError where error.isAuthentication {
            // Intact on disk, its contents changed: stepped over like damage.
            logger.error("search index: record unreadable, not indexed", metadata: ["error": "\(error)"])
            guard let valid = try SegmentScanner.findValidRecord(segment.file, after: position.offset, limit: limit()) else {
                return pastSegment(position, end: end)
            }
            return .skip(after: IndexCheckpoint(segment: position.segment, offset: valid))
        }
        switch next {
        case .valid(let header, let bytes):
            let after = IndexCheckpoint(segment: position.segment, offset: position.offset + header.recordLength)
            segment.offset = after.offset
            switch header.kind {
            case .dictionary:
                _ = segment.dictionaries?.register(header, bytes)
                return .skip(after: after)
            case .message:
                do {
                    let dictionaries = try segment.dictionaries(before: position.offset)
                    return .record(.message(try RecordCodec.decode(bytes, dictionaries: dictionaries)), after: after)
                } catch {
                    logger.error("search index: record unreadable, not indexed", metadata: ["segment": "\(position.segment)", "offset": "\(position.offset)", "error": "\(error)"])
                    return .skip(after: after)
                }
            case .arrival:
                do {
                    let dictionaries = try segment.dictionaries(before: position.offset)
                    guard case .arrival(let arrival, let reference) = try RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries) else {
                        return .skip(after: after)
                    }
                    return .record(.arrival(arrival, reference), after: after)
                } catch {
                    logger.error("search index: arrival record unreadable, not indexed", metadata: ["segment": "\(position.segment)", "offset": "\(position.offset)", "error": "\(error)"])
                    return .skip(after: after)
                }
            }
        case .invalid(let reason):
            // The active segment's tail (a record being written, the preallocated zeros)
            // ends the run; damage in a segment behind it is stepped over, as readers do.
            if end == nil && nextSequence(after: position.segment) == nil { return nil }
            if let valid = try SegmentScanner.findValidRecord(segment.file, after: position.offset, limit: limit()) {
                logger.error("search index: damaged bytes skipped", metadata: ["segment": "\(position.segment)", "offset": "\(position.offset)", "reason": "\(reason)"])
                return .skip(after: IndexCheckpoint(segment: position.segment, offset: valid))
            }
            // Before the durable end nothing is torn: damage up to it is stepped over whole.
            if let end, position.segment == end.segment {
                logger.error("search index: damaged bytes skipped", metadata: ["segment": "\(position.segment)", "offset": "\(position.offset)", "reason": "\(reason)"])
                return .skip(after: end)
            }
            return pastSegment(position, end: end)
        }
    }

    /// Past the records of `position`'s segment: the next segment's start, or nil when it
    /// is the last before `end` (or in the archive). Lists the directory, so only asked at
    /// a segment's end or damage.
    private func pastSegment(_ position: IndexCheckpoint, end: IndexCheckpoint?) -> Next? {
        if let end, position.segment >= end.segment { return nil }
        guard let next = nextSequence(after: position.segment) ?? end.map({ _ in position.segment + 1 }) else { return nil }
        return .skip(after: IndexCheckpoint(segment: next, offset: SegmentHeader.size))
    }

    /// The segment of `position`, opened (or kept from the last call), with its
    /// dictionaries as of that offset; nil when it does not exist.
    private func open(_ position: IndexCheckpoint) throws -> OpenSegment? {
        if var kept = current, kept.sequence == position.segment {
            current = nil
            if kept.offset != position.offset {
                kept.dictionaries = nil
                kept.offset = position.offset
            }
            return kept
        }
        current?.file.close()
        current = nil
        let path = directory + "/" + SegmentName.file(position.segment)
        guard FileManager.default.fileExists(atPath: path)
                || FileManager.default.fileExists(atPath: directory + "/" + SegmentName.evicted(position.segment)) else { return nil }
        let opened = try SegmentCatalog.open(directory: directory, sequence: position.segment, path: path, keys: keys.ring, remote: remote)
        return OpenSegment(sequence: position.segment, file: opened.file, descriptor: opened.descriptor,
                           dictionaries: position.offset > SegmentHeader.size ? nil : SegmentDictionaries(), offset: position.offset)
    }

    private func nextSequence(after sequence: UInt64) -> UInt64? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap(SegmentName.segmentOrStubSequence(of:)).filter { $0 > sequence }.min()
    }

    /// Adds a record's original (extracting its text) and arrival; returns the original's
    /// size, what the batch limit counts.
    private func add(_ contents: StoredContents) throws -> Int {
        switch contents {
        case .message(let record):
            let original: [UInt8]
            do {
                original = try record.original()
            } catch {
                logger.error("search index: original unreadable, not indexed", metadata: ["id": "\(record.metadata.id)", "error": "\(error)"])
                return 0
            }
            _ = try index.add(record.metadata, text: MessageTextExtractor.extract(original))
            if let arrival = record.arrival { _ = try index.add(arrival, original: record.metadata.sha256Hex) }
            return original.count
        case .arrival(let arrival, let reference):
            _ = try index.add(arrival, original: Hex.encode(reference.sha256))
            return 0
        }
    }
}
