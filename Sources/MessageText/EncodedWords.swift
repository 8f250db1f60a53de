/// RFC 2047 encoded words in a header value: `=?charset?B|Q?text?=` anywhere in the value
/// (also inside quoted display names, as mail clients decode them), the white space
/// between two adjacent encoded words dropped (section 6.2), adjacent words in one charset
/// joined before decoding (a character may be split across them), a malformed word left
/// as written.
enum EncodedWords {
    /// Raw header bytes as text (`rawText`), then encoded words decoded.
    static func decode(_ raw: [UInt8], fallback: String? = nil) -> String {
        guard raw.contains(UInt8(ascii: "=")) else { return rawText(raw, fallback: fallback) }
        var out = ""
        var literal: [UInt8] = []
        var pendingWords: (charset: String, bytes: [UInt8])?
        func flushWords() {
            if let words = pendingWords { out += CharsetText.decode(words.bytes, charset: words.charset) }
            pendingWords = nil
        }
        var i = 0
        while i < raw.count {
            if raw[i] == UInt8(ascii: "="), i + 1 < raw.count, raw[i + 1] == UInt8(ascii: "?"), let word = parseWord(raw, at: i) {
                if pendingWords != nil {
                    if literal.allSatisfy(HeaderSection.isWhite) {
                        literal.removeAll()
                    } else {
                        flushWords()
                    }
                }
                if !literal.isEmpty { out += rawText(literal, fallback: fallback); literal.removeAll() }
                if let words = pendingWords, words.charset.lowercased() == word.charset.lowercased() {
                    pendingWords = (words.charset, words.bytes + word.bytes)
                } else {
                    flushWords()
                    pendingWords = (word.charset, word.bytes)
                }
                i = word.end
                continue
            }
            literal.append(raw[i])
            i += 1
        }
        flushWords()
        out += rawText(literal, fallback: fallback)
        return out
    }

    /// Unlabelled 8-bit header text: UTF-8 when valid, else the charset the entity
    /// declares for its body (how a Big5 or GB2312 mailer writes its raw subject, and how
    /// mail readers guess it), else Windows-1252.
    static func rawText(_ raw: [UInt8], fallback: String? = nil) -> String {
        if let text = CharsetText.validUTF8(raw) { return text }
        if let fallback, !["us-ascii", "ascii", "utf-8", "utf8"].contains(CharsetText.normalized(fallback)),
           let text = CharsetText.converted(raw, from: CharsetText.ianaName(fallback)) {
            return text
        }
        return CharsetText.windows1252(raw)
    }

    struct Word {
        var charset: String
        var bytes: [UInt8]
        var end: Int
    }

    /// The encoded word starting at `start` ("=?"), or nil when it is not one.
    static func parseWord(_ raw: [UInt8], at start: Int) -> Word? {
        var i = start + 2
        let charsetStart = i
        while i < raw.count, raw[i] != UInt8(ascii: "?") {
            if raw[i] <= 0x20 || raw[i] >= 0x7F || i - charsetStart > 64 { return nil }
            i += 1
        }
        guard i + 2 < raw.count, i > charsetStart, raw[i + 2] == UInt8(ascii: "?") else { return nil }
        var charset = String(decoding: raw[charsetStart..<i], as: UTF8.self)
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }  // RFC 2231 language
        let encoding = raw[i + 1] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
        let textStart = i + 3
        var j = textStart
        while j + 1 < raw.count, !(raw[j] == UInt8(ascii: "?") && raw[j + 1] == UInt8(ascii: "=")) {
            if raw[j] == Byte.space || raw[j] == Byte.tab || raw[j] == Byte.cr || raw[j] == Byte.lf { return nil }
            j += 1
        }
        guard j + 1 < raw.count else { return nil }
        let text = raw[textStart..<j]
        var bytes: [UInt8] = []
        if encoding == UInt8(ascii: "b") {
            bytes = TransferDecoding.decode(text, transferEncoding: "base64")
        } else {
            var k = text.startIndex
            while k < text.endIndex {
                let b = text[k]
                if b == UInt8(ascii: "_") {
                    bytes.append(Byte.space)
                } else if b == UInt8(ascii: "="), k + 2 < text.endIndex, let h = hexDigitValue(text[k + 1]), let l = hexDigitValue(text[k + 2]) {
                    bytes.append(h << 4 | l)
                    k += 2
                } else {
                    bytes.append(b)
                }
                k += 1
            }
        }
        return Word(charset: charset, bytes: bytes, end: j + 2)
    }
}
