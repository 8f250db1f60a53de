import ArchiveStore
import Foundation

/// The operator's view and commands (`archiverelay queue …`, the admin endpoint).
extension ForwardQueue {
    /// Every connection's summary and every entry, taken under one lock.
    /// Entries with ids above `after`, at most `limit` of them (`nextAfter` says where the
    /// next page starts), and every connection's summary.
    public func snapshot(after: UInt64 = 0, limit: Int = .max) -> QueueSnapshot {
        let now = Date()
        return book.withLock { book in
            let names = book.peers.keys.sorted()
            var entries = names.flatMap { book.peers[$0]?.entrySnapshots(now: now, after: after) ?? [] }.sorted { $0.id < $1.id }
            let more = entries.count > limit
            if more { entries.removeLast(entries.count - limit) }
            return QueueSnapshot(
                takenAt: now,
                connections: names.compactMap { book.peers[$0]?.summary(now: now, configured: book.configured.contains($0)) },
                entries: entries,
                faults: book.faults,
                nextAfter: more ? entries.last?.id : nil)
        }
    }

    /// Makes an entry (nil: every waiting entry) due now and probes a down peer now.
    /// Returns how many entries were affected.
    @discardableResult
    public func retry(id: UInt64?, now: Date = Date()) throws -> Int {
        let count = try book.withLock { book in
            var count = 0
            for name in book.peers.keys {
                let ids = id.map { [$0] } ?? book.peers[name].map { Array($0.entries.keys) } ?? []
                for candidate in ids where book.peers[name]?.retryNow(candidate, now: now) == true { count += 1 }
            }
            if let id, count == 0 { throw ForwardQueueError.notFound(id: id) }
            return count
        }
        wakeAllWorkers()
        return count
    }

    /// Moves an entry to hold (durably).
    public func hold(id: UInt64) async throws {
        let record = try book.withLock { book -> JournalRecord? in
            guard let name = book.connection(of: id) else { throw ForwardQueueError.notFound(id: id) }
            return book.peers[name]?.hold(id, reason: "held by operator")
        }
        if let record { try await writer.commit([record]) }
    }

    /// Releases one held entry (nil: all held entries) for delivery (durably).
    @discardableResult
    public func release(id: UInt64?) async throws -> Int {
        let records = try book.withLock { book -> [JournalRecord] in
            if let id {
                guard let name = book.connection(of: id) else { throw ForwardQueueError.notFound(id: id) }
                return book.peers[name]?.release(id).map { [$0] } ?? []
            }
            var out: [JournalRecord] = []
            for name in book.peers.keys {
                let held = book.peers[name]?.entries.values.filter(\.isHeld).map(\.id) ?? []
                for entry in held.sorted() { if let r = book.peers[name]?.release(entry) { out.append(r) } }
            }
            return out
        }
        wakeAllWorkers()
        try await writer.commit(records)
        return records.count
    }

    /// Deletes an entry for good (durably); its spool file goes when nothing references it.
    /// Whoever waits for a delivery of its message stops waiting when no copy is left.
    public func delete(id: UInt64) async throws {
        let woken = try book.withLock { book in
            guard let name = book.connection(of: id), let reference = book.peers[name]?.entries[id]?.item.reference else {
                throw ForwardQueueError.notFound(id: id)
            }
            book.peers[name]?.remove(id)
            return book.holdsCopy(of: reference) ? [] : book.sleepers.removeAll(.delivery(reference))
        }
        woken.resume(woken: true)
        try await writer.commit([.deleted(id: id)])
    }

    /// Whether a peer still waits for a copy of the message whose record is at `position`:
    /// expiry leaves such a record where it is.
    public func holdsCopy(at position: ArchivePosition) -> Bool {
        book.withLock { $0.holdsCopy(of: .archive(segment: position.segment, offset: position.offset)) }
    }

    /// The archive records queued copies point at, as the journal files say (the node
    /// stopped): what `archive expire` on a stopped node leaves where it is.
    public static func queuedArchivePositions(dataDirectory: String) throws -> Set<ArchivePosition> {
        let layout = QueueLayout(dataDirectory: dataDirectory)
        guard FileManager.default.fileExists(atPath: layout.queueDirectory) else { return [] }
        let lock = try layout.takeLock()
        defer { lock.release() }
        let (image, _, _) = try QueueJournal.replay(layout: layout, repair: false)
        var positions: Set<ArchivePosition> = []
        for entry in image.orderedEntries {
            if case .archive(let segment, let offset) = entry.item.reference { positions.insert(ArchivePosition(segment: segment, offset: offset)) }
        }
        return positions
    }

    /// The queue as the journal files say, without opening it for writing: for the CLI
    /// while no node runs. Takes the lock for the duration of the read.
    public static func readSnapshot(dataDirectory: String) throws -> QueueSnapshot {
        let layout = QueueLayout(dataDirectory: dataDirectory)
        let lock = try layout.takeLock()
        defer { lock.release() }
        let (image, report, _) = try QueueJournal.replay(layout: layout, repair: false)
        var peers: [String: PeerQueue] = [:]
        for entry in image.orderedEntries { peers.add(entry) }
        let now = Date()
        var faults = report.faults
        if let offset = report.truncatedAt { faults.append("torn tail at journal offset \(offset) (\(report.bytesRemoved) bytes; cut when the node next starts)") }
        let names = peers.keys.sorted()
        return QueueSnapshot(
            takenAt: now,
            connections: names.compactMap { peers[$0]?.summary(now: now, configured: false) },
            entries: names.flatMap { peers[$0]?.entrySnapshots(now: now) ?? [] }.sorted { $0.id < $1.id },
            faults: faults, nextAfter: nil)
    }
}

extension ForwardQueue.QueueBook {
    func connection(of id: UInt64) -> String? {
        peers.first { $0.value.entries[id] != nil }?.key
    }

    /// Whether any connection still holds a copy of the message at `reference`.
    func holdsCopy(of reference: MessageReference) -> Bool {
        peers.values.contains { $0.holdsCopy(of: reference) }
    }
}
