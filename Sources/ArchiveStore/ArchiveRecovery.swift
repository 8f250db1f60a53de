import Crypto
import DurableFiles
import Foundation
import Logging

/// Brings a data directory to a consistent state before the store serves: repairs a torn
/// tail of the active segment, checks the segment chain links, validates or rebuilds the
/// index and indexes the records after its checkpoint. Runs on the writer thread.
struct ArchiveRecovery {
    let layout: ArchiveLayout
    let options: ArchiveStoreOptions
    let logger: Logger
    var report = RecoveryReport()

    init(layout: ArchiveLayout, options: ArchiveStoreOptions, logger: Logger) {
        self.layout = layout
        self.options = options
        self.logger = logger
    }

    /// The state the journal starts from.
    struct Outcome {
        var index: ArchiveIndex?
        var writer: SegmentWriter?
        var chainHead: [UInt8]
        var nextSequence: UInt64
        /// The newest compression dictionary of the newest segment: new messages keep
        /// using it after a restart.
        var dictionary: ZstdDictionary?
    }

    mutating func run(now: Date) throws -> Outcome {
        let dir = layout.archiveDirectory
        try FilePermissions.createDirectories(dir)
        try Durable.syncDirectory(layout.dataDirectory, faults: options.faultInjector)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for name in names where name.hasSuffix(".tmp") {
            try Durable.unlinkIfPresent(dir + "/" + name, faults: options.faultInjector)  // an interrupted create or seal
        }
        // An eviction or a compaction of an evicted segment cut short: the file wins.
        for name in names where name.hasSuffix(".remote") {
            guard let sequence = SegmentName.segmentOrStubSequence(of: name),
                  FileManager.default.fileExists(atPath: dir + "/" + SegmentName.file(sequence)) else { continue }
            try EvictionStub.removeIfPresent(directory: dir, sequence: sequence, faults: options.faultInjector)
        }
        var segments = try SegmentCatalog.load(directory: dir, keys: options.keys.ring, remote: options.remoteSegments)
        // An expiry cut short is finished before anything reads the segments. One that
        // cannot be (its list does not match) is a fault for an operator; mail still flows.
        for segment in segments where segment.expiryPending {
            do {
                try SegmentCompactor.finishPending(segment, directory: dir, faults: options.faultInjector)
                logger.notice("finished an expiry cut short", metadata: ["segment": "\(segment.name)"])
                report.expiriesFinished += 1
            } catch {
                report.faults.append(ArchiveFault(segment: segment.name, offset: nil, reason: "pending expiry not finished: \(error)"))
            }
        }
        if report.expiriesFinished > 0 { segments = try SegmentCatalog.load(directory: dir, keys: options.keys.ring, remote: options.remoteSegments) }
        report.segmentCount = segments.count
        report.faults += ChainCheck.links(segments)

        let (index, checkpoint) = try openIndex(segments)
        var pending = IndexRows()
        var pendingEnd: IndexCheckpoint?
        var pendingRecords = 0
        // Index catch-up, and torn-tail repair of the last (active) segment.
        for (position, segment) in segments.enumerated() {
            if let checkpoint, segment.sequence < checkpoint.segment { continue }
            guard case .success = segment.header else { continue }  // reported by ChainCheck
            let start = (checkpoint?.segment == segment.sequence ? checkpoint?.offset : nil) ?? SegmentHeader.size
            let isActive = position == segments.count - 1 && !segment.isSealed
            let file = try SegmentFile.open(segment)
            defer { file.close() }
            let outcome = try SegmentScanner.scan(file, from: start, to: segment.recordsEnd, skipDamage: true) { offset, header, bytes, dictionaries in
                guard header.kind != .dictionary else { return }
                let contents = try RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries)
                pending.add(contents, segment: segment.sequence, offset: offset, storedSize: header.recordLength)
                pendingEnd = IndexCheckpoint(segment: segment.sequence, offset: offset + header.recordLength)
                pendingRecords += 1
                if pendingRecords >= 1000 { try flush(&pending, &pendingRecords, through: pendingEnd, into: index) }
            }
            report.bytesScanned += segment.recordsEnd - start
            report.faults += outcome.damages.map { ArchiveFault(segment: segment.name, offset: $0.offset, reason: $0.reason) }
            if let torn = outcome.tornTail {
                if isActive {
                    let zeros = try SegmentScanner.isZeroFilled(file, from: torn.offset, to: segment.fileSize)
                    try repairTornTail(segment, at: torn.offset, zeros: zeros)
                    segments[position].fileSize = torn.offset
                } else {
                    report.faults.append(ArchiveFault(segment: segment.name, offset: torn.offset, reason: "sealed segment: \(torn.reason)"))
                }
            }
        }
        try flush(&pending, &pendingRecords, through: pendingEnd, into: index)

        let lastSealed = segments.last(where: \.isSealed)
        let chainHead = lastSealed?.footer?.sealHash ?? [UInt8](repeating: 0, count: 32)
        let level = Int32(options.compressionLevel)
        if let last = segments.last, !last.isSealed, case .success(let header) = last.header {
            let writer = try SegmentWriter.resume(directory: dir, header: header, path: last.path, validEnd: last.fileSize,
                                                  keys: options.keys.ring, faults: options.faultInjector)
            let file = try SegmentFile(unexpired: try SystemFile.openReadOnly(last.path), encryption: last.encryption)
            defer { file.close() }
            let (dictionaries, newest, end) = try SegmentDictionaries.load(file, limit: last.fileSize, compressionLevel: level)
            writer.dictionaries = dictionaries
            writer.newestDictionary = newest
            writer.hasMessages = last.fileSize > end
            return Outcome(index: index, writer: writer, chainHead: header.previousSealHash, nextSequence: last.sequence + 1,
                           dictionary: newest ?? lastDictionary(segments.dropLast(), level: level))
        }
        if let last = segments.last, !last.isSealed {
            // Header unreadable: leave the file for the operator, never overwrite it.
            report.faults.append(ArchiveFault(segment: last.name, offset: 0, reason: "active segment header unreadable; left in place"))
        }
        return Outcome(index: index, writer: nil, chainHead: chainHead, nextSequence: (segments.last?.sequence ?? 0) + 1,
                       dictionary: lastDictionary(segments[...], level: level))
    }

    /// The newest dictionary of the newest sealed segment that has one.
    private func lastDictionary(_ segments: ArraySlice<SegmentDescriptor>, level: Int32) -> ZstdDictionary? {
        for segment in segments.reversed() where segment.isSealed {
            guard let file = try? SegmentFile.open(segment) else { continue }
            defer { file.close() }
            if let newest = try? SegmentDictionaries.load(file, limit: segment.recordsEnd, compressionLevel: level).last { return newest }
            return nil  // the newest sealed segment had none: training starts over
        }
        return nil
    }

    private mutating func flush(_ pending: inout IndexRows, _ records: inout Int, through end: IndexCheckpoint?,
                                into index: ArchiveIndex?) throws {
        guard let end, records > 0 else { return }
        try index?.insert(pending, checkpoint: end)
        report.recordsIndexed += records
        pending = IndexRows()
        records = 0
    }

    /// Copies the torn bytes aside (crash-safely), truncates the segment to the last valid
    /// record and syncs it. Appending after garbage is never allowed. A tail of zeros only
    /// (`zeros`: the writer's preallocated space after a crash) is cut without a copy.
    private mutating func repairTornTail(_ segment: SegmentDescriptor, at offset: Int, zeros: Bool) throws {
        let removed = segment.fileSize - offset
        var brokenPath: String?
        if !zeros {
            let source = try SystemFile.openReadOnly(segment.path)
            let tail = try source.read(at: offset, count: removed)
            source.close()
            let path = segment.path + ".\(offset).broken"
            try Durable.writeAtomically(tail, to: path, faults: options.faultInjector)
            brokenPath = path
        }
        let file = try SystemFile.open(segment.path, flags: O_WRONLY, faults: options.faultInjector)
        defer { file.close() }
        try file.truncate(to: offset)
        try file.sync()
        report.truncatedTails.append(.init(segment: segment.name, offset: offset, bytesRemoved: removed, brokenFile: brokenPath))
        if let brokenPath {
            logger.warning("archive torn tail truncated", metadata: ["segment": "\(segment.name)", "offset": "\(offset)", "bytes": "\(removed)", "saved": "\(brokenPath)"])
        } else {
            logger.info("archive zero-filled tail cut (preallocated space)", metadata: ["segment": "\(segment.name)", "offset": "\(offset)", "bytes": "\(removed)"])
        }
    }

    /// Opens the index and decides whether to trust it; rebuilds (from scratch, so the
    /// catch-up scan covers every segment) when it is missing or doubtful. A record it
    /// checks that needs a key the ring lacks stops the open: the index is not doubtful,
    /// the key file is short (rebuilding would need that key too). One whose tag fails
    /// makes it doubtful, like any damaged record.
    private mutating func openIndex(_ segments: [SegmentDescriptor]) throws -> (ArchiveIndex?, IndexCheckpoint?) {
        let path = layout.indexPath
        if FileManager.default.fileExists(atPath: path) {
            do {
                let index = try ArchiveIndex.openWritable(path: path)
                let checkpoint = try index.checkpoint()
                if let problem = try IndexAudit.problem(index: index, checkpoint: checkpoint, segments: segments) {
                    report.indexRebuildReason = problem
                } else {
                    return (index, checkpoint)
                }
            } catch let error as SegmentKeyError where !error.isAuthentication {
                throw error
            } catch {
                report.indexRebuildReason = "index unreadable: \(error)"
            }
        } else {
            report.indexRebuildReason = "index missing"
        }
        if segments.isEmpty {
            logger.info("archive index created", metadata: ["path": "\(path)"])
        } else {
            logger.warning("archive index rebuilt from segments", metadata: ["reason": "\(report.indexRebuildReason ?? "")"])
        }
        do {
            return (try IndexAudit.recreate(path: path), nil)
        } catch {
            // The archive still works without the index (dedupe then only covers this run).
            report.faults.append(ArchiveFault(segment: ArchiveLayout.indexFileName, offset: nil, reason: "cannot create index: \(error)"))
            return (nil, nil)
        }
    }
}
