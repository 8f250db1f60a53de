import DurableFiles
import Metrics

/// What a running store knows of its index, for `/readyz` and `archive_index_faults_total`.
/// Messages are archived without the index, but then a duplicate is stored again and
/// `list` misses messages, so an operator must look (issue 22, finding 12).
///
/// A failed lookup, or an index that cannot be opened, means a damaged or missing file:
/// the fault stays until a restart (whose audit rebuilds a doubtful index) or `archive
/// reindex`. A failed insert is retried with its entries, so that fault clears once one
/// succeeds: the index has caught up.
final class IndexHealth: Sendable {
    private struct Faults {
        var lasting: String?
        var update: String?
    }

    private let faults = LockedValue(Faults())
    private let counter: Counter?

    /// `counter`: counts every failure (nil: not counted).
    init(counter: Counter? = nil) {
        self.counter = counter
    }

    /// Why the index cannot be trusted now, or nil.
    var fault: String? { faults.withLock { $0.lasting ?? $0.update } }

    func lookupFailed(_ error: any Error) {
        failed(lasting: "index lookup failed (messages are stored without dedupe): \(error)")
    }

    /// The index could not be created or opened; dedupe covers this run only.
    func unavailable(_ reason: String) {
        failed(lasting: reason)
    }

    func updateFailed(_ error: any Error) {
        counter?.increment()
        faults.withLock { $0.update = "index update failed (retried): \(error)" }
    }

    /// An insert committed: entries that failed before are in.
    func updated() {
        faults.withLock { $0.update = nil }
    }

    private func failed(lasting reason: String) {
        counter?.increment()
        faults.withLock { faults in faults.lasting = faults.lasting ?? reason }
    }
}
