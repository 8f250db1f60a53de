import NIOCore

/// One SMTP reply (RFC 5321 §4.2): a three-digit code, an optional enhanced status code
/// (RFC 2034) and one or more text lines. Multi-line replies use `code-text` on every line
/// but the last, which uses `code text`.
public struct SMTPReply: Hashable, Sendable, Error, CustomStringConvertible {
    public var code: Int
    public var enhancedCode: EnhancedStatusCode?
    public var lines: [String]

    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode?, _ lines: [String]) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines.isEmpty ? [""] : lines
    }

    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode?, _ text: String) {
        self.init(code, enhancedCode, [text])
    }

    /// 2yz and 3yz replies: the command was accepted (3yz asks for more input).
    public var isPositive: Bool { code < 400 }
    /// 4yz replies: the client should try again later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5yz replies: the client must not repeat the command as it is.
    public var isPermanent: Bool { code >= 500 }

    public var description: String {
        lines.map { line in
            enhancedCode.map { "\(code) \($0) \(line)" } ?? "\(code) \(line)"
        }.joined(separator: "\n")
    }

    /// Writes the reply in wire form, CRLF after every line.
    public func write(to buffer: inout ByteBuffer) {
        for (index, line) in lines.enumerated() {
            let separator = index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-")
            // The code and enhanced code go straight into the buffer's memory: written a
            // byte at a time they were most of the cost of queueing a reply.
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.maximumPrefixLength) { out in
                var count = Self.put(code, into: out, at: 0)
                out[count] = separator
                count += 1
                if let enhancedCode {
                    count = Self.put(enhancedCode.statusClass, into: out, at: count)
                    out[count] = UInt8(ascii: ".")
                    count = Self.put(enhancedCode.subject, into: out, at: count + 1)
                    out[count] = UInt8(ascii: ".")
                    count = Self.put(enhancedCode.detail, into: out, at: count + 1)
                    if !line.isEmpty {
                        out[count] = UInt8(ascii: " ")
                        count += 1
                    }
                }
                return count
            }
            // A reply line must not carry CR or LF of its own: that would forge further replies.
            let isLineBreak = { (byte: UInt8) in byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") }
            if line.utf8.contains(where: isLineBreak) {
                buffer.writeBytes(line.utf8.map { isLineBreak($0) ? UInt8(ascii: " ") : $0 })
            } else {
                buffer.writeString(line)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// Code, separator, enhanced code and space: four numbers of at most 19 digits each
    /// (an `Int`), three separators and a space.
    private static let maximumPrefixLength = 4 * 19 + 4

    /// Writes the decimal digits of `value` (negative values as 0) at `offset`; returns the
    /// offset after them.
    private static func put(_ value: Int, into out: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        var value = max(0, value)
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var position = offset + digits
        repeat {
            position -= 1
            out[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10)
            value /= 10
        } while value > 0
        return offset + digits
    }
}
