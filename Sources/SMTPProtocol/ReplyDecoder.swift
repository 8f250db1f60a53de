import NIOCore

/// Decodes server replies for the client side (RFC 5321 §4.2): `code-text` lines continue a
/// reply, `code text` ends it. An enhanced status code at the start of the text is parsed out.
public struct ReplyDecoder: Sendable {
    /// A reply that is not well-formed SMTP: the peer is not an SMTP server we can talk to.
    public struct MalformedReply: Error, Hashable, Sendable {
        public var reason: String
    }

    public static let maximumLineLength = 4096
    public static let maximumLines = 200

    private var lines = CommandLineDecoder(maximumLineLength: ReplyDecoder.maximumLineLength)
    private var pendingCode: Int?
    private var pendingText: [String] = []

    public init() {}

    /// Returns the next complete reply, or nil when more input is needed.
    public mutating func decode(_ buffer: inout ByteBuffer) throws(MalformedReply) -> SMTPReply? {
        while let frame = lines.decode(&buffer) {
            guard case .line(let line, _) = frame else { throw MalformedReply(reason: "reply line too long") }
            let text = String(decoding: line.readableBytesView, as: UTF8.self)
            let bytes = Array(text.utf8)
            guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (0x30...0x39).contains($0) }),
                  let code = Int(text.prefix(3)), (200...599).contains(code)
            else { throw MalformedReply(reason: "not a reply: \(text.prefix(40))") }
            if let pendingCode, pendingCode != code { throw MalformedReply(reason: "reply code changed mid-reply") }
            let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                throw MalformedReply(reason: "bad separator after code")
            }
            pendingCode = code
            pendingText.append(String(text.dropFirst(4)))
            guard pendingText.count <= Self.maximumLines else { throw MalformedReply(reason: "reply too long") }
            if separator == UInt8(ascii: " ") {
                return finishReply(code: code)
            }
        }
        return nil
    }

    private mutating func finishReply(code: Int) -> SMTPReply {
        var enhanced: EnhancedStatusCode?
        var texts = pendingText
        if let first = texts.first, let space = first.firstIndex(of: " ") ?? Optional(first.endIndex),
           let parsed = EnhancedStatusCode(parsing: first[..<space]), parsed.statusClass == code / 100 {
            enhanced = parsed
            texts = texts.map { line in
                guard let sp = line.firstIndex(of: " ") ?? Optional(line.endIndex),
                      EnhancedStatusCode(parsing: line[..<sp]) != nil else { return line }
                return String(line[sp...].drop(while: { $0 == " " }))
            }
        }
        pendingCode = nil
        pendingText = []
        return SMTPReply(code, enhanced, texts)
    }
}
