/// A parsed search query: and/or/not over leaves. `and` and `or` hold two or more
/// operands and never an operand of their own kind (the parser flattens `a (b c)` to
/// `and([a, b, c])`), so equal queries compare equal.
public indirect enum SearchExpression: Sendable, Hashable {
    case term(SearchTerm)
    case and([SearchExpression])
    case or([SearchExpression])
    case not(SearchExpression)
}

/// One condition on a message.
public enum SearchTerm: Sendable, Hashable {
    /// Full text: a word or phrase (`text` as written, unsegmented), in one field or any.
    case text(TextTerm)
    case hasAttachment
    case date(DateCondition)
    case size(SizeCondition)
    /// The Message-ID, exactly, without the angle brackets.
    case messageID(String)
}

/// A word, a "phrase" or a `prefix*`, matched token by token (case and diacritics folded).
public struct TextTerm: Sendable, Hashable {
    public var field: TextField
    public var text: String
    /// The last token matches any token it begins (`repor*` matches `reports`).
    public var isPrefix: Bool

    public init(field: TextField, text: String, isPrefix: Bool = false) {
        self.field = field
        self.text = text
        self.isPrefix = isPrefix
    }
}

/// Where a text term looks. Bare words look in every column of the original's own text;
/// the address fields also look in every arrival's envelope (journal reports name Bcc
/// recipients the original never shows).
public enum TextField: String, Sendable, Hashable, CaseIterable {
    case any, from, to, cc, bcc, subject, body, filename

    /// The `docs_text` columns; nil for all of them.
    var originalColumns: [String]? {
        switch self {
        case .any: nil
        case .from: ["sender"]
        case .to: ["recipients", "cc", "bcc"]
        case .cc: ["cc"]
        case .bcc: ["bcc"]
        case .subject: ["subject"]
        case .body: ["body"]
        case .filename: ["filename"]
        }
    }

    /// Whether `arrival_text` is searched too (with the same columns).
    var searchesArrivals: Bool {
        switch self {
        case .from, .to, .cc, .bcc: true
        case .any, .subject, .body, .filename: false
        }
    }
}

/// `after:` / `before:` (the Date field) and `received-after:` / `received-before:` (any
/// arrival), as Unix seconds of a day's start in UTC.
public struct DateCondition: Sendable, Hashable {
    public enum Clock: Sendable, Hashable { case sent, received }
    public enum Bound: Sendable, Hashable {
        /// time >= seconds
        case atOrAfter
        /// time < seconds
        case before
    }
    public var clock: Clock
    public var bound: Bound
    public var seconds: Int64

    public init(clock: Clock, bound: Bound, seconds: Int64) {
        self.clock = clock
        self.bound = bound
        self.seconds = seconds
    }
}

/// `larger:` (size > bytes) and `smaller:` (size < bytes), on the original's size.
public struct SizeCondition: Sendable, Hashable {
    public enum Comparison: Sendable, Hashable { case larger, smaller }
    public var comparison: Comparison
    public var bytes: Int64

    public init(comparison: Comparison, bytes: Int64) {
        self.comparison = comparison
        self.bytes = bytes
    }
}
