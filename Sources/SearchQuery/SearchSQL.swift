/// A value bound to a statement's `?`, in order.
public enum SQLBinding: Sendable, Equatable {
    case text(String)
    case integer(Int64)
}

/// SQL text and its bindings, in the order of its `?`s.
public struct SearchStatement: Sendable, Equatable {
    public var sql: String
    public var bindings: [SQLBinding]

    public init(sql: String, bindings: [SQLBinding]) {
        self.sql = sql
        self.bindings = bindings
    }
}

/// Turns a query into SQL over `SearchSchema`. Each subexpression becomes a SELECT of one
/// column `docid` (a set: duplicates are harmless, every use is `IN` or a set operator):
/// AND is INTERSECT, OR is UNION, NOT is EXCEPT (from all docs when nothing is left to
/// subtract from). Text leaves that only search the original's own text and sit together
/// under one AND/OR are merged into one FTS5 MATCH, which FTS5 evaluates in one pass.
public enum SearchSQL {
    /// The hits' columns, in order: docs' id, sha256, message_id, date, received_at, size,
    /// has_attachment.
    public static let hitColumns = ["id", "sha256", "message_id", "date", "received_at", "size", "has_attachment"]

    /// One page of hits, newest (highest docid) first, at most `limit` rows.
    public static func hits(_ expression: SearchExpression, limit: Int) -> SearchStatement {
        hits(expression, limit: limit, mergingFullText: true)
    }

    /// One row, one column: how many messages match.
    public static func count(_ expression: SearchExpression) -> SearchStatement {
        count(expression, mergingFullText: true)
    }

    /// A SELECT of the matching docids (column `docid`, in no order, maybe repeated).
    public static func docids(_ expression: SearchExpression) -> SearchStatement {
        docids(expression, mergingFullText: true)
    }

    static func hits(_ expression: SearchExpression, limit: Int, mergingFullText: Bool) -> SearchStatement {
        let set = docids(expression, mergingFullText: mergingFullText)
        return SearchStatement(
            sql: "SELECT \(hitColumns.joined(separator: ", ")) FROM docs WHERE docid IN (\(set.sql)) ORDER BY docid DESC LIMIT ?",
            bindings: set.bindings + [.integer(Int64(max(0, limit)))])
    }

    static func count(_ expression: SearchExpression, mergingFullText: Bool) -> SearchStatement {
        let set = docids(expression, mergingFullText: mergingFullText)
        return SearchStatement(sql: "SELECT count(*) FROM docs WHERE docid IN (\(set.sql))", bindings: set.bindings)
    }

    /// `mergingFullText: false` gives every text leaf a MATCH of its own: the tests check
    /// that both spell the same sets.
    static func docids(_ expression: SearchExpression, mergingFullText: Bool) -> SearchStatement {
        DocidSetCompiler(merging: mergingFullText).set(expression)
    }
}

private struct DocidSetCompiler {
    let merging: Bool

    static let allDocs = SearchStatement(sql: "SELECT docid FROM docs", bindings: [])

    func set(_ expression: SearchExpression) -> SearchStatement {
        if merging, let match = FullTextMatch.expression(expression) { return Self.originals(matching: match) }
        switch expression {
        case .term(let term):
            return Self.leaf(term)
        case .not(let inner):
            return Self.combine([Self.allDocs, set(inner)], with: "EXCEPT")
        case .or(let operands):
            var sets: [SearchStatement] = []
            var textOperands: [SearchExpression] = []
            for operand in operands {
                if merging, FullTextMatch.expression(operand) != nil {
                    textOperands.append(operand)
                } else {
                    sets.append(set(operand))
                }
            }
            if !textOperands.isEmpty, let match = FullTextMatch.expression(.or(textOperands)) {
                sets.insert(Self.originals(matching: match), at: 0)
            }
            return Self.combine(sets, with: "UNION")
        case .and(let operands):
            var kept: [SearchStatement] = []
            var removed: [SearchStatement] = []
            var textKept: [SearchExpression] = []
            var textRemoved: [SearchExpression] = []
            for operand in operands {
                let negated: SearchExpression?
                if case .not(let inner) = operand { negated = inner } else { negated = nil }
                if merging, let negated, FullTextMatch.expression(negated) != nil {
                    textRemoved.append(negated)
                } else if merging, negated == nil, FullTextMatch.expression(operand) != nil {
                    textKept.append(operand)
                } else if let negated {
                    removed.append(set(negated))
                } else {
                    kept.append(set(operand))
                }
            }
            // Text operands become one MATCH: "kept NOT removed" when some are kept, else
            // one MATCH of everything to remove.
            if !textKept.isEmpty, let match = FullTextMatch.expression(.and(textKept + textRemoved.map { .not($0) })) {
                kept.insert(Self.originals(matching: match), at: 0)
            } else if !textRemoved.isEmpty, let match = FullTextMatch.expression(.or(textRemoved)) {
                removed.insert(Self.originals(matching: match), at: 0)
            }
            let base = kept.isEmpty ? Self.allDocs : Self.combine(kept, with: "INTERSECT")
            return removed.isEmpty ? base : Self.combine([base] + removed, with: "EXCEPT")
        }
    }

    /// Operands of a compound SELECT, each wrapped so it may itself be compound.
    static func combine(_ sets: [SearchStatement], with keyword: String) -> SearchStatement {
        if sets.count == 1, let only = sets.first { return only }
        return SearchStatement(
            sql: sets.map { "SELECT docid FROM (\($0.sql))" }.joined(separator: " \(keyword) "),
            bindings: sets.flatMap(\.bindings))
    }

    static func originals(matching match: String) -> SearchStatement {
        SearchStatement(sql: "SELECT rowid AS docid FROM docs_text WHERE docs_text MATCH ?", bindings: [.text(match)])
    }

    static func leaf(_ term: SearchTerm) -> SearchStatement {
        switch term {
        case .text(let text):
            let match = FullTextMatch.leaf(text)
            guard text.field.searchesArrivals else { return originals(matching: match) }
            return SearchStatement(
                sql: "SELECT rowid AS docid FROM docs_text WHERE docs_text MATCH ? UNION "
                    + "SELECT docid FROM arrivals WHERE rowid IN (SELECT rowid FROM arrival_text WHERE arrival_text MATCH ?)",
                bindings: [.text(match), .text(match)])
        case .hasAttachment:
            return SearchStatement(sql: "SELECT docid FROM docs WHERE has_attachment != 0", bindings: [])
        case .date(let condition):
            let comparison = condition.bound == .atOrAfter ? ">=" : "<"
            switch condition.clock {
            case .sent:
                return SearchStatement(sql: "SELECT docid FROM docs WHERE date \(comparison) ?", bindings: [.integer(condition.seconds)])
            case .received:
                // Any arrival; docs.received_at (the first) too, so an original whose arrival
                // rows are missing is still found by its first.
                return SearchStatement(
                    sql: "SELECT docid FROM docs WHERE received_at \(comparison) ? UNION SELECT docid FROM arrivals WHERE received_at \(comparison) ?",
                    bindings: [.integer(condition.seconds), .integer(condition.seconds)])
            }
        case .size(let condition):
            let comparison = condition.comparison == .larger ? ">" : "<"
            return SearchStatement(sql: "SELECT docid FROM docs WHERE size \(comparison) ?", bindings: [.integer(condition.bytes)])
        case .messageID(let id):
            return SearchStatement(sql: "SELECT docid FROM docs WHERE message_id = ?", bindings: [.text(id)])
        }
    }
}
