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

/// Turns a query into SQL over `SearchSchema`: `SELECT ... FROM docs WHERE <condition>`,
/// the condition flat (ANDs, ORs, `docid [NOT] IN (a named set)` and the docs columns'
/// own comparisons), every nested part a named set of a WITH clause: SQLite's parser
/// refuses subqueries nested a dozen deep. A condition on docs uses their indexes and
/// stops at a page's LIMIT, where INTERSECT and EXCEPT materialize every set whole.
/// Text leaves that only search the original's own text and sit together under one
/// AND/OR become one FTS5 MATCH.
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

    /// A MATCH over the original's own text (`docs_text`'s columns) for every text term the
    /// query looks for, to highlight in a hit's text; nil when it looks for none.
    public static func highlight(_ expression: SearchExpression) -> String? {
        FullTextMatch.highlight(expression)
    }

    /// The matching docids (column `docid`, in no order, each once).
    public static func docids(_ expression: SearchExpression) -> SearchStatement {
        docids(expression, mergingFullText: true)
    }

    static func hits(_ expression: SearchExpression, limit: Int, mergingFullText: Bool) -> SearchStatement {
        // A query that is one MATCH lets FTS5 walk its own rowids newest first and stop at
        // the page: docs_text's rowids are docs' docids, one row each.
        if mergingFullText, let match = FullTextMatch.expression(expression) {
            return SearchStatement(
                sql: "SELECT \(hitColumns.joined(separator: ", ")) FROM docs WHERE docid IN "
                    + "(SELECT rowid FROM docs_text WHERE docs_text MATCH ? ORDER BY rowid DESC LIMIT ?) ORDER BY docid DESC",
                bindings: [.text(match), .integer(Int64(max(0, limit)))])
        }
        var statement = select("\(hitColumns.joined(separator: ", "))", expression, mergingFullText, then: " ORDER BY docid DESC LIMIT ?")
        statement.bindings.append(.integer(Int64(max(0, limit))))
        return statement
    }

    static func count(_ expression: SearchExpression, mergingFullText: Bool) -> SearchStatement {
        // One MATCH: FTS5 counts its own matches without a row of docs each (ten times faster
        // for a common word).
        if mergingFullText, let match = FullTextMatch.expression(expression) {
            return SearchStatement(sql: "SELECT count(*) FROM docs_text WHERE docs_text MATCH ?", bindings: [.text(match)])
        }
        return select("count(*)", expression, mergingFullText)
    }

    /// `mergingFullText: false` gives every text leaf a MATCH of its own: the tests check
    /// that both find the same docs.
    static func docids(_ expression: SearchExpression, mergingFullText: Bool) -> SearchStatement {
        select("docid", expression, mergingFullText)
    }

    /// `WITH <the sets> SELECT <columns> FROM docs WHERE <the condition><then>`.
    private static func select(_ columns: String, _ expression: SearchExpression, _ merging: Bool, then tail: String = "") -> SearchStatement {
        var compiler = DocidConditionCompiler(merging: merging)
        let condition = compiler.condition(expression)
        let with = compiler.sets.isEmpty ? "" : "WITH " + compiler.sets.map(\.sql).joined(separator: ", ") + " "
        return SearchStatement(
            sql: with + "SELECT \(columns) FROM docs WHERE " + condition.sql + tail,
            bindings: compiler.sets.flatMap(\.bindings) + condition.bindings)
    }
}
