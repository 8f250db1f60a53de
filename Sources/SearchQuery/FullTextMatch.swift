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

    /// The whole subtree as one MATCH over `docs_text`, or nil when FTS5 cannot say it:
    /// a leaf that also searches arrivals or is no text, a NOT with nothing to subtract
    /// from (FTS5's NOT is binary), an OR over a negation.
    static func expression(_ expression: SearchExpression) -> String? {
        switch expression {
        case .term(.text(let term)) where !term.field.searchesArrivals:
            return leaf(term)
        case .term, .not:
            return nil
        case .or(let operands):
            var parts: [String] = []
            for operand in operands {
                guard let part = Self.expression(operand) else { return nil }
                parts.append("(" + part + ")")
            }
            return parts.joined(separator: " OR ")
        case .and(let operands):
            var kept: [String] = []
            var removed: [String] = []
            for operand in operands {
                if case .not(let inner) = operand {
                    guard let part = Self.expression(inner) else { return nil }
                    removed.append("(" + part + ")")
                } else {
                    guard let part = Self.expression(operand) else { return nil }
                    kept.append("(" + part + ")")
                }
            }
            guard !kept.isEmpty else { return nil }
            let positive = kept.joined(separator: " AND ")
            return removed.isEmpty ? positive : "(" + positive + ") NOT (" + removed.joined(separator: " OR ") + ")"
        }
    }
}
