import Foundation
import Logging

/// Cached free-space state of the archive volume. The writer thread re-probes at most
/// once per `recheckInterval`; commits and `/readyz` only read the cache, so a burst of
/// mail costs no extra syscalls and a refusal lifts by itself once space returns.
final class CapacityMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var state: StorageCapacity
    private var lastProbe: ContinuousClock.Instant?
    private let path: String
    private let threshold: UInt64
    private let recheckInterval: Duration
    private let probe: @Sendable (String) throws -> UInt64
    private let logger: Logger
    private let metrics: ArchiveMetrics

    init(path: String, options: ArchiveStoreOptions, logger: Logger, metrics: ArchiveMetrics) {
        self.path = path
        self.threshold = options.minimumFreeBytes
        self.recheckInterval = .milliseconds(Int64(options.freeSpaceRecheckInterval * 1000))
        self.probe = options.freeSpaceProbe
        self.logger = logger
        self.metrics = metrics
        self.state = .ok(freeBytes: .max)
    }

    var current: StorageCapacity {
        lock.lock()
        defer { lock.unlock() }
        return state
    }

    /// Takes bytes just written off the cached free space, so a burst between two probes
    /// (a second at 50 MB/s is more than a small margin) trips the threshold at once
    /// instead of writing on until the next probe. The next probe replaces the estimate.
    /// An estimate that would cross the threshold is checked by a probe at once: records
    /// written into the segment's preallocated zeros take no new space, so the estimate
    /// overstates what they used.
    func consumed(_ bytes: Int) {
        guard bytes > 0 else { return }
        lock.lock()
        switch state {
        case .ok(let free):
            let left = free == .max ? free : free - min(free, UInt64(bytes))
            if left < threshold {
                lock.unlock()
                refreshIfDue(force: true)
                return
            }
            state = .ok(freeBytes: left)
        case .low(let free):
            state = .low(freeBytes: free - min(free, UInt64(bytes)))
        }
        lock.unlock()
    }

    /// Probes if the cached value is older than the recheck interval (or `force`).
    func refreshIfDue(force: Bool = false) {
        let now = ContinuousClock.now
        lock.lock()
        let due = force || lastProbe.map { now - $0 >= recheckInterval } ?? true
        if due { lastProbe = now }
        let before = state
        lock.unlock()
        guard due else { return }
        let free: UInt64
        do {
            free = try probe(path)
        } catch {
            // Keep the last known state: a failing statvfs says nothing about space.
            logger.error("archive free-space probe failed", metadata: ["error": "\(error)"])
            return
        }
        let next: StorageCapacity = free < threshold ? .low(freeBytes: free) : .ok(freeBytes: free)
        metrics.freeBytes.record(Int64(clamping: free))
        lock.lock()
        state = next
        lock.unlock()
        if next.isLow != before.isLow {
            if next.isLow {
                logger.error("archive volume low on space; refusing new mail", metadata: ["free_bytes": "\(free)", "threshold": "\(threshold)"])
            } else {
                logger.notice("archive volume has space again; accepting mail", metadata: ["free_bytes": "\(free)"])
            }
        }
    }
}
