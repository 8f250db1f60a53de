import DurableFiles
import Foundation
import Logging

/// Cached free-space state of the archive volume. The writer thread re-probes at most
/// once per `recheckInterval`; commits and `/readyz` only read the cache, so a burst of
/// mail costs no extra syscalls and a refusal lifts by itself once space returns.
final class CapacityMonitor: @unchecked Sendable {
    private struct Cache {
        var state: StorageCapacity = .ok(freeBytes: .max)
        var lastProbe: ContinuousClock.Instant?
    }

    private let cache = LockedValue(Cache())
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
    }

    var current: StorageCapacity { cache.withLock { $0.state } }

    /// Takes bytes just written off the cached free space, so a burst between two probes
    /// (a second at 50 MB/s is more than a small margin) trips the threshold at once
    /// instead of writing on until the next probe. The next probe replaces the estimate.
    /// An estimate that would cross the threshold is checked by a probe at once: records
    /// written into the segment's preallocated zeros take no new space, so the estimate
    /// overstates what they used.
    func consumed(_ bytes: Int) {
        guard bytes > 0 else { return }
        let crossesThreshold = cache.withLock { cache in
            switch cache.state {
            case .ok(let free):
                let left = free == .max ? free : free - min(free, UInt64(bytes))
                if left < threshold { return true }
                cache.state = .ok(freeBytes: left)
            case .low(let free):
                cache.state = .low(freeBytes: free - min(free, UInt64(bytes)))
            }
            return false
        }
        if crossesThreshold { refreshIfDue(force: true) }
    }

    /// Probes if the cached value is older than the recheck interval (or `force`).
    func refreshIfDue(force: Bool = false) {
        let now = ContinuousClock.now
        let recheckInterval = self.recheckInterval
        let (due, before) = cache.withLock { cache in
            let due = force || cache.lastProbe.map { now - $0 >= recheckInterval } ?? true
            if due { cache.lastProbe = now }
            return (due, cache.state)
        }
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
        cache.withLock { $0.state = next }
        if next.isLow != before.isLow {
            if next.isLow {
                logger.error("archive volume low on space; refusing new mail", metadata: ["free_bytes": "\(free)", "threshold": "\(threshold)"])
            } else {
                logger.notice("archive volume has space again; accepting mail", metadata: ["free_bytes": "\(free)"])
            }
        }
    }
}
