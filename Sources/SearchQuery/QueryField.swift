/// The `name:` prefixes a query knows.
enum QueryField: String, CaseIterable {
    case from, to, cc, bcc, subject, body, filename
    case has, after, before
    case receivedAfter = "received-after"
    case receivedBefore = "received-before"
    case larger, smaller
    case messageID = "message-id"

    static let list = allCases.map { "\($0.rawValue):" }.joined(separator: ", ")
}

/// Turns a field's value into a term, checking it (dates, sizes, searchable text).
enum FieldValue {
    static func term(_ field: QueryField, _ value: RawValue) throws(SearchQueryError) -> SearchTerm {
        switch field {
        case .from: return try text(value, field: .from)
        case .to: return try text(value, field: .to)
        case .cc: return try text(value, field: .cc)
        case .bcc: return try text(value, field: .bcc)
        case .subject: return try text(value, field: .subject)
        case .body: return try text(value, field: .body)
        case .filename: return try text(value, field: .filename)
        case .has:
            guard value.text.lowercased() == "attachment", !value.isPrefix else {
                throw SearchQueryError(column: value.column, "expected 'attachment' after 'has:', found '\(value.text)'")
            }
            return .hasAttachment
        case .after: return .date(DateCondition(clock: .sent, bound: .atOrAfter, seconds: try day(value, field)))
        case .before: return .date(DateCondition(clock: .sent, bound: .before, seconds: try day(value, field)))
        case .receivedAfter: return .date(DateCondition(clock: .received, bound: .atOrAfter, seconds: try day(value, field)))
        case .receivedBefore: return .date(DateCondition(clock: .received, bound: .before, seconds: try day(value, field)))
        case .larger: return .size(SizeCondition(comparison: .larger, bytes: try size(value, field)))
        case .smaller: return .size(SizeCondition(comparison: .smaller, bytes: try size(value, field)))
        case .messageID:
            var id = Substring(value.text)
            if id.hasPrefix("<"), id.hasSuffix(">"), id.count >= 2 { id = id.dropFirst().dropLast() }
            guard !id.isEmpty, !value.isPrefix else {
                throw SearchQueryError(column: value.column, "expected a Message-ID after 'message-id:'")
            }
            return .messageID(String(id))
        }
    }

    /// A word or phrase; an unquoted one ending in `*` is a prefix. It must hold at least
    /// one letter or digit: the index holds nothing else, so `"!!!"` could match nothing.
    static func text(_ value: RawValue, field: TextField) throws(SearchQueryError) -> SearchTerm {
        var text = value.text
        var isPrefix = value.isPrefix
        if !value.quoted, text.hasSuffix("*") {
            text.removeLast()
            isPrefix = true
        }
        guard text.unicodeScalars.contains(where: isTokenCharacter) else {
            throw SearchQueryError(column: value.column, "expected a word with a letter or a digit, found '\(value.text)'")
        }
        return .text(TextTerm(field: field, text: text, isPrefix: isPrefix))
    }

    /// What the index's tokenizer (`unicode61`: categories L*, N*, Co) keeps.
    static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .decimalNumber, .letterNumber, .otherNumber, .privateUse:
            true
        default:
            false
        }
    }

    /// YYYY-MM-DD as the Unix seconds of that day's 00:00 UTC.
    static func day(_ value: RawValue, _ field: QueryField) throws(SearchQueryError) -> Int64 {
        let bad = SearchQueryError(column: value.column, "expected a date YYYY-MM-DD after '\(field.rawValue):', found '\(value.text)'")
        let parts = value.text.split(separator: "-", omittingEmptySubsequences: false)
        guard !value.isPrefix, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let year = Int64(parts[0]), let month = Int64(parts[1]), let day = Int64(parts[2]),
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year)
        else { throw bad }
        return daysFromCivil(year: year, month: month, day: day) * 86_400
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Digits with an optional K, M or G (1024 multiples, either case) as bytes.
    static func size(_ value: RawValue, _ field: QueryField) throws(SearchQueryError) -> Int64 {
        let bad = SearchQueryError(column: value.column, "expected a size (digits, then optionally K, M or G) after '\(field.rawValue):', found '\(value.text)'")
        var digits = Substring(value.text)
        var multiplier: Int64 = 1
        switch digits.last {
        case "k", "K": multiplier = 1 << 10
        case "m", "M": multiplier = 1 << 20
        case "g", "G": multiplier = 1 << 30
        default: break
        }
        if multiplier != 1 { digits = digits.dropLast() }
        guard !value.isPrefix, !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw bad }
        guard let number = Int64(digits), case let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier), !overflow else {
            throw SearchQueryError(column: value.column, "the size '\(value.text)' after '\(field.rawValue):' is too large")
        }
        return bytes
    }
}
