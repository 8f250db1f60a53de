import AuditTrail
import Crypto
import DurableFiles
import Foundation
import Logging
import MessageText

/// The points of an expiry run at which its state is durable: the crash tests stop it at
/// each (`ArchiveStoreOptions.expiryStepHook`), and the next open must carry it to the end.
public enum ExpiryStep: String, CaseIterable, Sendable {
    case planWritten = "plan-written"
    case searchRemoved = "search-removed"
    case listWritten = "list-written"
    case segmentRewritten = "segment-rewritten"
    case listInstalled = "list-installed"
    case compacted
    /// The index phase has read the durable end; its transaction comes next.
    case indexRemovalStarting = "index-removal-starting"
    case indexRemoved = "index-removed"
    case freshRowsAdded = "fresh-rows-added"
    case audited
}

/// What an expiry run did.
public struct ExpiryReport: Sendable, Equatable {
    public var run: String
    public var originals = 0
    public var records = 0
    /// The bytes of the segments rewritten (what compaction read and wrote).
    public var segmentBytes = 0
    /// Time spent rewriting segments (the compaction phase), and the whole run.
    public var compactionSeconds = 0.0
    public var seconds = 0.0
    /// Originals whose retention has passed but that stay for now: a record in the active
    /// segment, a copy still queued for a peer, a damaged segment, or an arrival since.
    public var deferred = 0
    public var byRule: [String: Int] = [:]
}

/// Carries an `ExpiryPlan` through its phases: search rows, segments, index rows, audit
/// entry. Run by `ArchiveStore.expire` on a live node and by recovery at open for a run a
/// crash cut short; each phase skips what it finds done.
struct ExpiryExecutor {
    let layout: ArchiveLayout
    let options: ArchiveStoreOptions
    let logger: Logger
    private let dictionaries = SegmentReadCache()

    init(layout: ArchiveLayout, options: ArchiveStoreOptions, logger: Logger) {
        self.layout = layout
        self.options = options
        self.logger = logger
    }

    private func step(_ step: ExpiryStep) throws { try options.expiryStepHook?(step) }

    /// Runs the plan's remaining phases. `index`: a writable connection; `freshEnd`: the
    /// durable end now, once the index holds every record before it (fresh copies lie in
    /// `[plan.freshFrom, freshEnd)`).
    func finish(_ plan: inout ExpiryPlan, index: ArchiveIndex, freshEnd: () throws -> IndexCheckpoint?) throws -> ExpiryReport {
        var report = ExpiryReport(run: plan.run)
        report.originals = plan.originals.count
        report.records = plan.records.count
        for original in plan.originals { report.byRule[original.rule, default: 0] += 1 }
        if plan.phase < .searchRemoved {
            try removeFromSearch(plan)
            plan.phase = .searchRemoved
            try plan.save(layout, faults: options.faultInjector)
            try step(.searchRemoved)
        }
        if plan.phase < .compacted {
            let started = ContinuousClock.now
            try compact(&plan, report: &report)
            report.compactionSeconds = (ContinuousClock.now - started).seconds
            plan.phase = .compacted
            try plan.save(layout, faults: options.faultInjector)
            try step(.compacted)
        }
        if plan.phase < .indexRemoved {
            let fresh = try freshRows(plan, end: try freshEnd())
            try step(.indexRemovalStarting)
            try index.removeExpired(plan.records, originals: plan.originals.map(\.sha256), fresh: fresh)
            plan.phase = .indexRemoved
            try plan.save(layout, faults: options.faultInjector)
            try step(.indexRemoved)
        }
        // A fresh copy that became durable while the removal's transaction was under way
        // had its row kept out by the old one (and its addresses deleted with the old
        // ones'); those after the commit were indexed as usual. Add again what lies before
        // the durable end now (rows already there are left as they are). Not a phase:
        // it runs again after a crash at any later point.
        try index.addFresh(try freshRows(plan, end: try freshEnd()))
        try step(.freshRowsAdded)
        try recordAudit(plan, byRule: report.byRule)
        try step(.audited)
        try ExpiryPlan.remove(layout, faults: options.faultInjector)
        logger.notice("archive expiry done", metadata: ["run": "\(plan.run)", "originals": "\(plan.originals.count)", "records": "\(plan.records.count)"])
        return report
    }

    // MARK: Phases

    /// Takes each original and its arrivals out of the search database, with the values
    /// they were indexed with (read from the records, which are still there).
    private func removeFromSearch(_ plan: ExpiryPlan) throws {
        guard FileManager.default.fileExists(atPath: layout.searchPath) else { return }
        let search = try SearchIndex.openWritable(path: layout.searchPath)
        let records = Dictionary(grouping: plan.records, by: \.original)
        for chunk in plan.originals.chunked(256) {
            try search.connection.transaction {
                for original in chunk {
                    let own = records[original.sha256] ?? []
                    guard let message = own.first(where: { $0.kind == RecordKind.message.rawValue }) else { continue }
                    let record = try ArchiveStore.readRecord(archiveDirectory: layout.archiveDirectory, segment: message.segment,
                                                             offset: message.offset, keys: options.keys.ring, remote: options.remoteSegments,
                                                             dictionaries: dictionaries)
                    let text = MessageTextExtractor.extract(try record.original())
                    let arrivals = try own.map {
                        try ArchiveStore.readArrival(archiveDirectory: layout.archiveDirectory, at: $0.position, keys: options.keys.ring,
                                                     remote: options.remoteSegments, dictionaries: dictionaries)
                    }
                    _ = try search.remove(sha256: original.sha256, id: original.id, text: text, arrivals: arrivals)
                }
            }
        }
    }

    /// Rewrites each segment without the plan's records (`SegmentCompactor`).
    private func compact(_ plan: inout ExpiryPlan, report: inout ExpiryReport) throws {
        let directory = layout.archiveDirectory
        let originals = Dictionary(plan.originals.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first })
        for (sequence, records) in Dictionary(grouping: plan.records, by: \.segment).sorted(by: { $0.key < $1.key }) {
            let path = directory + "/" + SegmentName.file(sequence)
            var segment = try SegmentCatalog.describe(directory: directory, sequence: sequence, path: path, keys: options.keys.ring,
                                                  remote: options.remoteSegments)
            if segment.expiryPending {
                try SegmentCompactor.finishPending(segment, directory: directory, faults: options.faultInjector)
                segment = try SegmentCatalog.describe(directory: directory, sequence: sequence, path: path, keys: options.keys.ring,
                                                  remote: options.remoteSegments)
            }
            let removals = records.map { r in
                SegmentCompactor.Removal(offset: r.offset, originalSHA256: Hex.decode(r.original) ?? [], id: r.id,
                                         rule: originals[r.original]?.rule ?? "", expiredAt: originals[r.original]?.expiredAt ?? plan.startedAt)
            }
            let manifest = try SegmentCompactor.remove(removals, from: segment, directory: directory, now: plan.startedAt,
                                                       faults: options.faultInjector, after: step)
            plan.lists[String(sequence)] = Hex.encode(SHA256.hash(data: manifest.encode()))
            report.segmentBytes += segment.physicalSize
        }
    }

    /// The index rows of records of the plan's originals written since the run began: a
    /// new arrival of one meanwhile was stored with a fresh copy of its original, whose
    /// rows the old ones kept out.
    private func freshRows(_ plan: ExpiryPlan, end: IndexCheckpoint?) throws -> IndexRows {
        let shas = Set(plan.originals.map(\.sha256))
        let start = plan.freshFrom
        var rows = IndexRows()
        let segments = try SegmentCatalog.load(directory: layout.archiveDirectory, keys: options.keys.ring, remote: options.remoteSegments)
        for segment in segments where segment.sequence >= start.segment {
            if let end, segment.sequence > end.segment { break }
            guard case .success = segment.header else { continue }
            let from = segment.sequence == start.segment ? start.offset : SegmentHeader.size
            let to = end.map { segment.sequence == $0.segment ? min($0.offset, segment.recordsEnd) : segment.recordsEnd } ?? segment.recordsEnd
            guard from < to else { continue }
            let file = try SegmentFile.open(segment)
            defer { file.close() }
            _ = try SegmentScanner.scan(file, from: from, to: to, skipDamage: true) { offset, header, bytes, dictionaries in
                guard header.kind != .dictionary else { return }
                let contents = try RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries)
                let original: String
                switch contents {
                case .original(let m), .originalWithArrival(let m, _): original = m.sha256Hex
                case .arrival(_, let reference): original = Hex.encode(reference.sha256)
                }
                guard shas.contains(original) else { return }
                rows.add(contents, segment: segment.sequence, offset: offset, storedSize: header.recordLength)
            }
        }
        return rows
    }

    /// The tamper-evident record of the run: who, when, how many under which rule, and
    /// the SHA-256 of every expiry list it left (verify checks the lists against it).
    private func recordAudit(_ plan: ExpiryPlan, byRule: [String: Int]) throws {
        guard let audit = options.audit else { return }
        var arguments = [
            "run": plan.run,
            // The time retention was judged by: now, unless a test moved the clock.
            "as_of": ISO8601DateFormatter().string(from: plan.startedAt),
            "records": String(plan.records.count),
            "rules": byRule.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
            "lists": plan.listsArgument,
        ]
        if plan.originals.count <= 1000 { arguments["ids"] = plan.originals.map(\.id).joined(separator: ",") }
        try audit.record(AuditEntry(time: Date(), actor: plan.actor, action: "archive.expire", arguments: arguments,
                                    resultCount: plan.originals.count))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
