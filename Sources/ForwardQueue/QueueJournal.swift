import ArchiveStore
import DurableFiles
import Foundation

/// What replaying the journal found.
public struct JournalReplayReport: Sendable, Equatable {
    /// Frames replayed.
    public var records = 0
    /// A torn tail cut off (offset and bytes removed), its bytes saved to `brokenFile`.
    public var truncatedAt: Int?
    public var bytesRemoved = 0
    public var brokenFile: String?
    /// Damage followed by valid frames: reported, skipped, never truncated away.
    public var faults: [String] = []
}

/// The append-only journal file of the queue. Used by one thread at a time (the queue's
/// writer thread, or the offline CLI). `@unchecked Sendable`: open hands it to that thread.
final class QueueJournal: @unchecked Sendable {
    let layout: QueueLayout
    /// Open for appending once `open` has replayed the file; nil after `close`.
    private var file: SystemFile?
    private(set) var size = 0
    private(set) var image: JournalImage
    /// Records written since the last sync, not yet in `image`.
    private var unsynced: [JournalRecord] = []
    /// Compaction runs when the file is larger than this and mostly dead.
    let compactionThreshold: Int
    /// The queue's test hook (nil in production).
    let faults: (any DurableFaultInjector)?

    private init(layout: QueueLayout, image: JournalImage, size: Int, compactionThreshold: Int, faults: (any DurableFaultInjector)?) {
        self.layout = layout
        self.image = image
        self.size = size
        self.compactionThreshold = compactionThreshold
        self.faults = faults
    }

    /// Reads the journal; with `repair`, a torn tail is copied aside and truncated.
    static func replay(layout: QueueLayout, repair: Bool,
                       faults: (any DurableFaultInjector)? = nil) throws -> (JournalImage, JournalReplayReport, Int) {
        let bytes = try Durable.readAllIfPresent(layout.journalPath)
        let (image, scanned, validLength) = scan(bytes)
        var report = scanned
        if let offset = report.truncatedAt, repair {
            let broken = layout.journalPath + ".\(offset).broken"
            try Durable.writeAtomically(Array(bytes[offset...]), to: broken, faults: faults)
            let file = try SystemFile.open(layout.journalPath, flags: O_WRONLY, faults: faults)
            defer { file.close() }
            try file.truncate(to: offset)
            try file.sync()
            report.brokenFile = broken
        }
        return (image, report, validLength)
    }

    /// Replays journal bytes in memory: the image, what was found, and where the valid
    /// frames end (a torn tail starts there). Damage followed by valid frames is skipped
    /// and reported. Pure; any bytes are safe (the queue-journal fuzz target feeds it).
    static func scan(_ bytes: [UInt8]) -> (JournalImage, JournalReplayReport, Int) {
        var image = JournalImage()
        var report = JournalReplayReport()
        var offset = 0
        while offset < bytes.count {
            switch JournalFrame.decode(bytes[offset...]) {
            case .valid(let record, let length):
                image.apply(record)
                report.records += 1
                offset += length
            case .unreadable(let reason, let length):
                report.faults.append("journal offset \(offset): frame with valid checksums cannot be read: \(reason) (skipped)")
                offset += length
            case .incomplete(let reason), .invalid(let reason):
                if let next = nextValidFrame(bytes, after: offset) {
                    report.faults.append("journal offset \(offset): \(reason) (\(next - offset) bytes skipped)")
                    offset = next
                    continue
                }
                report.truncatedAt = offset
                report.bytesRemoved = bytes.count - offset
                return (image, report, offset)
            }
        }
        return (image, report, bytes.count)
    }

    /// Frames start at multiples of 8; look for the next one that decodes.
    private static func nextValidFrame(_ bytes: [UInt8], after offset: Int) -> Int? {
        var candidate = offset + JournalFrame.alignment
        while candidate + JournalFrame.headerSize <= bytes.count {
            if bytes[candidate] == 0x41, bytes[candidate + 1] == 0x52, bytes[candidate + 2] == 0x51, bytes[candidate + 3] == 0x4A,
               case .valid = JournalFrame.decode(bytes[candidate...]) {
                return candidate
            }
            candidate += JournalFrame.alignment
        }
        return nil
    }

    /// Replays (repairing a torn tail) and opens the journal for appending.
    static func open(layout: QueueLayout, compactionThreshold: Int,
                     faults: (any DurableFaultInjector)? = nil) throws -> (QueueJournal, JournalReplayReport) {
        let spoolExisted = FileManager.default.fileExists(atPath: layout.spoolDirectory)
        try FilePermissions.createDirectories(layout.spoolDirectory)
        try? Durable.unlinkIfPresent(layout.journalPath + ".tmp", faults: faults)
        let (image, report, size) = try replay(layout: layout, repair: true, faults: faults)
        let journal = QueueJournal(layout: layout, image: image, size: size, compactionThreshold: compactionThreshold, faults: faults)
        let existed = FileManager.default.fileExists(atPath: layout.journalPath)
        journal.file = try SystemFile.open(layout.journalPath, flags: O_WRONLY | O_CREAT, faults: faults)
        // New names (the journal, `spool/`, and `queue/` itself, which `takeLock` made)
        // survive a power loss only once their directory is synced: without the data
        // directory's sync, the first start's queue could vanish, and with it the
        // `archivedThrough` from which the archive's promises are taken again.
        if !existed || !spoolExisted {
            try Durable.syncDirectory(layout.queueDirectory, faults: faults)
            try Durable.syncDirectory(layout.dataDirectory, faults: faults)
        }
        journal.removeOrphanSpoolFiles()
        return (journal, report)
    }

    /// Writes and syncs `records` as one batch, then applies them to the image. Returns
    /// the spool files that became unreferenced (already deleted).
    /// Appends `records`. With `sync` they, and every record written before them, are
    /// durable on return. Without it they wait for the next synced commit: only then do
    /// they enter the image (which compaction writes out: only what is durable) and are
    /// the spool files they free deleted, so a crash never leaves a live entry whose spool
    /// file is gone. Returns the spool files deleted.
    @discardableResult
    func commit(_ records: [JournalRecord], sync: Bool = true) throws -> [String] {
        if !records.isEmpty {
            var bytes: [UInt8] = []
            for record in records { bytes += JournalFrame.encode(record) }
            try openFile(for: "pwrite").write(bytes[...], at: size)
            size += bytes.count
            unsynced += records
        }
        return sync ? try self.sync() : []
    }

    /// Records were written that no sync has covered yet.
    var needsSync: Bool { !unsynced.isEmpty }

    /// Makes every record written durable and applies them to the image.
    @discardableResult
    func sync() throws -> [String] {
        guard !unsynced.isEmpty else { return [] }
        try openFile(for: "fdatasync").dataSync()
        var freed: [String] = []
        for record in unsynced { freed += image.apply(record) }
        unsynced.removeAll()
        for name in freed { try? Durable.unlinkIfPresent(layout.spoolPath(name), faults: faults) }
        return freed
    }

    /// Whether the file is big and mostly records of entries that are gone.
    var isMostlyDead: Bool { size > compactionThreshold && image.liveBytes * 4 < size }

    /// Rewrites the journal from the image: temp file, fsync, rename, fsync directory.
    /// Also the way out after a failed write. Records written but never synced: entries
    /// and `archivedThrough` are kept (an entry may stand for a promise in the archive
    /// that a later `archivedThrough` would otherwise pass over); removals are dropped (a
    /// delivery recorded there is made again, which the peer's dedupe absorbs).
    func compact() throws {
        for record in unsynced {
            switch record {
            case .enqueue, .archivedThrough, .sequence: image.apply(record)
            case .delivered, .held, .released, .deleted: continue
            }
        }
        var bytes: [UInt8] = []
        for record in image.compactedRecords { bytes += JournalFrame.encode(record) }
        try Durable.writeAtomically(bytes, to: layout.journalPath, faults: faults)
        file?.close()
        file = try SystemFile.open(layout.journalPath, flags: O_WRONLY, faults: faults)
        size = bytes.count
        unsynced.removeAll()
    }

    /// Spool files of messages whose entries are all gone (or that never got one because
    /// the node stopped between spooling and enqueueing).
    private func removeOrphanSpoolFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.spoolDirectory)) ?? []
        for name in names where image.spoolReferences[name] == nil {
            try? Durable.unlinkIfPresent(layout.spoolPath(name), faults: faults)
        }
    }

    func close() {
        if file != nil { _ = try? sync() }
        file?.close()
        file = nil
    }

    /// The journal open for appending; a use after `close` fails as `operation` on a
    /// closed descriptor would.
    private func openFile(for operation: String) throws(FileIOError) -> SystemFile {
        guard let file else { throw FileIOError(operation: operation, path: layout.journalPath, errno: EBADF) }
        return file
    }
}

extension ForwardQueue {
    /// Replays journal bytes without touching any file: the entries they leave queued and
    /// what was found (for the queue-journal fuzz target and offline inspection).
    public static func replayJournal(_ bytes: [UInt8]) -> (entries: [QueueEntry], report: JournalReplayReport) {
        let (image, report, _) = QueueJournal.scan(bytes)
        return (image.orderedEntries, report)
    }
}
