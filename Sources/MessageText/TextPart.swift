/// A text/* leaf part being read: its lines transfer-decoded as they come, the decoded
/// bytes held (within the text budget left) until the part ends, then converted from its
/// charset, and from HTML when it is text/html.
struct TextPart {
    var decoder: TransferDecoder
    var charset: String?
    var isHTML: Bool
    /// Decoded bytes held at most; beyond, the rest of the part is dropped.
    var room: Int
    var decoded: [UInt8] = []
    /// The last line's break: it belongs to the next delimiter if one follows
    /// (RFC 2046 section 5.1.1), so it is decoded only when more body comes.
    var pendingBreak: [UInt8] = []
    var overflowed = false
    /// A NUL byte in text whose charset has none (all but UTF-16 and UTF-32): binary data
    /// under a text label (an untyped body of random bytes, say). Its "words" would fill the
    /// index with noise, megabytes of it, so the part gives no text.
    var binary = false

    init(transferEncoding: String?, charset: String?, isHTML: Bool, room: Int) {
        decoder = TransferDecoder(transferEncoding: transferEncoding)
        self.charset = charset
        self.isHTML = isHTML
        self.room = room
        let name = charset?.lowercased() ?? ""
        nulIsText = name.hasPrefix("utf-16") || name.hasPrefix("utf-32") || name.hasPrefix("ucs-") || name.hasPrefix("utf16") || name.hasPrefix("utf32")
    }

    private let nulIsText: Bool

    mutating func feedLine(_ bytes: ArraySlice<UInt8>, complete: Bool) {
        guard !overflowed, !binary else { return }
        let before = decoded.count
        defer {
            if !nulIsText, decoded[min(before, decoded.count)...].contains(0) {
                binary = true
                decoded = []
            }
        }
        var content = bytes
        var lineBreak: ArraySlice<UInt8> = []
        if complete, content.last == Byte.lf {
            var start = content.endIndex - 1
            if start > content.startIndex, content[start - 1] == Byte.cr { start -= 1 }
            lineBreak = content[start...]
            content = content[..<start]
        }
        if !pendingBreak.isEmpty { decoder.feed(pendingBreak, into: &decoded) }
        decoder.feed(content, into: &decoded)
        pendingBreak = Array(lineBreak)
        if decoded.count > room {
            decoded.removeLast(decoded.count - room)
            overflowed = true
        }
    }

    mutating func finish() -> String {
        guard !binary else { return "" }
        if !overflowed { decoder.finish(into: &decoded) }
        if !nulIsText, decoded.contains(0) { return "" }
        if decoded.count > room {
            decoded.removeLast(decoded.count - room)
            overflowed = true
        }
        let text = CharsetText.decode(decoded, charset: charset)
        return isHTML ? HTMLText.text(text) : text
    }
}
