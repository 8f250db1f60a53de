/// One token of a query: a parenthesis, an operator, or a finished term (its field's value
/// already checked, so a bad date is reported where it was written).
struct QueryToken: Equatable {
    enum Kind: Equatable {
        case open, close, and, or, not, minus
        case term(SearchTerm)
    }
    var kind: Kind
    /// 1-based, in characters.
    var column: Int
}

/// Splits a query into tokens. Whitespace separates; `(` and `)` are tokens wherever they
/// stand outside quotes; `-` at a term's start negates it; `AND`, `OR`, `NOT` (upper case
/// only) are operators; `"..."` is a phrase, in which `\"` and `\\` stand for `"` and `\`.
struct QueryLexer {
    private let chars: [Character]
    private var index = 0

    init(_ text: String) { chars = Array(text) }

    var endColumn: Int { chars.count + 1 }

    mutating func tokens() throws(SearchQueryError) -> [QueryToken] {
        var tokens: [QueryToken] = []
        while index < chars.count {
            let char = chars[index]
            let column = index + 1
            if char.isWhitespace {
                index += 1
            } else if char == "(" {
                tokens.append(QueryToken(kind: .open, column: column))
                index += 1
            } else if char == ")" {
                tokens.append(QueryToken(kind: .close, column: column))
                index += 1
            } else if char == "-" {
                guard index + 1 < chars.count, !chars[index + 1].isWhitespace, chars[index + 1] != ")" else {
                    throw SearchQueryError(column: column, "expected a search term after '-'")
                }
                tokens.append(QueryToken(kind: .minus, column: column))
                index += 1
            } else if char == "\"" {
                let phrase = try quoted()
                tokens.append(QueryToken(kind: .term(try FieldValue.text(phrase, field: .any)), column: column))
            } else {
                tokens.append(try word())
            }
        }
        return tokens
    }

    /// A run of characters up to whitespace, a parenthesis or a quote: an operator, a
    /// `field:value` or a plain word.
    private mutating func word() throws(SearchQueryError) -> QueryToken {
        let start = index
        while index < chars.count, !Self.endsWord(chars[index]) { index += 1 }
        let text = String(chars[start..<index])
        let column = start + 1
        switch text {
        case "AND": return QueryToken(kind: .and, column: column)
        case "OR": return QueryToken(kind: .or, column: column)
        case "NOT": return QueryToken(kind: .not, column: column)
        default: break
        }
        guard let colon = text.firstIndex(of: ":"), Self.isFieldName(text[..<colon], followedBy: text[colon...].dropFirst().first) else {
            return QueryToken(kind: .term(try FieldValue.text(RawValue(text: text, column: column, quoted: false), field: .any)), column: column)
        }
        let name = text[..<colon].lowercased()
        guard let field = QueryField(rawValue: name) else {
            throw SearchQueryError(column: column, "unknown field '\(name):'; the fields are \(QueryField.list) (to search for a word with a colon, quote it: \"\(text)\")")
        }
        let valueColumn = column + name.count + 1
        let rest = String(text[colon...].dropFirst())
        let value: RawValue
        if !rest.isEmpty {
            value = RawValue(text: rest, column: valueColumn, quoted: false)
        } else if index < chars.count, chars[index] == "\"" {
            value = try quoted()
        } else {
            throw SearchQueryError(column: valueColumn, "expected a value after '\(name):'")
        }
        return QueryToken(kind: .term(try FieldValue.term(field, value)), column: column)
    }

    /// A quoted value starting at `index`; a `*` right after the closing quote makes it a prefix.
    private mutating func quoted() throws(SearchQueryError) -> RawValue {
        let column = index + 1
        index += 1
        var text = ""
        while index < chars.count {
            let char = chars[index]
            index += 1
            if char == "\"" {
                var value = RawValue(text: text, column: column, quoted: true)
                if index < chars.count, chars[index] == "*" {
                    value.isPrefix = true
                    index += 1
                }
                return value
            }
            if char == "\\", index < chars.count, chars[index] == "\"" || chars[index] == "\\" {
                text.append(chars[index])
                index += 1
            } else {
                text.append(char)
            }
        }
        throw SearchQueryError(column: endColumn, "expected '\"' to close the '\"' at column \(column)")
    }

    private static func endsWord(_ char: Character) -> Bool {
        char.isWhitespace || char == "(" || char == ")" || char == "\""
    }

    /// `name:` is read as a field when the name looks like one (a letter, then letters,
    /// digits, `-` or `_`) and the colon is not followed by `/` or `:`, so `http://host`,
    /// `fe80::1` and `10:30` stay plain words.
    private static func isFieldName(_ name: Substring, followedBy next: Character?) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter else { return false }
        guard next != "/", next != ":" else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
    }
}

/// A value as written: its text (quotes and escapes removed), where it starts, and whether
/// it was quoted or ended in the prefix `*` after its quote.
struct RawValue {
    var text: String
    var column: Int
    var quoted: Bool
    var isPrefix = false
}
