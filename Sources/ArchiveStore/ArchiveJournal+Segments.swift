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
        if let failed = failedWriter {
            chainHead = try failed.abandon().sealHash
            failedWriter = nil
            logger.warning("archive segment sealed by sidecar after I/O error", metadata: ["segment": "\(failed.sequence)", "durable_bytes": "\(failed.durableSize)"])
        }
        if writer == nil {
            writer = try SegmentWriter.create(directory: directory, sequence: nextSequence, previousSealHash: chainHead, now: now)
            nextSequence += 1
        }
    }

    /// Seals the active segment and opens the next one.
    func rotate(now: Date) throws {
        guard let active = writer else { return }
        let footer = try active.seal(faults: options.faultInjector)
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

    /// Seals a quiet segment once it is older than `maxSegmentAge`.
    func idleTick(now: Date) {
        flushIndex()
        guard let active = writer, active.hasRecords, now.timeIntervalSince(active.createdAt) >= options.maxSegmentAge else { return }
        do { try rotate(now: now) } catch { fail(error, now: now) }
    }

    /// Final step of `close`: flush the index; the active segment stays unsealed and is
    /// resumed by the next open.
    func shutdown() {
        flushIndex()
        writer?.close()
        writer = nil
    }
}
