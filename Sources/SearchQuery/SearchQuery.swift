/// The query language of `archive search` (see docs/OPERATIONS.md, "Searching the archive"):
///
///     query   = or
///     or      = and { "OR" and }
///     and     = unary { [ "AND" ] unary }          -- juxtaposition is AND
///     unary   = ( "NOT" | "-" ) unary | primary     -- "-" written against its operand
///     primary = "(" or ")" | term
///
/// so NOT binds tighter than AND, and AND tighter than OR (as in notmuch/Xapian and SQL).
public enum SearchQuery {
    /// Parentheses and negations may nest this deep: parsing and compiling recurse once
    /// per level, so the bound keeps hostile input from exhausting the stack.
    public static let maximumNesting = 64
    /// Terms per query: each may be a SELECT of a compound, and SQLite allows 500 per compound.
    public static let maximumTerms = 200

    public static func parse(_ text: String) throws(SearchQueryError) -> SearchExpression {
        var lexer = QueryLexer(text)
        var parser = QueryParser(tokens: try lexer.tokens(), endColumn: lexer.endColumn)
        return try parser.query()
    }
}

private struct QueryParser {
    let tokens: [QueryToken]
    let endColumn: Int
    var position = 0
    var depth = 0
    var terms = 0

    init(tokens: [QueryToken], endColumn: Int) {
        self.tokens = tokens
        self.endColumn = endColumn
    }

    mutating func query() throws(SearchQueryError) -> SearchExpression {
        guard !tokens.isEmpty else { throw SearchQueryError(column: 1, "expected a search term; the query is empty") }
        let expression = try or()
        if let extra = peek {
            // `or` stops only at the end or at a ')'.
            throw SearchQueryError(column: extra.column, "found ')' with no '(' before it")
        }
        return expression
    }

    private var peek: QueryToken? { position < tokens.count ? tokens[position] : nil }

    private var startsOperand: Bool {
        switch peek?.kind {
        case .open, .not, .minus, .term: true
        case .and, .or, .close, nil: false
        }
    }

    private mutating func or() throws(SearchQueryError) -> SearchExpression {
        var operands = [try and()]
        while let token = peek, token.kind == .or {
            position += 1
            try expectOperand(after: "OR", at: token.column)
            operands.append(try and())
        }
        return Self.combine(operands, or: true)
    }

    private mutating func and() throws(SearchQueryError) -> SearchExpression {
        var operands = [try unary()]
        while let token = peek {
            if token.kind == .and {
                position += 1
                try expectOperand(after: "AND", at: token.column)
            } else if !startsOperand {
                break
            }
            operands.append(try unary())
        }
        return Self.combine(operands, or: false)
    }

    private mutating func unary() throws(SearchQueryError) -> SearchExpression {
        guard let token = peek else { throw SearchQueryError(column: endColumn, "expected a search term") }
        switch token.kind {
        case .not, .minus:
            position += 1
            try expectOperand(after: token.kind == .not ? "NOT" : "'-'", at: token.column)
            try enter(token)
            defer { depth -= 1 }
            return .not(try unary())
        case .open:
            position += 1
            try enter(token)
            defer { depth -= 1 }
            try expectOperand(after: "'('", at: token.column)
            let inner = try or()
            guard let close = peek, close.kind == .close else {
                throw SearchQueryError(column: peek?.column ?? endColumn, "expected ')' to close the '(' at column \(token.column)")
            }
            position += 1
            return inner
        case .term(let term):
            position += 1
            terms += 1
            guard terms <= SearchQuery.maximumTerms else {
                throw SearchQueryError(column: token.column, "too many terms (at most \(SearchQuery.maximumTerms))")
            }
            return .term(term)
        case .and, .or, .close:
            throw SearchQueryError(column: token.column, "expected a search term, found \(Self.describe(token))")
        }
    }

    private mutating func enter(_ token: QueryToken) throws(SearchQueryError) {
        depth += 1
        guard depth <= SearchQuery.maximumNesting else {
            throw SearchQueryError(column: token.column, "parentheses and negations nest too deep (at most \(SearchQuery.maximumNesting))")
        }
    }

    private func expectOperand(after what: String, at column: Int) throws(SearchQueryError) {
        guard !startsOperand else { return }
        let found = peek.map { ", found \(Self.describe($0))" } ?? ""
        throw SearchQueryError(column: peek?.column ?? endColumn, "expected a search term after \(what) at column \(column)\(found)")
    }

    private static func describe(_ token: QueryToken) -> String {
        switch token.kind {
        case .and: "AND (to search for the word, quote it: \"AND\")"
        case .or: "OR (to search for the word, quote it: \"OR\")"
        case .close: "')'"
        case .open, .not, .minus, .term: "a term"
        }
    }

    /// One operand stands alone; operands of the same operator are spliced in.
    private static func combine(_ operands: [SearchExpression], or: Bool) -> SearchExpression {
        if operands.count == 1, let only = operands.first { return only }
        var flat: [SearchExpression] = []
        for operand in operands {
            switch operand {
            case .or(let inner) where or: flat += inner
            case .and(let inner) where !or: flat += inner
            default: flat.append(operand)
            }
        }
        return or ? .or(flat) : .and(flat)
    }
}
