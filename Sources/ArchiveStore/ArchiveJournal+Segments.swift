import Foundation

/// Segment lifecycle on the writer thread: creation, rotation, sealing, and the
/// response to I/O errors.
extension ArchiveJournal {
    func shouldRotate(_ active: SegmentWriter, adding bytes: Int, now: Date) -> Bool {
        guard active.hasRecords else { return false }
        if active.size + bytes + SegmentFooter.size > options.maxSegmentBytes { return true }
        return now.timeIntervalSince(active.createdAt) >= options.maxSegmentAge
    }

    /// Makes sure a healthy active segment exists, finishing an earlier failure first.
    func ensureWriter(now: Date) throws {
        if failedWriter == nil, let active = writer, active.poisoned {  // failed while idle
            writer = nil
            failedWriter = active
        }
        if let failed = failedWriter {
            chainHead = try failed.abandon().sealHash
            failedWriter = nil
            logger.warning("archive segment sealed by sidecar after I/O error", metadata: ["segment": "\(failed.sequence)", "durable_bytes": "\(failed.durableSize)"])
        }
        if writer == nil {
            writer = try SegmentWriter.create(directory: directory, sequence: nextSequence, previousSealHash: chainHead, now: now,
                                              key: options.keys.ring.writingKey, faults: options.faultInjector)
            nextSequence += 1
        }
    }

    /// Seals the active segment when the ring's writing key is no longer its key (a
    /// reload added or removed one), or when it names a key the ring lost: the next
    /// segment is written with the current key (none: in the clear).
    func rekey(now: Date) throws {
        guard let active = writer else { return }
        let wanted = options.keys.ring.writingKey?.id ?? 0
        guard active.keyID != wanted || !active.canAppend else { return }
        logger.notice("archive encryption key changed; sealing the active segment", metadata: [
            "segment": "\(active.sequence)", "key_id": "\(active.keyID)", "new_key_id": "\(wanted)",
        ])
        try rotate(now: now)
    }

    /// Makes sure the active segment holds `dictionary` before a record that needs it.
    /// Dictionaries go only before a segment's first message record, so a segment that
    /// already has messages is sealed first; the new segment also gets the previous
    /// newest dictionary when messages compressed with it are still on their way.
    /// Returns true when it rotated.
    func placeDictionary(_ dictionary: ZstdDictionary?, now: Date) throws -> Bool {
        guard let dictionary, let active = writer, !active.dictionaries.contains(dictionary) else { return false }
        var wanted = [dictionary]
        let rotated = active.hasMessages
        if rotated {
            if let previous = active.newestDictionary, previous !== dictionary, previous.unwritten.load(ordering: .relaxed) > 0 {
                wanted.insert(previous, at: 0)
            }
            try rotate(now: now)
        }
        guard let target = writer else { throw ArchiveStoreError.temporaryFailure(reason: "no active segment") }
        for entry in wanted where !target.dictionaries.contains(entry) {
            _ = try target.append(RecordCodec.encodeDictionary(entry))
            target.dictionaries.add(entry)
            target.newestDictionary = entry
        }
        return rotated
    }

    /// Seals the active segment and opens the next one.
    func rotate(now: Date) throws {
        guard let active = writer else { return }
        let footer = try active.seal()
        chainHead = footer.sealHash
        writer = nil
        logger.info("archive segment sealed", metadata: ["segment": "\(active.sequence)", "records": "\(footer.recordCount)"])
        try ensureWriter(now: now)
    }

    /// An I/O error: the active segment is never written or synced again. Its durable
    /// prefix gets a sidecar seal and a fresh segment is opened for later commits.
    func fail(_ error: any Error, now: Date) {
        metrics.fsyncErrors.increment()
        logger.error("archive write failed; abandoning segment", metadata: [
            "error": "\(error)", "segment": "\(writer?.sequence ?? failedWriter?.sequence ?? 0)",
        ])
        if let active = writer {
            writer = nil
            failedWriter = active
        }
        do {
            try ensureWriter(now: now)
        } catch {
            logger.error("archive cannot open a new segment; commits fail until it can", metadata: ["error": "\(error)"])
        }
    }

    /// Whether the active segment wants zeros written ahead while nothing waits.
    var wantsPreallocation: Bool { writer?.wantsPreallocation ?? false }

    /// One step of zeros ahead of the active segment's records (`SegmentWriter.preallocateAhead`).
    /// A failed sync poisons the segment, which stops further steps; the next commit
    /// abandons it (`ensureWriter`) and goes to a fresh one. Failing over here instead
    /// would let a disk whose syncs always fail make segment after segment while idle.
    func preallocateAhead() {
        guard let active = writer else { return }
        do {
            try active.preallocateAhead()
        } catch {
            metrics.fsyncErrors.increment()
            logger.error("archive sync of preallocated zeros failed; the next commit opens a new segment", metadata: [
                "error": "\(error)", "segment": "\(active.sequence)",
            ])
        }
    }

    /// Seals a quiet segment once it is older than `maxSegmentAge`.
    func idleTick(now: Date) {
        flushIndexSoon()
        guard let active = writer, active.hasRecords, now.timeIntervalSince(active.createdAt) >= options.maxSegmentAge else { return }
        do { try rotate(now: now) } catch { fail(error, now: now) }
    }

    /// Final step of `close`: flush and close the index (here, before `close` returns,
    /// not whenever the last reference to the store goes away); the active segment stays
    /// unsealed and is resumed by the next open.
    func shutdown() {
        closeIndex()
        writer?.close()
        writer = nil
    }
}
