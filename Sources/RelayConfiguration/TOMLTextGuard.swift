/// What TOMLKit 0.6 mishandles in a configuration text, found before it sees the text.
///
/// - A NUL byte: TOMLKit hands toml++ a C string, so everything after the first NUL was
///   silently ignored (a `[[route]]` behind it would vanish). TOML allows no NUL anywhere.
/// - Text on which toml++ 3.4 asserts instead of reporting an error (an abort in a debug
///   build, undefined behaviour in a release build, where the assertions become
///   assumptions). Each was found by `FuzzConfigDecoder`; see `TOMLTextScanner`.
enum TOMLTextGuard {
    /// What is wrong, at a byte offset into the text's UTF-8. The text before `cleanEnd`
    /// is whole lines (or what toml++ would have read): it fails to parse only if the
    /// whole text fails there first.
    struct Finding: Error, Equatable {
        var offset: Int
        var cleanEnd: Int
        var problem: String
    }

    static func firstFinding(_ text: String) -> Finding? {
        let bytes = Array(text.utf8)
        let nul = bytes.firstIndex(of: 0)
        // The text before a NUL is what toml++ would read.
        var scanner = TOMLTextScanner(bytes: Array(bytes[..<(nul ?? bytes.count)]))
        if let finding = scanner.firstFinding() { return finding }
        return nul.map { Finding(offset: $0, cleanEnd: $0, problem: "a NUL character, which TOML does not allow") }
    }

    /// `line L, column C` (from 1, columns in Unicode scalars, as toml++ counts) of a byte offset.
    static func position(of offset: Int, in text: String) -> (line: Int, column: Int) {
        let lines = Array(text.utf8.prefix(offset)).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        return (lines.count, String(decoding: lines.last ?? [], as: UTF8.self).unicodeScalars.count + 1)
    }
}
