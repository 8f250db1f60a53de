import Foundation
import MessageText
import SearchQuery

/// Short highlighted excerpts of hits, for `archive search --json`.
///
/// The search database is contentless (the text is in the segments already), so a snippet
/// is made from the record: its text extracted again, put into an FTS5 table in memory
/// with the same columns and tokenizer, and FTS5's own `snippet()` run with the query's
/// text terms. The highlighted words are then exactly the ones the index matched.
public final class SearchSnippets {
    static let open = "["
    static let close = "]"
    static let tokens = 16

    private let connection: SQLiteConnection
    private let match: String?

    /// Throws `SearchQueryError` for a query that does not parse.
    public convenience init(query: String) throws {
        try self.init(query: try SearchQuery.parse(query))
    }

    init(query: SearchExpression) throws {
        connection = try SQLiteConnection(path: "", readOnly: false, inMemory: true)
        try connection.execute("""
            CREATE VIRTUAL TABLE hit USING fts5(sender, recipients, cc, bcc, subject, body, filename, \
            tokenize='unicode61 remove_diacritics 2')
            """)
        match = SearchSQL.highlight(query)
    }

    /// The excerpt of `text` around the query's words, or its first words when the query
    /// has none there (it matched by envelope, date or size only).
    public func snippet(original: [UInt8]) throws -> String {
        try snippet(MessageTextExtractor.extract(original))
    }

    func snippet(_ text: MessageText) throws -> String {
        let columns = [text.from, text.to, text.cc, text.bcc, [text.subject], [text.body], text.attachmentNames]
            .map { SearchText.segmented($0.joined(separator: "\n")) }
        try connection.execute("DELETE FROM hit")
        try connection.withStatement("INSERT INTO hit(rowid, sender, recipients, cc, bcc, subject, body, filename) VALUES (1,?,?,?,?,?,?,?)") { s in
            try s.bind(columns.map { .text($0) })
            _ = try s.step()
        }
        if let match {
            let found: String? = try connection.withStatement("""
                SELECT snippet(hit, -1, '\(Self.open)', '\(Self.close)', '…', \(Self.tokens)) FROM hit WHERE hit MATCH ?
                """) { s in
                try s.bind([.text(match)])
                return try s.step() ? s.text(0) : nil
            }
            if let found { return Self.tidy(found) }
        }
        let words = text.body.split(whereSeparator: \.isWhitespace).prefix(Self.tokens)
        return Self.tidy(words.joined(separator: " ") + (words.count == Self.tokens ? "…" : ""))
    }

    /// One line: whitespace runs become one space, and the spaces segmentation put
    /// around CJK characters go again (between a CJK character and anything but a Latin
    /// letter or digit: another CJK character, CJK punctuation, a highlight mark).
    static func tidy(_ text: String) -> String {
        var out = ""
        for word in text.split(whereSeparator: \.isWhitespace) {
            if let last = out.unicodeScalars.last, let first = word.unicodeScalars.first,
               SearchText.isCJK(last) && !isLatinWord(first) || SearchText.isCJK(first) && !isLatinWord(last) {
                out += word
            } else {
                out += out.isEmpty ? String(word) : " " + word
            }
        }
        return out
    }

    private static func isLatinWord(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic && !SearchText.isCJK(scalar) || ("0"..."9").contains(scalar)
    }
}
