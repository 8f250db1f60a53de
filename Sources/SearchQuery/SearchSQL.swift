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

/// Turns a query into SQL over `SearchSchema`. Each subexpression becomes a named docid
/// set in a WITH clause, built from the sets before it: AND is INTERSECT, OR is UNION, NOT
/// is EXCEPT (from all docs when nothing is left to subtract from). Named sets keep the SQL
/// flat: SQLite's parser refuses subqueries nested a dozen deep. Text leaves that only
/// search the original's own text and sit together under one AND/OR become one FTS5 MATCH,
/// which FTS5 evaluates in one pass.
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

    /// The matching docids (column `docid`, in no order, each once).
    public static func docids(_ expression: SearchExpression) -> SearchStatement {
        docids(expression, mergingFullText: true)
    }

    static func hits(_ expression: SearchExpression, limit: Int, mergingFullText: Bool) -> SearchStatement {
        var statement = select(
            "\(hitColumns.joined(separator: ", ")) FROM docs WHERE docid IN (SELECT docid FROM %@) ORDER BY docid DESC LIMIT ?",
            expression, mergingFullText)
        statement.bindings.append(.integer(Int64(max(0, limit))))
        return statement
    }

    static func count(_ expression: SearchExpression, mergingFullText: Bool) -> SearchStatement {
        select("count(*) FROM docs WHERE docid IN (SELECT docid FROM %@)", expression, mergingFullText)
    }

    /// `mergingFullText: false` gives every text leaf a MATCH of its own: the tests check
    /// that both find the same docs.
    static func docids(_ expression: SearchExpression, mergingFullText: Bool) -> SearchStatement {
        select("DISTINCT docid FROM %@", expression, mergingFullText)
    }

    /// `WITH <the sets> SELECT <what>`, where `%@` in `what` names the expression's set.
    private static func select(_ what: String, _ expression: SearchExpression, _ merging: Bool) -> SearchStatement {
        var compiler = DocidSetCompiler(merging: merging)
        let result = compiler.set(expression)
        return SearchStatement(
            sql: "WITH " + compiler.sets.joined(separator: ", ") + " SELECT " + what.replacing("%@", with: result),
            bindings: compiler.bindings)
    }
}

private struct DocidSetCompiler {
    let merging: Bool
    /// `sN(docid) AS (...)`, each using only those before it.
    private(set) var sets: [String] = []
    private(set) var bindings: [SQLBinding] = []

    init(merging: Bool) { self.merging = merging }

    /// Every doc, as a set to subtract from.
    static let allDocs = "docs"

    /// Adds a set; returns its name.
    private mutating func add(_ sql: String, _ values: [SQLBinding] = []) -> String {
        let name = "s\(sets.count + 1)"
        sets.append("\(name)(docid) AS (\(sql))")
        bindings += values
        return name
    }

    mutating func set(_ expression: SearchExpression) -> String {
        if merging, let match = FullTextMatch.expression(expression) { return originals(matching: match) }
        switch expression {
        case .term(let term):
            return leaf(term)
        case .not(let inner):
            return combine([Self.allDocs, set(inner)], with: "EXCEPT")
        case .or(let operands):
            var names: [String] = []
            var textOperands: [SearchExpression] = []
            for operand in operands {
                if merging, FullTextMatch.expression(operand) != nil {
                    textOperands.append(operand)
                } else {
                    names.append(set(operand))
                }
            }
            if !textOperands.isEmpty, let match = FullTextMatch.expression(.or(textOperands)) {
                names.append(originals(matching: match))
            } else {
                names += textOperands.map { set($0) }
            }
            return combine(names, with: "UNION")
        case .and(let operands):
            var kept: [String] = []
            var removed: [String] = []
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
            // The text operands as one MATCH: "kept NOT removed" when some are kept, else
            // one MATCH of everything to remove (each on its own if FTS5 cannot nest them).
            if !textKept.isEmpty, let match = FullTextMatch.expression(.and(textKept + textRemoved.map { .not($0) })) {
                kept.append(originals(matching: match))
            } else if textKept.isEmpty, !textRemoved.isEmpty, let match = FullTextMatch.expression(.or(textRemoved)) {
                removed.append(originals(matching: match))
            } else {
                kept += textKept.map { set($0) }
                removed += textRemoved.map { set($0) }
            }
            let base = kept.isEmpty ? Self.allDocs : combine(kept, with: "INTERSECT")
            return removed.isEmpty ? base : combine([base] + removed, with: "EXCEPT")
        }
    }

    private mutating func combine(_ names: [String], with keyword: String) -> String {
        if names.count == 1, let only = names.first { return only }
        return add(names.map { "SELECT docid FROM \($0)" }.joined(separator: " \(keyword) "))
    }

    private mutating func originals(matching match: String) -> String {
        add("SELECT rowid FROM docs_text WHERE docs_text MATCH ?", [.text(match)])
    }

    private mutating func leaf(_ term: SearchTerm) -> String {
        switch term {
        case .text(let text):
            let match = FullTextMatch.leaf(text)
            guard text.field.searchesArrivals else { return originals(matching: match) }
            return add(
                "SELECT rowid FROM docs_text WHERE docs_text MATCH ? UNION "
                    + "SELECT docid FROM arrivals WHERE rowid IN (SELECT rowid FROM arrival_text WHERE arrival_text MATCH ?)",
                [.text(match), .text(match)])
        case .hasAttachment:
            return add("SELECT docid FROM docs WHERE has_attachment != 0")
        case .date(let condition):
            let comparison = condition.bound == .atOrAfter ? ">=" : "<"
            switch condition.clock {
            case .sent:
                return add("SELECT docid FROM docs WHERE date \(comparison) ?", [.integer(condition.seconds)])
            case .received:
                // Any arrival; docs.received_at (the first) too, so an original whose arrival
                // rows are missing is still found by its first.
                return add(
                    "SELECT docid FROM docs WHERE received_at \(comparison) ? UNION SELECT docid FROM arrivals WHERE received_at \(comparison) ?",
                    [.integer(condition.seconds), .integer(condition.seconds)])
            }
        case .size(let condition):
            let comparison = condition.comparison == .larger ? ">" : "<"
            return add("SELECT docid FROM docs WHERE size \(comparison) ?", [.integer(condition.bytes)])
        case .messageID(let id):
            return add("SELECT docid FROM docs WHERE message_id = ?", [.text(id)])
        }
    }
}
