import ArchiveStore
import Foundation
import Logging

/// Expiry of an open store: the retention planner's candidates (the configuration's
/// rules, the open holds as they are at each run) handed to `ArchiveStore.expire`, run
/// after run, until a run removes fewer than its limit. The node's daily job and
/// `archive expire` on a stopped node both run it.
public struct ExpiryRunner: Sendable {
    public var policy: RetentionPolicy
    public var dataDirectory: String
    /// Originals per run: bounds a run's plan, its memory and what a crash leaves to finish.
    public var limit = 10_000

    public init(policy: RetentionPolicy, dataDirectory: String) {
        self.policy = policy
        self.dataDirectory = dataDirectory
    }

    /// What the runs removed, added up; `runs` how many ran.
    public struct Outcome: Sendable, Equatable {
        public var runs = 0
        public var originals = 0
        public var records = 0
        public var deferred = 0
        public var segmentBytes = 0
        public var compactionSeconds = 0.0
        public var seconds = 0.0
        public var byRule: [String: Int] = [:]
    }

    public func run(store: ArchiveStore, actor: String, now: @escaping @Sendable () -> Date = { Date() },
                    isQueued: @escaping @Sendable (ArchivePosition) -> Bool = { _ in false }, logger: Logger) async throws -> Outcome {
        var outcome = Outcome()
        while true {
            let report = try await store.expire(actor: actor, now: now(), limit: limit, isQueued: isQueued) {
                try candidates(now: now(), logger: logger)
            }
            outcome.runs += 1
            outcome.originals += report.originals
            outcome.records += report.records
            outcome.deferred = report.deferred
            outcome.segmentBytes += report.segmentBytes
            outcome.compactionSeconds += report.compactionSeconds
            outcome.seconds += report.seconds
            for (rule, count) in report.byRule { outcome.byRule[rule, default: 0] += count }
            if report.originals < limit { return outcome }
        }
    }

    /// The first `limit` candidates in index order.
    private func candidates(now: Date, logger: Logger) throws -> [ExpiryCandidate] {
        struct Enough: Error {}
        let holds = try HoldStore.open(dataDirectory: dataDirectory, .read)?.open() ?? []
        var planner = RetentionPlanner(dataDirectory: dataDirectory, policy: policy, holds: holds)
        planner.feedsSearch = false  // the store waited for its own indexer
        var found: [ExpiryCandidate] = []
        do {
            _ = try planner.plan(now: now, logger: logger) { candidate in
                found.append(candidate)
                if found.count >= limit { throw Enough() }
            }
        } catch is Enough {}
        return found
    }
}
