/// How text becomes search terms, the same at index and at query time.
///
/// The index's tokenizer (SQLite FTS5 `unicode61`) splits on anything that is not a
/// letter or a digit, but a run of CJK characters has no such separators: unsplit, a
/// Japanese sentence would be one token and no word in it could be found. Every Han,
/// Hiragana, Katakana and Hangul character is made a token of its own, so a CJK word in a
/// query is the phrase of its characters (as Lucene's CJK unigrams do).
public enum SearchText {
    public static func segmented(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isCJK) else { return text }
        var out = String.UnicodeScalarView()
        var previousWasCJK = false
        for scalar in text.unicodeScalars {
            if isCJK(scalar) {
                out.append(" ")
                out.append(scalar)
                previousWasCJK = true
            } else {
                if previousWasCJK { out.append(" ") }
                out.append(scalar)
                previousWasCJK = false
            }
        }
        return String(out)
    }

    public static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x1100...0x11FF,      // Hangul Jamo
             0x2E80...0x2FDF,      // CJK and Kangxi radicals
             0x3005...0x3007, 0x3021...0x3029, 0x3038...0x303B,  // ideographic iteration marks and numerals
             0x3040...0x30FF,      // Hiragana, Katakana
             0x3130...0x318F,      // Hangul compatibility Jamo
             0x31F0...0x31FF,      // Katakana phonetic extensions
             0x3400...0x4DBF,      // CJK extension A
             0x4E00...0x9FFF,      // CJK unified ideographs
             0xAC00...0xD7AF,      // Hangul syllables
             0xF900...0xFAFF,      // CJK compatibility ideographs
             0xFF66...0xFF9F,      // half-width Katakana
             0x20000...0x3134F:    // CJK extensions B to G
            return true
        default:
            return false
        }
    }
}
