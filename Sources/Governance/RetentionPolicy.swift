import ArchiveStore
import Foundation
import RouteEngine

/// The `[retention]` table as the planner applies it: each arrival gets the longest of the
/// rules that take it (the latest end; on a tie the first in the file), the default when
/// none does, and an original is kept until the latest end over its arrivals.
public struct RetentionPolicy: Sendable {
    public var defaultKeep: RetentionPeriod
    public var rules: [RetentionRule]
    /// The configuration's routes, for route rules (evaluated as the route engine does).
    public var routes: [Route]
    /// How often a running node expires what retention lets go (`expire_every_seconds`).
    public var expireEvery: TimeInterval = 86_400

    /// What an original no rule takes is called in an `ExpiryCandidate`.
    public static let defaultRuleName = "default"

    public init(defaultKeep: RetentionPeriod = .forever, rules: [RetentionRule] = [], routes: [Route] = []) {
        self.defaultKeep = defaultKeep
        self.rules = rules
        self.routes = routes
    }

    /// Whether any rule needs the search database.
    public var needsSearch: Bool { rules.contains { $0.query != nil } }

    /// How long `original` is kept. `matchedQueries` holds the indexes (into `rules`) of
    /// the query rules whose query the original matches.
    public func retention(of original: RetainedOriginal, matchedQueries: Set<Int> = []) -> Retention {
        var latest: Retention?
        for arrival in original.arrivals {
            let own = retention(of: arrival, in: original, matchedQueries: matchedQueries)
            if latest.map({ own.isLonger(than: $0) }) ?? true { latest = own }
        }
        return latest ?? Retention(rule: Self.defaultRuleName, until: nil)
    }

    func retention(of arrival: RetainedArrival, in original: RetainedOriginal, matchedQueries: Set<Int>) -> Retention {
        var chosen: Retention?
        for (index, rule) in rules.enumerated()
        where rule.matches(arrival, of: original, routes: routes, queryMatched: matchedQueries.contains(index)) {
            let candidate = Retention(rule: rule.name, until: rule.keep.end(from: arrival.receivedAt))
            if chosen.map({ candidate.isLonger(than: $0) }) ?? true { chosen = candidate }
        }
        return chosen ?? Retention(rule: Self.defaultRuleName, until: defaultKeep.end(from: arrival.receivedAt))
    }

    /// `retention: default keeps 7 years; 3 rules`: what check-config prints.
    public var summary: String {
        "retention: default keeps \(defaultKeep); \(rules.count) rule\(rules.count == 1 ? "" : "s")"
    }
}

/// How long one original (or arrival) is kept, and which rule says so.
public struct Retention: Sendable, Equatable {
    /// A rule's name, or `default`.
    public var rule: String
    /// When it may go; nil: forever.
    public var until: Date?

    public init(rule: String, until: Date?) {
        self.rule = rule
        self.until = until
    }

    /// Whether `until` has passed at `now`, compared in whole milliseconds as the index keeps
    /// times: expired from the millisecond it ends.
    public func hasEnded(at now: Date) -> Bool {
        guard let until else { return false }
        return Self.millis(now) >= Self.millis(until)
    }

    func isLonger(than other: Retention) -> Bool {
        switch (until, other.until) {
        case (nil, nil), (_?, nil): return false
        case (nil, _?): return true
        case (let a?, let b?): return Self.millis(a) > Self.millis(b)
        }
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
}
