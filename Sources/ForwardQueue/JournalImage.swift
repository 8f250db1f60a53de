import ArchiveStore

/// The queue as the journal on disk says it is: live entries (waiting or held), the next
/// id, and which spool files live entries still reference. Built by replay, kept current
/// by the writer thread after each sync, and written out whole by compaction.
struct JournalImage: Sendable {
    private(set) var entries: [UInt64: QueueEntry] = [:]
    private(set) var nextID: UInt64 = 1
    private(set) var spoolReferences: [String: Int] = [:]
    /// Bytes a compacted journal would take (live enqueue and held frames).
    private(set) var liveBytes = 0
    /// The latest `archivedThrough`: archive records with promises up to here are queued.
    private(set) var archivedThrough: ArchivePosition?

    /// Applies one durable record; returns spool files no live entry references any more.
    @discardableResult
    mutating func apply(_ record: JournalRecord) -> [String] {
        switch record {
        case .sequence(let next):
            nextID = max(nextID, next)
        case .archivedThrough(let position):
            archivedThrough = max(archivedThrough ?? position, position)
        case .enqueue(let entry):
            guard entries[entry.id] == nil else { return [] }
            entries[entry.id] = entry
            nextID = max(nextID, entry.id + 1)
            liveBytes += JournalFrame.encode(record).count
            if case .spool(let name) = entry.item.reference { spoolReferences[name, default: 0] += 1 }
        case .held(let id, let reason):
            guard var entry = entries[id] else { return [] }
            if !entry.isHeld { liveBytes += JournalFrame.encode(record).count }
            entry.isHeld = true
            entry.lastError = reason
            entries[id] = entry
        case .released(let id):
            guard var entry = entries[id], entry.isHeld else { return [] }
            liveBytes -= JournalFrame.encode(.held(id: id, reason: entry.lastError ?? "")).count
            entry.isHeld = false
            entry.attempts = 0
            entry.nextAttempt = nil
            entries[id] = entry
        case .delivered(let id), .deleted(let id):
            guard let entry = entries.removeValue(forKey: id) else { return [] }
            liveBytes -= JournalFrame.encode(.enqueue(entry)).count
            if entry.isHeld { liveBytes -= JournalFrame.encode(.held(id: id, reason: entry.lastError ?? "")).count }
            if case .spool(let name) = entry.item.reference {
                let left = (spoolReferences[name] ?? 1) - 1
                if left <= 0 {
                    spoolReferences[name] = nil
                    return [name]
                }
                spoolReferences[name] = left
            }
        }
        return []
    }

    /// The live entries in FIFO (id) order.
    var orderedEntries: [QueueEntry] { entries.values.sorted { $0.id < $1.id } }

    /// The records of a compacted journal: the sequence, then every live entry in order,
    /// then how far the archive's promises are queued.
    var compactedRecords: [JournalRecord] {
        var out: [JournalRecord] = [.sequence(nextID: nextID)]
        for entry in orderedEntries {
            var clean = entry
            clean.isHeld = false
            clean.lastError = nil
            out.append(.enqueue(clean))
            if entry.isHeld { out.append(.held(id: entry.id, reason: entry.lastError ?? "")) }
        }
        if let archivedThrough { out.append(.archivedThrough(archivedThrough)) }
        return out
    }
}
