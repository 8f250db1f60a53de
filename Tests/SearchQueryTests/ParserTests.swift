import Testing
@testable import SearchQuery

private func word(_ text: String, _ field: TextField = .any, prefix: Bool = false) -> SearchExpression {
    .term(.text(TextTerm(field: field, text: text, isPrefix: prefix)))
}

private func day(_ seconds: Int64, _ clock: DateCondition.Clock, _ bound: DateCondition.Bound) -> SearchExpression {
    .term(.date(DateCondition(clock: clock, bound: bound, seconds: seconds)))
}

struct ParsedQuery: Sendable, CustomTestStringConvertible {
    var query: String
    var expected: SearchExpression
    init(_ query: String, _ expected: SearchExpression) {
        self.query = query
        self.expected = expected
    }
    var testDescription: String { query }
}

struct RefusedQuery: Sendable, CustomTestStringConvertible {
    var query: String
    var column: Int
    var message: String
    init(_ query: String, _ column: Int, _ message: String) {
        self.query = query
        self.column = column
        self.message = message
    }
    var testDescription: String { query }
}

@Suite struct SearchQueryParserTests {
    static let parsed: [ParsedQuery] = [
        // Implicit AND, explicit AND, precedence NOT > AND > OR.
        ParsedQuery("alice", word("alice")),
        ParsedQuery("alice bob", .and([word("alice"), word("bob")])),
        ParsedQuery("alice AND bob", .and([word("alice"), word("bob")])),
        ParsedQuery("alice OR bob carol", .or([word("alice"), .and([word("bob"), word("carol")])])),
        ParsedQuery("alice bob OR carol", .or([.and([word("alice"), word("bob")]), word("carol")])),
        ParsedQuery("a OR b AND c OR d", .or([word("a"), .and([word("b"), word("c")]), word("d")])),
        ParsedQuery("NOT alice bob", .and([.not(word("alice")), word("bob")])),
        ParsedQuery("-alice bob", .and([.not(word("alice")), word("bob")])),
        ParsedQuery("alice -bob", .and([word("alice"), .not(word("bob"))])),
        ParsedQuery("a OR -b", .or([word("a"), .not(word("b"))])),
        ParsedQuery("NOT a OR b", .or([.not(word("a")), word("b")])),
        ParsedQuery("NOT NOT a", .not(.not(word("a")))),
        ParsedQuery("--a", .not(.not(word("a")))),
        ParsedQuery("a AND NOT b", .and([word("a"), .not(word("b"))])),
        // Parentheses, nested, flattened into their parent's operator.
        ParsedQuery("NOT (alice OR bob)", .not(.or([word("alice"), word("bob")]))),
        ParsedQuery("-(alice OR bob)", .not(.or([word("alice"), word("bob")]))),
        ParsedQuery("(alice OR bob) carol", .and([.or([word("alice"), word("bob")]), word("carol")])),
        ParsedQuery("((alice))", word("alice")),
        ParsedQuery("a (b (c OR (d OR e)))", .and([word("a"), word("b"), .or([word("c"), word("d"), word("e")])])),
        ParsedQuery("(a)(b)", .and([word("a"), word("b")])),
        ParsedQuery("NOT(a)", .not(word("a"))),
        // Only upper-case operators are operators.
        ParsedQuery("alice and bob", .and([word("alice"), word("and"), word("bob")])),
        ParsedQuery("a or not b", .and([word("a"), word("or"), word("not"), word("b")])),
        ParsedQuery("\"AND\"", word("AND")),
        // Quoting, escaping, prefixes.
        ParsedQuery("\"quarterly report\"", word("quarterly report")),
        ParsedQuery("  \"quarterly   report\"  ", word("quarterly   report")),
        ParsedQuery("\"say \\\"hi\\\" \\\\ ok\"", word("say \"hi\" \\ ok")),
        ParsedQuery("\"C:\\temp\"", word("C:\\temp")),
        ParsedQuery("\"a OR b\"", word("a OR b")),
        ParsedQuery("\"from:alice\"", word("from:alice")),
        ParsedQuery("repor*", word("repor", prefix: true)),
        ParsedQuery("\"quarterly rep\"*", word("quarterly rep", prefix: true)),
        ParsedQuery("\"a*\"", word("a*")),
        ParsedQuery("e-mail", word("e-mail")),
        ParsedQuery("東京", word("東京")),
        // Fields: any case, quoted values, prefixes.
        ParsedQuery("from:alice", word("alice", .from)),
        ParsedQuery("From:Alice", word("Alice", .from)),
        ParsedQuery("to:bob cc:carol bcc:dave", .and([word("bob", .to), word("carol", .cc), word("dave", .bcc)])),
        ParsedQuery("subject:\"quarterly report\"", word("quarterly report", .subject)),
        ParsedQuery("subject:\"quarterly rep\"*", word("quarterly rep", .subject, prefix: true)),
        ParsedQuery("body:merger filename:pdf", .and([word("merger", .body), word("pdf", .filename)])),
        ParsedQuery("from:ali*", word("ali", .from, prefix: true)),
        ParsedQuery("from:alice@example.com", word("alice@example.com", .from)),
        ParsedQuery("-from:alice", .not(word("alice", .from))),
        // A colon that does not follow a field-like name is part of the word.
        ParsedQuery("http://example.com/x", word("http://example.com/x")),
        ParsedQuery("10:30", word("10:30")),
        ParsedQuery("fe80::1", word("fe80::1")),
        ParsedQuery(":x", word(":x")),
        // Structured fields.
        ParsedQuery("has:attachment", .term(.hasAttachment)),
        ParsedQuery("HAS:Attachment", .term(.hasAttachment)),
        ParsedQuery("after:1970-01-02", day(86_400, .sent, .atOrAfter)),
        ParsedQuery("before:2000-03-01", day(951_868_800, .sent, .before)),
        ParsedQuery("after:2024-02-29", day(1_709_164_800, .sent, .atOrAfter)),
        ParsedQuery("after:1969-12-31", day(-86_400, .sent, .atOrAfter)),
        ParsedQuery("received-after:2026-03-01", day(1_772_323_200, .received, .atOrAfter)),
        ParsedQuery("received-before:\"2026-03-01\"", day(1_772_323_200, .received, .before)),
        ParsedQuery("larger:10K", .term(.size(SizeCondition(comparison: .larger, bytes: 10_240)))),
        ParsedQuery("smaller:5M", .term(.size(SizeCondition(comparison: .smaller, bytes: 5_242_880)))),
        ParsedQuery("larger:1g", .term(.size(SizeCondition(comparison: .larger, bytes: 1_073_741_824)))),
        ParsedQuery("larger:0", .term(.size(SizeCondition(comparison: .larger, bytes: 0)))),
        ParsedQuery("smaller:1234", .term(.size(SizeCondition(comparison: .smaller, bytes: 1234)))),
        ParsedQuery("message-id:<abc@example.com>", .term(.messageID("abc@example.com"))),
        ParsedQuery("message-id:abc@example.com", .term(.messageID("abc@example.com"))),
        ParsedQuery("Message-ID:\"<a \\\"b\\\"@x>\"", .term(.messageID("a \"b\"@x"))),
    ]

    @Test(arguments: parsed)
    func parses(_ example: ParsedQuery) throws {
        #expect(try SearchQuery.parse(example.query) == example.expected)
    }

    static let refused: [RefusedQuery] = [
        RefusedQuery("", 1, "the query is empty"),
        RefusedQuery("   ", 1, "the query is empty"),
        RefusedQuery("(a b", 5, "expected ')' to close the '(' at column 1"),
        RefusedQuery("from:x (a OR (b c)", 19, "expected ')' to close the '(' at column 8"),
        RefusedQuery("a)", 2, "found ')' with no '(' before it"),
        RefusedQuery("(a) b)", 6, "found ')' with no '(' before it"),
        RefusedQuery("a OR", 5, "expected a search term after OR at column 3"),
        RefusedQuery("OR a", 1, "expected a search term, found OR"),
        RefusedQuery("AND", 1, "expected a search term, found AND"),
        RefusedQuery("a AND OR b", 7, "expected a search term after AND at column 3, found OR"),
        RefusedQuery("()", 2, "expected a search term after '(' at column 1, found ')'"),
        RefusedQuery("a (OR b)", 4, "expected a search term after '(' at column 3, found OR"),
        RefusedQuery("NOT", 4, "expected a search term after NOT at column 1"),
        RefusedQuery("a NOT )", 7, "expected a search term after NOT at column 3, found ')'"),
        RefusedQuery("a -", 3, "expected a search term after '-'"),
        RefusedQuery("a - b", 3, "expected a search term after '-'"),
        RefusedQuery("-)", 1, "expected a search term after '-'"),
        RefusedQuery("\"abc", 5, "expected '\"' to close the '\"' at column 1"),
        RefusedQuery("subject:\"abc \\\"", 16, "expected '\"' to close the '\"' at column 9"),
        RefusedQuery("foo:bar", 1, "unknown field 'foo:'; the fields are from:, to:, cc:, bcc:, subject:, body:, filename:, has:, after:, before:, received-after:, received-before:, larger:, smaller:, message-id:"),
        RefusedQuery("a Re:budget", 3, "unknown field 're:'"),
        RefusedQuery("from:", 6, "expected a value after 'from:'"),
        RefusedQuery("a subject: b", 11, "expected a value after 'subject:'"),
        RefusedQuery("\"!!!\"", 1, "expected a word with a letter or a digit, found '!!!'"),
        RefusedQuery("a *", 3, "expected a word with a letter or a digit, found '*'"),
        RefusedQuery("subject:\"--\"", 9, "expected a word with a letter or a digit"),
        RefusedQuery("after:2026-13-01", 7, "expected a date YYYY-MM-DD after 'after:', found '2026-13-01'"),
        RefusedQuery("after:2026-02-29", 7, "expected a date YYYY-MM-DD"),
        RefusedQuery("after:2026-04-31", 7, "expected a date YYYY-MM-DD"),
        RefusedQuery("before:26-01-01", 8, "expected a date YYYY-MM-DD after 'before:'"),
        RefusedQuery("received-after:2026-1-01", 16, "expected a date YYYY-MM-DD after 'received-after:'"),
        RefusedQuery("received-before:+026-01-01", 17, "expected a date YYYY-MM-DD"),
        RefusedQuery("larger:10X", 8, "expected a size (digits, then optionally K, M or G) after 'larger:', found '10X'"),
        RefusedQuery("smaller:K", 9, "expected a size"),
        RefusedQuery("smaller:-5", 9, "expected a size"),
        RefusedQuery("larger:99999999999G", 8, "the size '99999999999G' after 'larger:' is too large"),
        RefusedQuery("larger:99999999999999999999", 8, "is too large"),
        RefusedQuery("has:pdf", 5, "expected 'attachment' after 'has:', found 'pdf'"),
        RefusedQuery("message-id:<>", 12, "expected a Message-ID after 'message-id:'"),
        RefusedQuery(String(repeating: "(", count: 70) + "a" + String(repeating: ")", count: 70), 65, "nest too deep (at most 64)"),
        RefusedQuery(String(repeating: "-", count: 70) + "a", 65, "nest too deep"),
        RefusedQuery(Array(repeating: "a", count: 201).joined(separator: " "), 401, "too many terms (at most 200)"),
        // Columns count characters, not bytes or UTF-16 units.
        RefusedQuery("東京 é (x", 8, "expected ')' to close the '(' at column 6"),
    ]

    @Test(arguments: refused)
    func refuses(_ example: RefusedQuery) {
        #expect(throws: SearchQueryError.self) { try SearchQuery.parse(example.query) }
        do {
            _ = try SearchQuery.parse(example.query)
        } catch {
            #expect(error.column == example.column)
            #expect(error.message.contains(example.message), "\(error)")
            #expect(error.description.hasPrefix("column \(example.column): "))
        }
    }

    @Test func deepestAllowedNestingParses() throws {
        let depth = SearchQuery.maximumNesting
        let query = String(repeating: "(", count: depth) + "a" + String(repeating: ")", count: depth)
        #expect(try SearchQuery.parse(query) == word("a"))
    }
}
