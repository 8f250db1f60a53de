import Testing
@testable import SearchQuery

struct SearchCase: Sendable, CustomTestStringConvertible {
    var query: String
    var expected: Set<Int64>
    init(_ query: String, _ expected: Set<Int64>) {
        self.query = query
        self.expected = expected
    }
    var testDescription: String { query }
}

private let everyDoc = Set(SearchFixture.docs.map(\.docid))

/// Queries run on `SearchFixture`'s database: the docids each must find, worked out by
/// hand from the fixture. Each runs with the text leaves merged into MATCH expressions
/// and with every leaf on its own.
@Suite struct SearchExecutionTests {
    static let cases: [SearchCase] = [
        // Full text: words, phrases, prefixes, case and diacritics folded.
        SearchCase("quarterly", [1, 2]),
        SearchCase("report", [1, 2]),
        SearchCase("\"quarterly report\"", [1, 2]),
        SearchCase("report*", [1, 2, 6]),
        SearchCase("repor*", [1, 2, 6]),
        SearchCase("\"quarterly rep\"*", [1, 2]),
        SearchCase("cafe", [2, 5]),
        SearchCase("café", [2, 5]),
        SearchCase("CAFÉ", [2, 5]),
        SearchCase("resume", [7]),
        SearchCase("and", [9]),
        SearchCase("budget and plan", [9]),
        SearchCase("\"the plan\"", [9]),
        SearchCase("\"plan the\"", []),
        SearchCase("http://example.com/x", [8]),
        SearchCase("alice", [1, 2, 3, 6, 9, 11]),
        SearchCase("ok", [12]),
        // CJK: a word is the phrase of its characters.
        SearchCase("東京", [3]),
        SearchCase("会議", [3]),
        SearchCase("京東", []),
        SearchCase("\"東京 meeting\"", [3]),
        SearchCase("subject:東京", [3]),
        SearchCase("東*", [3]),
        SearchCase("tokyo", [3]),
        // Fields: the original's own text, and for addresses every arrival's envelope.
        SearchCase("from:alice", [1, 9]),
        SearchCase("from:bounce", [10]),
        SearchCase("from:mallory", [10]),
        SearchCase("from:zoe", [7]),
        SearchCase("from:angstrom", [7]),
        SearchCase("to:alice", [2, 3, 6, 11]),
        SearchCase("to:dave", [1, 5]),
        SearchCase("to:frank", [4]),
        SearchCase("to:ivan", [9]),
        SearchCase("cc:alice", [3]),
        SearchCase("cc:carol", [6]),
        SearchCase("bcc:dave", [1]),
        SearchCase("bcc:frank", [4]),
        SearchCase("bcc:ivan", [9]),
        SearchCase("subject:merger", [4, 11]),
        SearchCase("body:merger", [4, 11]),
        SearchCase("filename:merger", [4]),
        SearchCase("subject:resume", [7]),
        SearchCase("filename:pdf", [1, 7]),
        SearchCase("filename:report*", [1]),
        SearchCase("has:attachment", [1, 4, 7]),
        // Dates on the boundaries: after: includes the day's first second, before: excludes it.
        SearchCase("after:2026-03-01", [1, 3, 4, 6, 7, 8, 9, 10, 11, 12]),
        SearchCase("before:2026-03-01", [2, 5]),
        SearchCase("after:2026-03-01 before:2026-03-02", [1]),
        SearchCase("before:2026-01-01", [5]),
        SearchCase("received-after:2026-03-01", everyDoc.subtracting([5])),
        SearchCase("received-before:2026-03-01", [5]),
        SearchCase("received-after:2026-04-05", [4]),
        SearchCase("received-after:2026-04-01 received-before:2026-04-05", [4, 11]),
        // Sizes: strict bounds, 1024 multiples.
        SearchCase("larger:10K", [2, 3, 4, 7, 12]),
        SearchCase("smaller:10K", [5, 6, 8, 9, 10, 11]),
        SearchCase("larger:5M", [4]),
        SearchCase("larger:1M", [3, 4]),
        SearchCase("smaller:1M larger:10k", [2, 7]),
        SearchCase("smaller:1025", [5, 10]),
        SearchCase("larger:0", everyDoc),
        // Message-ID: exact, with or without the brackets.
        SearchCase("message-id:<q1@example.com>", [1]),
        SearchCase("message-id:q1@example.com", [1]),
        SearchCase("message-id:q1", []),
        SearchCase("message-id:Q1@example.com", []),
        SearchCase("-message-id:q1@example.com", everyDoc.subtracting([1])),
        // Operators and their combinations.
        SearchCase("-merger", everyDoc.subtracting([4, 11])),
        SearchCase("NOT from:alice", everyDoc.subtracting([1, 9])),
        SearchCase("NOT NOT merger", [4, 11]),
        SearchCase("merger -from:bob", [4]),
        SearchCase("merger OR budget", [4, 9, 11]),
        SearchCase("quarterly OR from:mallory", [1, 2, 10]),
        SearchCase("(quarterly OR merger) has:attachment", [1, 4]),
        SearchCase("quarterly -re", [1]),
        SearchCase("quarterly NOT (re OR pdf)", []),
        SearchCase("report* -quarterly", [6]),
        SearchCase("NOT quarterly AND NOT merger", everyDoc.subtracting([1, 2, 4, 11])),
        SearchCase("-cafe -lunch -merger", everyDoc.subtracting([2, 4, 5, 11])),
        SearchCase("cafe OR -lunch", everyDoc),
        SearchCase("meeting OR (budget -plan)", [3]),
        SearchCase("from:alice OR to:alice", [1, 2, 3, 6, 9, 11]),
        SearchCase("from:bob OR to:bob", [1, 2, 7, 10, 11]),
        SearchCase("to:bob -has:attachment", [10]),
        SearchCase("NOT (merger OR quarterly) from:alice", [9]),
        SearchCase("-(from:alice OR to:alice) after:2026-03-20", [4, 7, 8, 10]),
        SearchCase("larger:1M OR (has:attachment -pdf)", [3, 4]),
        SearchCase("from:carol OR -larger:1K", [3, 5, 10]),
        SearchCase("larger:1M OR from:bounce", [3, 4, 10]),
        SearchCase("has:attachment OR -cafe", everyDoc.subtracting([2, 5])),
        SearchCase("-received-after:2026-04-05", everyDoc.subtracting([4])),
        SearchCase("from:bob -(NOT (cafe OR larger:1M))", [2]),
        SearchCase("NOT (cafe OR from:bounce OR has:attachment)", [3, 6, 8, 9, 11, 12]),
        SearchCase("-(larger:1M OR has:attachment) -(cafe OR to:bob)", [6, 8, 9, 11, 12]),
    ]

    @Test(arguments: cases)
    func findsExactly(_ example: SearchCase) throws {
        let database = try SearchFixture.database()
        let expression = try SearchQuery.parse(example.query)
        #expect(try database.docids(SearchSQL.docids(expression)) == example.expected, "merged")
        #expect(try database.docids(SearchSQL.docids(expression, mergingFullText: false)) == example.expected, "leaf by leaf")
        let count = try database.run(SearchSQL.count(expression)).first?.first as? Int64
        #expect(count == Int64(example.expected.count))
    }

    @Test func emptyOperatorsAreAllAndNothing() throws {
        let database = try SearchFixture.database()
        #expect(try database.docids(SearchSQL.docids(.and([]))) == everyDoc)
        #expect(try database.docids(SearchSQL.docids(.or([]))) == [])
    }

    @Test func hitsAreNewestFirstUpToTheLimit() throws {
        let database = try SearchFixture.database()
        let rows = try database.run(SearchSQL.hits(try SearchQuery.parse("to:alice"), limit: 3))
        #expect(rows.map { $0.first as? String } == ["doc11", "doc6", "doc3"])
        #expect(rows.allSatisfy { $0.count == SearchSQL.hitColumns.count })
        let first = try #require(rows.first)
        #expect(first[2] as? String == "merger2@example.com")
        #expect(first[3] as? Int64 == march(33))
        #expect(first[5] as? Int64 == 1500)
        #expect(first[6] as? Int64 == 0)
    }

    /// A query that is one MATCH takes its own path (FTS5 walks its rowids newest first and
    /// counts its own matches): the same page and count as the general one.
    @Test func aSingleMatchPageAndCountAreTheGeneralOnes() throws {
        let database = try SearchFixture.database()
        for query in ["example", "merger OR report*", "subject:report* -pdf", "\"quarterly report\""] {
            let expression = try SearchQuery.parse(query)
            let everything = try database.docids(SearchSQL.docids(expression, mergingFullText: false)).sorted(by: >)
            #expect(everything.count >= 2, "\(query): too few hits to test a page")
            for limit in [1, 2, everything.count + 5] {
                let page = try database.run(SearchSQL.hits(expression, limit: limit)).map { $0.first as? String }
                let general = try database.run(SearchSQL.hits(expression, limit: limit, mergingFullText: false)).map { $0.first as? String }
                #expect(page == general, "\(query) limit \(limit)")
                #expect(page.count == min(limit, everything.count))
            }
            let count = try database.run(SearchSQL.count(expression)).first?.first as? Int64
            #expect(count == Int64(everything.count), "\(query)")
        }
    }

    @Test func mergedTextLeavesAreOneMatch() throws {
        let statement = SearchSQL.docids(try SearchQuery.parse("(quarterly OR merger) -pdf subject:report*"))
        #expect(statement.bindings == [.text("((\"quarterly\" OR \"merger\") AND {subject} : \"report\" *) NOT (\"pdf\")")])
        let unmerged = SearchSQL.docids(try SearchQuery.parse("(quarterly OR merger) -pdf subject:report*"), mergingFullText: false)
        #expect(unmerged.bindings.count == 4)
    }

    @Test func matchStringsQuoteWhatUsersType() throws {
        let statement = SearchSQL.docids(try SearchQuery.parse("\"say \\\"NEAR(x)\\\"\" 東京*"))
        #expect(statement.bindings == [.text("\"say \"\"NEAR(x)\"\"\" AND \" 東 京\" *")])
    }

    @Test func theLargestQueriesTheParserAllowsRun() throws {
        let database = try SearchFixture.database()
        var nested = "merger"
        for _ in 0..<(SearchQuery.maximumNesting / 2) { nested = "-(from:bob OR \(nested))" }
        let many = (0..<SearchQuery.maximumTerms).map { $0 % 2 == 0 ? "from:x\($0)" : "-larger:\($0)" }.joined(separator: " OR ")
        var text = "merger"
        for level in 0..<SearchQuery.maximumNesting { text = level % 2 == 0 ? "budget (\(text))" : "quarterly OR (\(text))" }
        let allAnd = (0..<SearchQuery.maximumTerms).map { $0 % 2 == 0 ? "larger:\($0)" : "-from:x\($0)" }.joined(separator: " ")
        for query in [nested, many, text, allAnd] {
            let expression = try SearchQuery.parse(query)
            let merged = try database.docids(SearchSQL.docids(expression))
            #expect(try database.docids(SearchSQL.docids(expression, mergingFullText: false)) == merged)
        }
    }
}
