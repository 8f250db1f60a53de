import MessageText

/// FTS5 MATCH strings. Every term is one quoted FTS5 string (FTS5's tokenizer splits it
/// into the phrase of its tokens, exactly as it split the indexed text), so nothing a user
/// types is read as FTS5 syntax; CJK text is segmented first, as the indexer does.
enum FullTextMatch {
    static func leaf(_ term: TextTerm) -> String {
        let cleaned = SearchText.segmented(term.text).replacing("\0", with: " ")
        var match = "\"" + cleaned.replacing("\"", with: "\"\"") + "\""
        if term.isPrefix { match += " *" }
        if let columns = term.field.originalColumns {
            match = "{" + columns.joined(separator: " ") + "} : " + match
        }
        return match
    }

    /// FTS5's query parser refuses nesting past about 32 parentheses; deeper subtrees are
    /// combined as docid sets instead, of MATCHes of their shallower parts.
    static let maximumDepth = 12

    /// The whole subtree as one MATCH over `docs_text`, or nil when FTS5 cannot say it:
    /// a leaf that also searches arrivals or is no text, a NOT with nothing to subtract
    /// from (FTS5's NOT is binary), an OR over a negation, or nesting past `maximumDepth`.
    static func expression(_ expression: SearchExpression) -> String? {
        guard depth(expression) <= maximumDepth else { return nil }
        return text(expression)
    }

    private static func text(_ expression: SearchExpression) -> String? {
        switch expression {
        case .term(.text(let term)) where !term.field.searchesArrivals:
            return leaf(term)
        case .term, .not:
            return nil
        case .or(let operands):
            var parts: [String] = []
            for operand in operands {
                guard let part = Self.operand(operand) else { return nil }
                parts.append(part)
            }
            return parts.isEmpty ? nil : parts.joined(separator: " OR ")
        case .and(let operands):
            var kept: [String] = []
            var removed: [String] = []
            for operand in operands {
                if case .not(let inner) = operand {
                    guard let part = Self.operand(inner) else { return nil }
                    removed.append(part)
                } else {
                    guard let part = Self.operand(operand) else { return nil }
                    kept.append(part)
                }
            }
            guard !kept.isEmpty else { return nil }
            let positive = kept.joined(separator: " AND ")
            return removed.isEmpty ? positive : "(" + positive + ") NOT (" + removed.joined(separator: " OR ") + ")"
        }
    }

    /// An operand of AND, OR or NOT: a leaf as it is, anything else in parentheses.
    private static func operand(_ expression: SearchExpression) -> String? {
        guard let inner = text(expression) else { return nil }
        if case .term = expression { return inner }
        return "(" + inner + ")"
    }

    /// Every text term the query wants present (under an even number of NOTs), as one
    /// OR over the original's own columns: what a snippet highlights.
    static func highlight(_ expression: SearchExpression) -> String? {
        var terms: [String] = []
        collect(expression, negated: false, into: &terms)
        return terms.isEmpty ? nil : terms.joined(separator: " OR ")
    }

    private static func collect(_ expression: SearchExpression, negated: Bool, into terms: inout [String]) {
        switch expression {
        case .term(.text(let term)) where !negated:
            terms.append(leaf(term))
        case .term:
            break
        case .not(let inner):
            collect(inner, negated: !negated, into: &terms)
        case .and(let operands), .or(let operands):
            for operand in operands { collect(operand, negated: negated, into: &terms) }
        }
    }

    private static func depth(_ expression: SearchExpression) -> Int {
        switch expression {
        case .term: 0
        case .not(let inner): 1 + depth(inner)
        case .and(let operands), .or(let operands): 1 + (operands.map(depth).max() ?? 0)
        }
    }
}
