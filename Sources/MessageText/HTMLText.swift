/// text/html as the words a reader sees: tags dropped, `<script>`, `<style>` and comments
/// dropped with their content, a line break for every block element's start and end tag
/// (so words in two cells or paragraphs never merge, while `<b>x</b>y` stays one word as
/// a browser shows it), character references decoded (numeric, HTML 4 names, and the
/// legacy names without ";"). A construct left open at the end is text, as browsers and
/// Python's html.parser read it. One pass over the text.
enum HTMLText {
    static let blockElements: Set<String> = [
        "address", "article", "aside", "blockquote", "body", "br", "caption", "center", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "li",
        "main", "nav", "ol", "option", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul",
    ]

    static func text(_ html: String) -> String {
        let s = Array(html.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        var dataStart = 0
        func flushData(to end: Int) {
            if dataStart < end { decodeReferences(s, dataStart..<end, into: &out) }
        }
        while i < s.count {
            guard s[i] == "<", i + 1 < s.count else { i += 1; continue }
            let next = s[i + 1]
            var end: Int?
            var tagName: String?
            var rawTextUntil: String?
            if next == "!" && i + 3 < s.count && s[i + 2] == "-" && s[i + 3] == "-" {
                end = find(s, "-->", from: i + 4).map { $0 + 3 }
            } else if next == "!" || next == "?" {
                end = find(s, ">", from: i + 2).map { $0 + 1 }
            } else if next == "/" {
                if i + 2 < s.count, isASCIILetter(s[i + 2]) {
                    tagName = name(s, from: i + 2)
                }
                end = find(s, ">", from: i + 2).map { $0 + 1 }
            } else if isASCIILetter(next) {
                tagName = name(s, from: i + 1)
                end = startTagEnd(s, from: i + 1)
                if tagName == "script" || tagName == "style" { rawTextUntil = "</" + (tagName ?? "") }
            } else {
                i += 1
                continue
            }
            guard let tagEnd = end else { break }  // open at the end: text
            flushData(to: i)
            if let tagName, blockElements.contains(tagName) { out.append("\n") }
            i = tagEnd
            if let closing = rawTextUntil {
                guard let close = findCaseInsensitive(s, closing, from: i) else { dataStart = s.count; i = s.count; break }
                i = find(s, ">", from: close).map { $0 + 1 } ?? s.count
            }
            dataStart = i
        }
        flushData(to: s.count)
        return String(out)
    }

    static func isASCIILetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) }

    static func name(_ s: [Unicode.Scalar], from start: Int) -> String {
        var j = start
        var n = String.UnicodeScalarView()
        while j < s.count, j - start < 32, !" \t\n\r\u{0C}/>\0".unicodeScalars.contains(s[j]) { n.append(s[j]); j += 1 }
        return String(n).lowercased()
    }

    /// The index after a start tag's ">", skipping quoted attribute values.
    static func startTagEnd(_ s: [Unicode.Scalar], from start: Int) -> Int? {
        var j = start
        var afterEquals = false
        var unmatched: Set<Unicode.Scalar> = []  // quotes with no closing one after: never searched again
        while j < s.count {
            let c = s[j]
            if c == ">" { return j + 1 }
            if afterEquals, c == "\"" || c == "'", !unmatched.contains(c) {
                if let close = find(s, c, from: j + 1) {
                    j = close + 1
                    afterEquals = false
                    continue
                }
                unmatched.insert(c)
            }
            if c == "=" { afterEquals = true } else if !(c == " " || c == "\t" || c == "\n" || c == "\r") { afterEquals = false }
            j += 1
        }
        return nil
    }

    static func find(_ s: [Unicode.Scalar], _ c: Unicode.Scalar, from start: Int) -> Int? {
        var j = start
        while j < s.count { if s[j] == c { return j }; j += 1 }
        return nil
    }

    static func find(_ s: [Unicode.Scalar], _ needle: String, from start: Int) -> Int? {
        findCaseInsensitive(s, needle, from: start)
    }

    static func findCaseInsensitive(_ s: [Unicode.Scalar], _ needle: String, from start: Int) -> Int? {
        let n = Array(needle.lowercased().unicodeScalars)
        guard let head = n.first else { return start }
        var j = start
        while j + n.count <= s.count {
            if lower(s[j]) == head {
                var k = 1
                while k < n.count, lower(s[j + k]) == n[k] { k += 1 }
                if k == n.count { return j }
            }
            j += 1
        }
        return nil
    }

    static func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
        ("A"..."Z").contains(c) ? Unicode.Scalar(c.value + 32) ?? c : c
    }

    /// Character references in text (HTML5 section 13.2.5.72, the parts mail uses).
    static func decodeReferences(_ s: [Unicode.Scalar], _ range: Range<Int>, into out: inout String.UnicodeScalarView) {
        var i = range.lowerBound
        while i < range.upperBound {
            let c = s[i]
            guard c == "&", i + 1 < range.upperBound else { out.append(c); i += 1; continue }
            if s[i + 1] == "#" {
                var j = i + 2
                let hex = j < range.upperBound && (s[j] == "x" || s[j] == "X")
                if hex { j += 1 }
                var value: UInt32 = 0
                let digitsStart = j
                while j < range.upperBound, let d = digit(s[j], hex: hex) {
                    value = min(value &* (hex ? 16 : 10) &+ d, 0x110000)
                    j += 1
                }
                guard j > digitsStart else { out.append(c); i += 1; continue }
                if j < range.upperBound, s[j] == ";" { j += 1 }
                out.append(numericReference(value))
                i = j
                continue
            }
            var j = i + 1
            var nameScalars = String.UnicodeScalarView()
            while j < range.upperBound, j - i <= 10, isASCIILetter(s[j]) || ("0"..."9").contains(s[j]) {
                nameScalars.append(s[j])
                j += 1
            }
            let name = String(nameScalars)
            if j < range.upperBound, s[j] == ";", let v = HTMLEntities.named[name], let scalar = Unicode.Scalar(v) {
                out.append(scalar)
                i = j + 1
                continue
            }
            // The longest legacy name that starts the run, without a ";".
            var matched = false
            for length in stride(from: min(name.count, HTMLEntities.longestWithoutSemicolon), through: 2, by: -1) {
                let prefix = String(name.prefix(length))
                if let v = HTMLEntities.withoutSemicolon[prefix], let scalar = Unicode.Scalar(v) {
                    out.append(scalar)
                    i += 1 + length
                    matched = true
                    break
                }
            }
            if !matched { out.append(c); i += 1 }
        }
    }

    static func digit(_ c: Unicode.Scalar, hex: Bool) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 48
        case "a"..."f" where hex: return c.value - 87
        case "A"..."F" where hex: return c.value - 55
        default: return nil
        }
    }

    /// HTML5's rules: 0, surrogates and values past U+10FFFF become U+FFFD; 0x80…0x9F
    /// are read as Windows-1252.
    static func numericReference(_ value: UInt32) -> Unicode.Scalar {
        if value >= 0x80 && value < 0xA0, let s = CharsetText.windows1252([UInt8(value)]).unicodeScalars.first { return s }
        guard value != 0, let s = Unicode.Scalar(value) else { return "\u{FFFD}" }
        return s
    }
}
