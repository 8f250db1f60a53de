import Foundation
import Governance

/// The least any mail is kept: the shortest of the retention rules' periods and the
/// default. Every original with a record in a segment arrived at the earliest a little
/// before the segment was started, and is kept at least this long from its arrival, so a
/// lock to (start − slack + shortest period) never outlasts what its mail needs. It covers a
/// new segment until the next lock plan gives it its own date.
public struct RetentionFloor: Sendable, Equatable {
    public var periods: [RetentionPeriod]
    /// How much earlier than its segment's start a record can have arrived (a message in
    /// flight while the segment rolled over).
    public static let slack: TimeInterval = 600

    public init(periods: [RetentionPeriod]) { self.periods = periods }

    public init(_ policy: RetentionPolicy) {
        periods = [policy.defaultKeep] + policy.rules.map(\.keep)
    }

    /// Nil when there is nothing to lock: no periods, or the floor is already past.
    /// Forever everywhere locks as `RemoteLockKeeper.forever` does.
    public func until(forSegmentStartedAt start: Date, now: Date) -> Date? {
        guard !periods.isEmpty else { return nil }
        let from = start - Self.slack
        let ends = periods.map { $0.end(from: from) }
        let until: Date
        if ends.allSatisfy({ $0 == nil }) {
            until = now + RemoteLockKeeper.forever
        } else {
            until = ends.compactMap { $0 }.min() ?? now
        }
        let whole = Date(timeIntervalSince1970: until.timeIntervalSince1970.rounded(.down))
        return whole > now ? whole : nil
    }
}
