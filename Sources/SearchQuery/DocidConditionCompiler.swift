/// Compiles an expression to a condition on a `docs` row. Parts a condition cannot hold
/// flat become named sets (`sN(docid) AS (...)`), each defined only by those before it,
/// so the WITH clause lists them in order and the bindings follow the text.
struct DocidConditionCompiler {
    let merging: Bool
    private(set) var sets: [SearchStatement] = []

    init(merging: Bool) { self.merging = merging }

    func mergedMatch(_ expression: SearchExpression) -> String? {
        merging ? FullTextMatch.expression(expression) : nil
    }

    mutating func condition(_ expression: SearchExpression) -> SearchStatement {
        if let match = mergedMatch(expression) { return Self.inSets([originals(matching: match)]) }
        switch expression {
        case .term(let term):
            return Self.docsCondition(term) ?? Self.inSets([textSet(term)])
        case .not(let inner):
            return negation(inner)
        case .or(let operands):
            return disjunction(operands).condition
        case .and(let operands):
            return conjunction(operands)
        }
    }

    /// A named set of the expression's docids.
    private mutating func set(_ expression: SearchExpression) -> String {
        if let match = mergedMatch(expression) { return originals(matching: match) }
        if case .term(let term) = expression, Self.docsCondition(term) == nil { return textSet(term) }
        if case .or(let operands) = expression {
            // Only sets: their UNION, not a pass over docs.
            let parts = disjunction(operands)
            if parts.comparisons.isEmpty, !parts.sets.isEmpty {
                return add(SearchStatement(sql: parts.sets.map { "SELECT docid FROM \($0)" }.joined(separator: " UNION "), bindings: []))
            }
            return add(Self.docs(where: parts.condition))
        }
        return add(Self.docs(where: condition(expression)))
    }

    private static func docs(where condition: SearchStatement) -> SearchStatement {
        SearchStatement(sql: "SELECT docid FROM docs WHERE " + condition.sql, bindings: condition.bindings)
    }

    private mutating func negation(_ inner: SearchExpression) -> SearchStatement {
        switch inner {
        case .not(let twice):
            // As a set: its condition may be an OR, and this one may stand in an AND.
            return Self.inSets([set(twice)])
        case .or(let operands):
            // NOT (a OR b) as NOT a AND NOT b: excluding each set costs less than building
            // their union first.
            return conjunction(operands.map { .not($0) })
        case .term, .and:
            break
        }
        if case .term(let term) = inner, let condition = Self.docsCondition(term) {
            return SearchStatement(sql: "NOT (\(condition.sql))", bindings: condition.bindings)
        }
        return SearchStatement(sql: "docid NOT IN (SELECT docid FROM \(set(inner)))", bindings: [])
    }

    /// An OR's operands: the docs columns' own comparisons, and the named sets of the rest.
    struct Disjunction {
        var comparisons: [SearchStatement] = []
        var sets: [String] = []

        /// The comparisons, then one `docid IN` of the sets' UNION.
        var condition: SearchStatement {
            DocidConditionCompiler.join(comparisons + (sets.isEmpty ? [] : [DocidConditionCompiler.inSets(sets)]), with: " OR ", empty: "0")
        }
    }

    private mutating func disjunction(_ operands: [SearchExpression]) -> Disjunction {
        var parts = Disjunction()
        var text: [SearchExpression] = []
        for operand in operands {
            if mergedMatch(operand) != nil {
                text.append(operand)
            } else if case .term(let term) = operand, let condition = Self.docsCondition(term) {
                parts.comparisons.append(condition)
            } else {
                parts.sets.append(set(operand))
            }
        }
        if !text.isEmpty, let match = mergedMatch(.or(text)) {
            parts.sets.append(originals(matching: match))
        } else {
            parts.sets += text.map { set($0) }
        }
        return parts
    }

    /// SQLite drives the lookup from the first `docid IN`, so the sets likely smallest come
    /// first: addresses, then words, then the rest; then the docs columns' comparisons, then
    /// what is excluded.
    private mutating func conjunction(_ operands: [SearchExpression]) -> SearchStatement {
        var addresses: [SearchStatement] = []
        var others: [SearchStatement] = []
        var comparisons: [SearchStatement] = []
        var exclusions: [SearchStatement] = []
        var textKept: [SearchExpression] = []
        var textRemoved: [SearchExpression] = []
        for operand in operands {
            if case .not(let inner) = operand {
                if mergedMatch(inner) != nil { textRemoved.append(inner) } else { exclusions.append(negation(inner)) }
            } else if mergedMatch(operand) != nil {
                textKept.append(operand)
            } else if case .term(let term) = operand {
                if let condition = Self.docsCondition(term) { comparisons.append(condition) } else { addresses.append(Self.inSets([textSet(term)])) }
            } else {
                others.append(Self.inSets([set(operand)]))
            }
        }
        var words: [SearchStatement] = []
        if !textKept.isEmpty, let match = mergedMatch(.and(textKept + textRemoved.map { .not($0) })) {
            words.append(Self.inSets([originals(matching: match)]))
        } else if textKept.isEmpty, !textRemoved.isEmpty, let match = mergedMatch(.or(textRemoved)) {
            exclusions.insert(SearchStatement(sql: "docid NOT IN (SELECT docid FROM \(originals(matching: match)))", bindings: []), at: 0)
        } else {
            words += textKept.map { Self.inSets([set($0)]) }
            exclusions += textRemoved.map { negation($0) }
        }
        return Self.join(addresses + words + others + comparisons + exclusions, with: " AND ", empty: "1")
    }

    private mutating func add(_ definition: SearchStatement) -> String {
        let name = "s\(sets.count + 1)"
        sets.append(SearchStatement(sql: "\(name)(docid) AS (\(definition.sql))", bindings: definition.bindings))
        return name
    }

    private mutating func originals(matching match: String) -> String {
        add(SearchStatement(sql: "SELECT rowid FROM docs_text WHERE docs_text MATCH ?", bindings: [.text(match)]))
    }

    /// A text leaf's set: the original's own text, and for the address fields every
    /// arrival's envelope too.
    private mutating func textSet(_ term: SearchTerm) -> String {
        guard case .text(let text) = term else { return add(SearchStatement(sql: "SELECT docid FROM docs WHERE 0", bindings: [])) }
        let match = FullTextMatch.leaf(text)
        guard text.field.searchesArrivals else { return originals(matching: match) }
        return add(SearchStatement(
            sql: "SELECT rowid FROM docs_text WHERE docs_text MATCH ? UNION "
                + "SELECT docid FROM arrivals WHERE rowid IN (SELECT rowid FROM arrival_text WHERE arrival_text MATCH ?)",
            bindings: [.text(match), .text(match)]))
    }

    /// The condition of a leaf on docs' own columns; nil for text.
    static func docsCondition(_ term: SearchTerm) -> SearchStatement? {
        switch term {
        case .text:
            return nil
        case .hasAttachment:
            return SearchStatement(sql: "has_attachment != 0", bindings: [])
        case .date(let condition):
            let comparison = condition.bound == .atOrAfter ? ">=" : "<"
            switch condition.clock {
            case .sent:
                return SearchStatement(sql: "date \(comparison) ?", bindings: [.integer(condition.seconds)])
            case .received where condition.bound == .before:
                // docs.received_at is the first arrival's time, the earliest.
                return SearchStatement(sql: "received_at < ?", bindings: [.integer(condition.seconds)])
            case .received:
                // Any arrival: the first (on the row), else a later one.
                return SearchStatement(
                    sql: "(received_at >= ? OR EXISTS (SELECT 1 FROM arrivals WHERE arrivals.docid = docs.docid AND arrivals.received_at >= ?))",
                    bindings: [.integer(condition.seconds), .integer(condition.seconds)])
            }
        case .size(let condition):
            return SearchStatement(sql: "size \(condition.comparison == .larger ? ">" : "<") ?", bindings: [.integer(condition.bytes)])
        case .messageID(let id):
            // IS: a NULL message_id is simply not equal, so NOT (...) keeps it.
            return SearchStatement(sql: "message_id IS ?", bindings: [.text(id)])
        }
    }

    static func inSets(_ names: [String]) -> SearchStatement {
        SearchStatement(sql: "docid IN (" + names.map { "SELECT docid FROM \($0)" }.joined(separator: " UNION ") + ")", bindings: [])
    }

    static func join(_ conditions: [SearchStatement], with separator: String, empty: String) -> SearchStatement {
        guard !conditions.isEmpty else { return SearchStatement(sql: empty, bindings: []) }
        return SearchStatement(sql: conditions.map(\.sql).joined(separator: separator), bindings: conditions.flatMap(\.bindings))
    }
}
