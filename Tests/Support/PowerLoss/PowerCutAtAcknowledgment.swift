import ArchiveStore
import Foundation

/// Cuts a `PowerLossDisk`'s power at the moment a batch is acknowledged: the archive
/// tells its commit observer of each durable batch on the writer thread, before any of
/// its committers resume, so the cut comes before the replies and before any later sync
/// (such as the idle writing of zeros ahead) could make up for a missing one. Passes
/// every batch on to `next` first (the forward queue, whose entries it posts).
public final class PowerCutAtAcknowledgment: ArchiveCommitObserver, @unchecked Sendable {
    private let disk: PowerLossDisk
    private let next: (any ArchiveCommitObserver)?
    private let lock = NSLock()
    private var condition: (@Sendable (ArchivePosition) -> Bool)?

    public init(disk: PowerLossDisk, next: (any ArchiveCommitObserver)? = nil) {
        self.disk = disk
        self.next = next
    }

    /// Cuts at the first batch from now on whose last record's position satisfies `when`
    /// (by default the next batch).
    public func arm(when: @escaping @Sendable (ArchivePosition) -> Bool = { _ in true }) {
        lock.withLock { condition = when }
    }

    public func archived(_ forwarded: [ArchivedForwarding], through last: ArchivePosition) {
        next?.archived(forwarded, through: last)
        lock.withLock {
            guard let condition, condition(last) else { return }
            self.condition = nil
            disk.cut()
        }
    }
}
