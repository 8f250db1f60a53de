import TestRandom
import Testing
@testable import SearchQuery

/// Random expression trees over the fixture: merged MATCHes, leaf-by-leaf SQL and set
/// algebra in Swift over each leaf's own result must all find the same docs.
@Suite struct RandomQueryTests {
    /// Leaves that each find a different slice of the fixture, text and structured alike.
    static let leaves = [
        "quarterly", "report*", "cafe", "merger", "東京", "\"the plan\"", "alice", "ok", "subject:merger",
        "body:merger", "filename:pdf", "from:alice", "from:bounce", "to:alice", "to:dave", "cc:carol", "bcc:frank",
        "has:attachment", "after:2026-03-15", "before:2026-03-01", "received-after:2026-04-05", "larger:10K",
        "smaller:2K", "message-id:q1@example.com",
    ]

    @Test func mergingChangesNoResult() throws {
        let database = try SearchFixture.database()
        let all = Set(SearchFixture.docs.map(\.docid))
        var leafSets: [SearchExpression: Set<Int64>] = [:]
        let terms = try Self.leaves.map { try SearchQuery.parse($0) }
        for term in terms { leafSets[term] = try database.docids(SearchSQL.docids(term, mergingFullText: false)) }
        var random = SplitMix64(seed: 25)
        for _ in 0..<300 {
            let expression = Self.tree(depth: 4, terms: terms, &random)
            let expected = Self.evaluate(expression, leafSets, all)
            #expect(try database.docids(SearchSQL.docids(expression)) == expected, "\(expression)")
            #expect(try database.docids(SearchSQL.docids(expression, mergingFullText: false)) == expected, "\(expression)")
        }
    }

    static func tree(depth: Int, terms: [SearchExpression], _ random: inout SplitMix64) -> SearchExpression {
        let leaf = terms[Int(random.next() % UInt64(terms.count))]
        guard depth > 0 else { return leaf }
        switch random.next() % 5 {
        case 0: return leaf
        case 1: return .not(tree(depth: depth - 1, terms: terms, &random))
        case 2, 3:
            let count = 2 + Int(random.next() % 3)
            return .and((0..<count).map { _ in tree(depth: depth - 1, terms: terms, &random) })
        default:
            let count = 2 + Int(random.next() % 3)
            return .or((0..<count).map { _ in tree(depth: depth - 1, terms: terms, &random) })
        }
    }

    static func evaluate(_ expression: SearchExpression, _ leaves: [SearchExpression: Set<Int64>], _ all: Set<Int64>) -> Set<Int64> {
        switch expression {
        case .term: leaves[expression] ?? []
        case .not(let inner): all.subtracting(evaluate(inner, leaves, all))
        case .and(let operands): operands.map { evaluate($0, leaves, all) }.reduce(all) { $0.intersection($1) }
        case .or(let operands): operands.map { evaluate($0, leaves, all) }.reduce([]) { $0.union($1) }
        }
    }
}
