import SearchQuery

/// Any bytes, as UTF-8, as an `archive search` query: parsed, and what parses compiled to
/// its three statements. No crash; a refusal's column lies within the query (or just past
/// its end); every statement has exactly one binding per `?` (all user text is bound, so
/// a `?` can only be a placeholder).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let query = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    let expression: SearchExpression
    do {
        expression = try SearchQuery.parse(query)
    } catch {
        precondition(error.column >= 1 && error.column <= query.count + 1, "column \(error.column) outside the query")
        return 0
    }
    for statement in [SearchSQL.docids(expression), SearchSQL.count(expression), SearchSQL.hits(expression, limit: 100)] {
        let placeholders = statement.sql.utf8.count(where: { $0 == UInt8(ascii: "?") })
        precondition(placeholders == statement.bindings.count, "\(placeholders) placeholders, \(statement.bindings.count) bindings")
    }
    return 0
}
