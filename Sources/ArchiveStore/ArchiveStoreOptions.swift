import AuditTrail
import DurableFiles
import Foundation
import Metrics

/// Whether the archive volume has room; `/readyz` and `MAIL FROM` consult this.
public enum StorageCapacity: Sendable, Equatable {
    case ok(freeBytes: UInt64)
    case low(freeBytes: UInt64)

    public var isLow: Bool { if case .low = self { return true } else { return false } }
}

/// Tunables of an `ArchiveStore`. Every default is usable in production.
public struct ArchiveStoreOptions: Sendable {
    /// zstd level for new messages; 3 is zstd's default balance of speed and ratio.
    public var compressionLevel: Int = 3
    /// Train a zstd dictionary from recent traffic and compress new messages with it
    /// (docs/FORMAT.md, "Dictionaries"). Small messages then shrink by a further ~15%.
    public var trainsDictionary = true
    /// A segment is sealed once appending the next record would pass this size.
    public var maxSegmentBytes: Int = 256 << 20
    /// A segment older than this is sealed (at the next commit or idle tick), so a day's
    /// archive becomes immutable and hash-chained even on quiet nodes.
    public var maxSegmentAge: TimeInterval = 24 * 3600
    /// Commits are refused when the archive volume has less free space than this.
    /// 1 GiB is twice the worst case in flight (20 sessions × 25 MB) plus room for the
    /// index and its WAL, so a node stops accepting well before writes would fail.
    public var minimumFreeBytes: UInt64 = 1 << 30
    /// Memory the records of messages in flight may hold together; past it drafts spill
    /// to files in the data directory (`InflightBudget`). 0 spills every draft.
    public var maxInflightBytes: Int = InflightBudget.defaultLimit
    /// How often free space is re-probed (statvfs); between probes the cached value is
    /// used, so commits never cost an extra syscall.
    public var freeSpaceRecheckInterval: TimeInterval = 1
    /// Returns free bytes for the volume holding the given directory. Injectable for tests.
    public var freeSpaceProbe: @Sendable (String) throws -> UInt64 = FreeSpace.statvfsProbe
    /// Test-only fault injection; nil in production.
    /// Where expiry records what it removed (`archive.expire`); nil: nowhere (tests of the
    /// store alone).
    public var audit: (any AuditRecorder)?
    /// Told of each durable step of an expiry run; what it throws stops the run there (the
    /// crash tests, and `ARCHIVERELAY_EXPIRY_CRASH_AT` in the node).
    public var expiryStepHook: (@Sendable (ExpiryStep) throws -> Void)?
    public var faultInjector: (any DurableFaultInjector)?
    /// Metrics backend; nil uses the globally bootstrapped `MetricsSystem`.
    public var metricsFactory: (any MetricsFactory)?

    /// Whether the store keeps the full-text search index (`search.sqlite`) up to date on a
    /// thread of its own. Off by default for embedders and tests; the node turns it on
    /// (`[archive] search_index`).
    public var searchIndex = false

    /// The keys segments are encrypted and read with (`[archive] encryption_keys_file`);
    /// an empty ring writes plaintext segments. A reference: the node replaces the ring on
    /// reload, and the writer seals the active segment to start one with the new key.
    public var keys = ArchiveKeys()

    /// Reads the segments the object-storage tier evicted (`NNNNNNNN.seg.remote`); nil: an
    /// evicted segment's records cannot be read (reading one throws `EvictionError.noSource`).
    public var remoteSegments: (any RemoteSegmentSource)?

    public init() {}
}

/// Free-space measurement of the archive volume.
public enum FreeSpace {
    /// Bytes available to unprivileged writers (`f_bavail`, not `f_bfree`: the store does
    /// not run as root and must not count the root reserve).
    @Sendable public static func statvfsProbe(_ path: String) throws -> UInt64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else {
            throw FileIOError(operation: "statvfs", path: path, errno: errno)
        }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }
}
