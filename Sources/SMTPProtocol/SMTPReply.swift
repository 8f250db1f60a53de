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

    /// The reply class digit as a metric label: "2xx", "3xx", "4xx" or "5xx".
    public var classLabel: String { "\(code / 100)xx" }

    public var description: String {
        lines.map { line in
            enhancedCode.map { "\(code) \($0) \(line)" } ?? "\(code) \(line)"
        }.joined(separator: "\n")
    }

    /// Writes the reply in wire form, CRLF after every line.
    public func write(to buffer: inout ByteBuffer) {
        for (index, line) in lines.enumerated() {
            buffer.writeString(String(code))
            buffer.writeInteger(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                buffer.writeString(enhancedCode.description)
                if !line.isEmpty { buffer.writeInteger(UInt8(ascii: " ")) }
            }
            // A reply line must not carry CR or LF of its own: that would forge further replies.
            for byte in line.utf8 {
                buffer.writeInteger(byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") ? UInt8(ascii: " ") : byte)
            }
            buffer.writeStaticString("\r\n")
        }
    }
}
