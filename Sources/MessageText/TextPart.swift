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

    init(transferEncoding: String?, charset: String?, isHTML: Bool, room: Int) {
        decoder = TransferDecoder(transferEncoding: transferEncoding)
        self.charset = charset
        self.isHTML = isHTML
        self.room = room
    }

    mutating func feedLine(_ bytes: ArraySlice<UInt8>, complete: Bool) {
        guard !overflowed else { return }
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
        if !overflowed { decoder.finish(into: &decoded) }
        if decoded.count > room {
            decoded.removeLast(decoded.count - room)
            overflowed = true
        }
        let text = CharsetText.decode(decoded, charset: charset)
        return isHTML ? HTMLText.text(text) : text
    }
}
