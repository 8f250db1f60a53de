/// Byte-level helpers for the command grammar. Its delimiters (space, `<`, `>`, `"`, `@`,
/// `:`, `.`, `=`) and keywords are ASCII, so the parsers search a line's UTF-8 bytes
/// instead of walking `Character`s: grapheme breaking and Unicode case mapping were most of
/// the cost of parsing a command in the listener's profile. A UTF-8 byte below 0x80 is
/// always a whole character, so every index found this way is a valid `String.Index`.
extension Substring {
    /// The text with ASCII letters upper-cased; other bytes as they are.
    var asciiUppercased: String {
        // Written into the string's own storage: a verb (up to 15 bytes) then needs no
        // allocation at all, where mapping to an array first took one per command.
        let utf8 = self.utf8
        return String(unsafeUninitializedCapacity: utf8.count) { out in
            var count = 0
            for byte in utf8 {
                out[count] = (0x61...0x7A).contains(byte) ? byte - 0x20 : byte
                count += 1
            }
            return count
        }
    }

    /// True if the text is `word` (upper-case ASCII), ignoring ASCII case.
    func equals(asciiCaseInsensitive word: StaticString) -> Bool {
        guard utf8.count == word.utf8CodeUnitCount else { return false }
        return word.withUTF8Buffer { expected in
            zip(utf8, expected).allSatisfy { byte, upper in byte == upper || ((0x61...0x7A).contains(byte) && byte - 0x20 == upper) }
        }
    }

    /// The text after `prefix` (upper-case ASCII), matched ignoring ASCII case; nil without it.
    func droppingPrefix(caseInsensitive prefix: StaticString) -> Substring? {
        let length = prefix.utf8CodeUnitCount
        guard let end = utf8.index(utf8.startIndex, offsetBy: length, limitedBy: utf8.endIndex),
              self[..<end].equals(asciiCaseInsensitive: prefix) else { return nil }
        return self[end...]
    }

    func trimmingLeadingSpaces() -> Substring {
        self[(utf8.firstIndex { $0 != 0x20 && $0 != 0x09 } ?? endIndex)...]
    }

    func trimmingSpaces() -> Substring {
        let start = trimmingLeadingSpaces()
        guard let last = start.utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return start[start.endIndex...] }
        return start[...last]
    }

    /// The words between runs of spaces.
    func spaceSeparatedWords() -> [Substring] {
        utf8.split(separator: 0x20).map { Substring($0) }
    }

    var isASCIIDigits: Bool { !utf8.isEmpty && utf8.allSatisfy { (0x30...0x39).contains($0) } }
}
