import ArchiveStore
import Foundation
import Logging

/// What Object Lock must keep of each segment: a segment object in the bucket can only be
/// locked whole, so it is kept as long as the longest-kept original with a record in it
/// (its message record or any of its arrival records), and under legal hold while an open
/// hold covers any of them. It judges the originals exactly as expiry does (the same walk
/// over the index, in batches, with the same search-database rules for query rules and
/// holds: `retention`'s settings), and keeps one entry per segment, not per original.
/// A running node sets `retention.feedsSearch = false`, as its expiry does (its own indexer
/// feeds the search database), and `retention.keys` for encrypted segments.
public struct SegmentLockPlanner {
    /// How the originals are read and judged: the expiry's planner and its settings.
    public var retention: RetentionPlanner

    public init(dataDirectory: String, policy: RetentionPolicy, holds: [LegalHold]) {
        retention = RetentionPlanner(dataDirectory: dataDirectory, policy: policy, holds: holds)
    }

    public init(_ retention: RetentionPlanner) { self.retention = retention }

    /// Every segment the index names a record of, with its lock. A plan does not depend on
    /// the time: the dates are the retention's ends, whatever now is.
    public func plan(logger: Logger = Logger(label: "archiverelay.retention")) throws -> SegmentLockPlan {
        var plan = SegmentLockPlan()
        try retention.judge(logger: logger) { judged in
            for segment in judged.original.segments { plan.add(judged.retention, held: judged.held, to: segment) }
        }
        return plan
    }
}

/// What one segment object's lock must keep.
public struct SegmentLock: Sendable, Equatable {
    /// The latest retention end of the originals with a record in the segment, and the rule
    /// that gives it; `until` nil: one of them is kept forever.
    public var retention: Retention
    /// Whether an open hold covers any of them.
    public var held: Bool

    public init(retention: Retention, held: Bool) {
        self.retention = retention
        self.held = held
    }
}

/// The lock of every segment that holds a record of an original, by sequence number.
public struct SegmentLockPlan: Sendable, Equatable {
    public var segments: [UInt64: SegmentLock]

    public init(segments: [UInt64: SegmentLock] = [:]) { self.segments = segments }

    /// Nil: the index names no record in that segment (an empty one, or one not indexed yet).
    public subscript(sequence: UInt64) -> SegmentLock? { segments[sequence] }

    /// Takes in an original with a record in `segment`: the later end wins, forever over any.
    mutating func add(_ retention: Retention, held: Bool, to segment: UInt64) {
        guard var lock = segments[segment] else {
            segments[segment] = SegmentLock(retention: retention, held: held)
            return
        }
        if retention.isLonger(than: lock.retention) { lock.retention = retention }
        lock.held = lock.held || held
        segments[segment] = lock
    }
}
