import ArchiveStore
import Foundation
import Logging

/// Decides what expiry removes: every original whose retention (`RetentionPolicy`) has
/// ended at `now` and that no open hold's query matches now. It reads the index one batch
/// of originals at a time and asks the search database (fed to the archive's end first,
/// as `archive search` does) about each batch, so memory stays bounded whatever the
/// archive's size. It sees the index as it is: what a running node has not indexed yet
/// (its last seconds) is not judged, so the expiry itself runs on an index caught up to
/// the archive's end (the store's own, or one opened with the node stopped).
public struct RetentionPlanner {
    public var dataDirectory: String
    public var policy: RetentionPolicy
    public var holds: [LegalHold]
    public var batchSize = 1000
    /// Feed the search database to the archive's end first and refuse to plan while it
    /// lacks arrivals (a CLI); false: ask it as it is (the node's expiry, which waited
    /// for its own indexer: what arrived since is too new to expire, and its arrivals
    /// renew their originals in the index the plan reads).
    public var feedsSearch = true
    /// Open encrypted segments when feeding the search database (`feedsSearch`).
    public var keys = SegmentKeyRing.none
    /// Read evicted segments when feeding the search database.
    public var remote: (any RemoteSegmentSource)?

    public init(dataDirectory: String, policy: RetentionPolicy, holds: [LegalHold]) {
        self.dataDirectory = dataDirectory
        self.policy = policy
        self.holds = holds.filter(\.isOpen)
    }

    /// Hands each candidate to `each`, in index order, and returns the totals.
    public func plan(now: Date, logger: Logger = Logger(label: "archiverelay.retention"),
                     _ each: (ExpiryCandidate) throws -> Void) throws -> ExpiryTotals {
        var totals = ExpiryTotals()
        // Nothing can have ended: no need to read anything (nor to need a search database).
        if policy.defaultKeep == .forever && policy.rules.allSatisfy({ $0.keep == .forever }) { return totals }
        try judge(logger: logger) { judged in
            totals.originals += 1
            guard judged.retention.hasEnded(at: now), let until = judged.retention.until else { return }
            if judged.held {
                totals.keptByHold += 1
                return
            }
            totals.expired += 1
            try each(ExpiryCandidate(sha256: judged.original.sha256, archiveID: judged.original.id, rule: judged.retention.rule,
                                     expiredAt: until))
        }
        return totals
    }

    /// Hands every original of the index to `each`, in index order, with how long it is
    /// kept and whether an open hold covers it: the one walk expiry and the segments'
    /// Object Lock plan (`SegmentLockPlanner`) both judge by.
    func judge(logger: Logger, _ each: (JudgedOriginal) throws -> Void) throws {
        let originals = try RetainedOriginals(dataDirectory: dataDirectory)
        var queries = QuerySets()
        if policy.needsSearch || !holds.isEmpty {
            let search = try ArchiveSearch(dataDirectory: dataDirectory, feed: feedsSearch, keys: keys, remote: remote, logger: logger)
            // An original the search database lacks could be held: deciding without it could remove it.
            guard search.unindexedArrivals == 0 else { throw PlanningError.searchBehind(search.unindexedArrivals) }
            queries = try QuerySets(search: search, rules: policy.rules, holds: holds)
        }
        while true {
            let batch = try originals.next(limit: batchSize)
            if batch.isEmpty { break }
            let matches = try queries.matches(batch.map(\.sha256))
            for original in batch {
                try each(JudgedOriginal(original: original,
                                        retention: policy.retention(of: original, matchedQueries: matches.rules[original.sha256] ?? []),
                                        held: matches.held.contains(original.sha256)))
            }
        }
    }
}

/// One original as the planners judge it.
struct JudgedOriginal {
    var original: RetainedOriginal
    var retention: Retention
    /// Whether an open hold's query matches it now.
    var held: Bool
}

/// What one planning run found.
public struct ExpiryTotals: Sendable, Equatable {
    /// Originals looked at.
    public var originals = 0
    /// Originals whose retention ended and that no hold covers: the candidates.
    public var expired = 0
    /// Originals whose retention ended and that an open hold covers.
    public var keptByHold = 0

    public init(originals: Int = 0, expired: Int = 0, keptByHold: Int = 0) {
        self.originals = originals
        self.expired = expired
        self.keptByHold = keptByHold
    }
}

/// Why no plan could be made.
public enum PlanningError: Error, Equatable, Sendable, CustomStringConvertible {
    case searchBehind(Int)

    public var description: String {
        switch self {
        case .searchBehind(let n):
            return "the search index lacks \(n) arrivals and cannot be written by this user: holds and query rules cannot be "
                + "evaluated, so nothing is planned (run as the node's user)"
        }
    }
}

/// The query rules' and open holds' match sets, and which of a batch they take.
private struct QuerySets {
    var search: ArchiveSearch?
    var rules: [(index: Int, set: SearchMatchSet)] = []
    var holds: [SearchMatchSet] = []

    init() {}

    init(search: ArchiveSearch, rules: [RetentionRule], holds: [LegalHold]) throws {
        self.search = search
        for (index, rule) in rules.enumerated() {
            if let query = rule.query { self.rules.append((index, try search.matchSet(query))) }
        }
        self.holds = try holds.map { try search.matchSet($0.query) }
    }

    struct BatchMatches {
        /// Per original, the indexes of the query rules it matches.
        var rules: [String: Set<Int>] = [:]
        var held: Set<String> = []
    }

    func matches(_ sha256s: [String]) throws -> BatchMatches {
        var result = BatchMatches()
        guard let search else { return result }
        for rule in rules {
            for hex in try search.members(of: rule.set, among: sha256s) { result.rules[hex, default: []].insert(rule.index) }
        }
        for hold in holds { result.held.formUnion(try search.members(of: hold, among: sha256s)) }
        return result
    }
}
