/// Finds the first place where toml++ 3.4 (inside TOMLKit 0.6) would fail an assertion
/// instead of reporting a parse error:
///
/// - a table header whose key starts with a character no key can start with (`[,]`,
///   `[[=x]]`, `[` at a line's end): `parse_key`'s precondition (fixed upstream in
///   marzer/tomlplusplus#301);
/// - where an array expects a value, `}` or a non-ASCII line break (U+0085, U+2028,
///   U+2029): `parse_value`'s precondition;
/// - a value like a date, a space and one digit, then the value's end (`2020-01-01 1`):
///   the date-time look-ahead's precondition;
/// - a value that is a date, `T` or `t`, then no digit (`1979-05-27T\u{1A}`): `parse_time`'s
///   precondition.
///
/// It follows TOML's lexical structure only as far as these need: strings (escapes,
/// multi-line forms), comments, brackets, and whether a value is being read. Anything it
/// reports is invalid TOML; what it misses comes after an error toml++ reports itself.
struct TOMLTextScanner {
    private let bytes: [UInt8]
    private var i = 0
    /// `[` or `{` of each array or inline table being read, innermost last.
    private var open: [UInt8] = []
    /// Where the current top-level line began.
    private var statement = 0
    private var lineStart = true
    private var inHeader = false
    private var inValue = false
    /// Inside an array, after `[` or `,`: a value must come next.
    private var valueExpected = false

    init(bytes: [UInt8]) {
        self.bytes = bytes
        // toml++ skips a byte order mark.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    mutating func firstFinding() -> TOMLTextGuard.Finding? {
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case ascii("\n"):
                if open.isEmpty { (lineStart, inHeader, inValue, statement) = (true, false, false, i + 1) }
                i += 1
            case ascii(" "), ascii("\t"):
                i += 1
            case ascii("#"):
                while i < bytes.count, bytes[i] != ascii("\n") { i += 1 }
            case ascii("\""), ascii("'"):
                skipString()
                token()
            case ascii("[") where open.isEmpty && lineStart:
                let header = i
                if let offset = unreadableHeaderKey() {
                    return finding(at: offset, cleanEnd: header, "Error while parsing table header: expected bare key starting character or string delimiter")
                }
                (lineStart, inHeader) = (false, true)
            case ascii("["), ascii("{"):
                if !inHeader { open.append(b) }
                token()
                valueExpected = b == ascii("[") && !inHeader
                i += 1
            case ascii("]"), ascii("}"):
                if b == ascii("}"), open.last == ascii("["), valueExpected {
                    return finding(at: i, cleanEnd: statement, "Error while parsing array: expected value or closing ']'")
                }
                if !inHeader, !open.isEmpty { open.removeLast() }
                token()
                i += 1
            case ascii(","):
                token()
                valueExpected = open.last == ascii("[")
                i += 1
            case ascii("="):
                if open.isEmpty { inValue = true }
                token()
                i += 1
            case 0xC2 where next(is: [0xC2, 0x85]), 0xE2 where next(is: [0xE2, 0x80, 0xA8]) || next(is: [0xE2, 0x80, 0xA9]):
                if open.last == ascii("["), valueExpected {
                    return finding(at: i, cleanEnd: statement, "Error while parsing array: expected value or closing ']'")
                }
                token()
                i += 1
            case ascii("0")...ascii("9") where (inValue || !open.isEmpty) && tokenStarts:
                if let offset = dateThenLoneDigit() ?? dateThenTNoTime() {
                    return finding(at: offset, cleanEnd: statement, "Error while parsing value: expected a time after the date")
                }
                token()
                i += 1
            default:
                token()
                i += 1
            }
        }
        return nil
    }

    private func finding(at offset: Int, cleanEnd: Int, _ problem: String) -> TOMLTextGuard.Finding {
        TOMLTextGuard.Finding(offset: offset, cleanEnd: cleanEnd, problem: "\(problem), saw '\(shown(at: offset))'")
    }

    /// Something other than white space or a comment: the line has begun, any expected value has come.
    private mutating func token() {
        lineStart = false
        valueExpected = false
    }

    private func next(is sequence: [UInt8]) -> Bool {
        bytes[i...].starts(with: sequence)
    }

    private var tokenStarts: Bool {
        i > 0 && [ascii(" "), ascii("\t"), ascii("="), ascii("["), ascii(","), ascii("{")].contains(bytes[i - 1])
    }

    /// At a header's `[`: moves to its key's first byte and judges it as toml++'s
    /// `parse_table_header` does before it calls `parse_key`; its offset if it is wrong.
    private mutating func unreadableHeaderKey() -> Int? {
        i += 1
        let spaced = skipSpaces()
        if i < bytes.count, bytes[i] == ascii("[") {
            if spaced { return nil } // "[ [": toml++ reports it
            i += 1
            skipSpaces()
        }
        guard i < bytes.count else { return nil }
        let c = bytes[i]
        let keyStart = [ascii("]"), ascii("\""), ascii("'"), ascii("_"), ascii("-")].contains(c)
            || (ascii("a")...ascii("z")).contains(c | 0x20) || (ascii("0")...ascii("9")).contains(c)
        return keyStart ? nil : i
    }

    /// At a digit starting a value: if the value is ten characters (underscores aside)
    /// with `-` at the fifth and eighth, then one space and one digit, then neither end of
    /// text nor a character a time could go on with, the offset of that character.
    private func dateThenLoneDigit() -> Int? {
        let stops: Set<UInt8> = [ascii(" "), ascii("\t"), ascii("\n"), ascii("\r"), ascii("]"), ascii("}"), ascii(","), ascii("#")]
        var end = i
        while end < bytes.count, !stops.contains(bytes[end]) { end += 1 }
        let value = Array(String(decoding: bytes[i..<end], as: UTF8.self).unicodeScalars.filter { $0 != "_" })
        guard value.count == 10, value[4] == "-", value[7] == "-",
              end + 2 < bytes.count, bytes[end] == ascii(" "), (ascii("0")...ascii("9")).contains(bytes[end + 1]) else { return nil }
        let after = bytes[end + 2]
        let continues = (ascii("0")...ascii("9")).contains(after) || (ascii("a")...ascii("z")).contains(after | 0x20)
            || [ascii(":"), ascii("."), ascii("+"), ascii("-"), ascii("_")].contains(after)
        return continues ? nil : end + 2
    }

    /// At a digit starting a value (after `=`, or where an array expects a value; a bare
    /// key in an inline table may look like this and be valid): if it is `YYYY-MM-DD`,
    /// then `T` or `t`, then anything but a digit, the offset after the `T` (of the `T`
    /// when the text ends there).
    private func dateThenTNoTime() -> Int? {
        var before = i - 1
        while before >= 0, bytes[before] == ascii(" ") || bytes[before] == ascii("\t") { before -= 1 }
        guard before >= 0 else { return nil }
        let valuePosition = bytes[before] == ascii("=")
            || (open.last == ascii("[") && [ascii("["), ascii(",")].contains(bytes[before]))
        guard valuePosition, i + 11 <= bytes.count else { return nil }
        let digit = { (offset: Int) in (ascii("0")...ascii("9")).contains(self.bytes[offset]) }
        let date = (0..<10).allSatisfy { k in [4, 7].contains(k) ? bytes[i + k] == ascii("-") : digit(i + k) }
        guard date, bytes[i + 10] | 0x20 == ascii("t") else { return nil }
        let after = i + 11
        guard after < bytes.count else { return i + 10 }
        return digit(after) ? nil : after
    }

    /// The character starting at `offset`, escaped as Swift writes it (`\n` for a line feed).
    private func shown(at offset: Int) -> String {
        var end = offset + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        let character = String(decoding: bytes[offset..<end], as: UTF8.self)
        return String(character.debugDescription.dropFirst().dropLast())
    }

    @discardableResult
    private mutating func skipSpaces() -> Bool {
        let start = i
        while i < bytes.count, bytes[i] == ascii(" ") || bytes[i] == ascii("\t") { i += 1 }
        return i > start
    }

    /// From an opening quote to just past the string's end (or to the end of the line
    /// or text, where toml++ reports an unterminated string).
    private mutating func skipString() {
        let quote = bytes[i]
        let escapes = quote == ascii("\"")
        if next(is: [quote, quote, quote]) {
            i += 3
            while i < bytes.count {
                if escapes, bytes[i] == ascii("\\") { i = min(i + 2, bytes.count); continue }
                if next(is: [quote, quote, quote]) {
                    i += 3
                    // Up to two quotes right before the closing three belong to the content.
                    var extra = 0
                    while extra < 2, i < bytes.count, bytes[i] == quote { i += 1; extra += 1 }
                    return
                }
                i += 1
            }
            return
        }
        i += 1
        while i < bytes.count, bytes[i] != ascii("\n") {
            if escapes, bytes[i] == ascii("\\") { i = min(i + 2, bytes.count); continue }
            if bytes[i] == quote { i += 1; return }
            i += 1
        }
    }
}

private func ascii(_ character: Unicode.Scalar) -> UInt8 {
    UInt8(ascii: character)
}
