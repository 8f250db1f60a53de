/// How the bytes of an arrival as received are rebuilt from the original it carries: the
/// bytes before the original, how the original was encoded there, and the bytes after.
/// A journal report's wrapper (its header, envelope part, MIME framing) is stored this way
/// once per arrival while the original is stored once (docs/FORMAT.md, "Arrival record").
public struct WrapperRecipe: Sendable, Hashable {
    public enum Encoding: Sendable, Hashable {
        /// The original's bytes as they are (7bit, 8bit, binary).
        case identity
        /// RFC 4648 base64 with `=` padding, in lines of `lineLength` characters (a
        /// multiple of 4, 4…996) joined by CRLF, the last line possibly shorter, no CRLF
        /// after it (the one that follows belongs to the MIME delimiter, kept in `tail`).
        case base64(lineLength: Int)
    }

    public var head: [UInt8]
    public var encoding: Encoding
    public var tail: [UInt8]

    public init(head: [UInt8], encoding: Encoding, tail: [UInt8]) {
        self.head = head
        self.encoding = encoding
        self.tail = tail
    }

    /// The bytes as received: `head`, the encoded original, `tail`.
    public func reconstruct(original: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(head.count + encodedSize(originalSize: original.count) + tail.count)
        out.append(contentsOf: head)
        Self.encode(original, as: encoding, into: &out)
        out.append(contentsOf: tail)
        return out
    }

    /// Appends `original` encoded as `encoding` (what the wrapper held between head and tail).
    public static func encode(_ original: some Collection<UInt8>, as encoding: Encoding, into out: inout [UInt8]) {
        switch encoding {
        case .identity:
            out.append(contentsOf: original)
        case .base64(let lineLength):
            let bytes = Array(original)
            var column = 0
            var i = 0
            while i < bytes.count {
                let n = min(3, bytes.count - i)
                let b0 = bytes[i], b1 = n > 1 ? bytes[i + 1] : 0, b2 = n > 2 ? bytes[i + 2] : 0
                if column == lineLength {
                    out.append(13); out.append(10)
                    column = 0
                }
                out.append(alphabet[Int(b0 >> 2)])
                out.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
                out.append(n > 1 ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
                out.append(n > 2 ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
                column += 4
                i += 3
            }
        }
    }

    /// Size of the original of `originalSize` bytes as `encoding` writes it.
    public func encodedSize(originalSize: Int) -> Int {
        switch encoding {
        case .identity:
            return originalSize
        case .base64(let lineLength):
            let characters = (originalSize + 2) / 3 * 4
            let lines = characters == 0 ? 0 : (characters + lineLength - 1) / lineLength
            return characters + max(0, lines - 1) * 2
        }
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    // MARK: Stored form

    /// u8 encoding (0 identity, 1 base64), u16 line length (0 for identity), u32 head
    /// length, head, u32 tail length, tail; integers little-endian.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(11 + head.count + tail.count)
        switch encoding {
        case .identity:
            out.append(0); out.append(0); out.append(0)
        case .base64(let lineLength):
            out.append(1); out.append(UInt8(lineLength & 0xFF)); out.append(UInt8(lineLength >> 8))
        }
        Self.appendLength(head.count, to: &out)
        out.append(contentsOf: head)
        Self.appendLength(tail.count, to: &out)
        out.append(contentsOf: tail)
        return out
    }

    public struct DecodingError: Error, Equatable, Sendable {
        public var reason: String
    }

    /// Reads what `encoded` wrote, all of `bytes`.
    public init(decoding bytes: some Collection<UInt8>) throws(DecodingError) {
        let b = Array(bytes)
        guard b.count >= 11 else { throw DecodingError(reason: "wrapper recipe truncated") }
        let lineLength = Int(b[1]) | Int(b[2]) << 8
        switch b[0] {
        case 0 where lineLength == 0: encoding = .identity
        case 1 where lineLength >= 4 && lineLength <= 996 && lineLength % 4 == 0: encoding = .base64(lineLength: lineLength)
        default: throw DecodingError(reason: "unknown wrapper encoding \(b[0]) / \(lineLength)")
        }
        var at = 3
        func section() throws(DecodingError) -> [UInt8] {
            guard at + 4 <= b.count else { throw DecodingError(reason: "wrapper recipe truncated") }
            let n = Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24
            at += 4
            guard n <= b.count - at else { throw DecodingError(reason: "wrapper recipe truncated") }
            defer { at += n }
            return Array(b[at..<(at + n)])
        }
        head = try section()
        tail = try section()
        guard at == b.count else { throw DecodingError(reason: "bytes after the wrapper recipe") }
    }

    private static func appendLength(_ n: Int, to out: inout [UInt8]) {
        let v = UInt32(n)
        out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8 & 0xFF)); out.append(UInt8(v >> 16 & 0xFF)); out.append(UInt8(v >> 24))
    }
}
