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
            writeNumber(code, to: &buffer)
            buffer.writeInteger(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                writeNumber(enhancedCode.statusClass, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "."))
                writeNumber(enhancedCode.subject, to: &buffer)
                buffer.writeInteger(UInt8(ascii: "."))
                writeNumber(enhancedCode.detail, to: &buffer)
                if !line.isEmpty { buffer.writeInteger(UInt8(ascii: " ")) }
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

    /// Decimal digits of a small non-negative number (codes are 0…999), without a String.
    private func writeNumber(_ value: Int, to buffer: inout ByteBuffer) {
        guard value >= 10 else {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: max(0, value)))
            return
        }
        writeNumber(value / 10, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value % 10))
    }
}
