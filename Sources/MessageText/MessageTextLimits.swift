/// Bounds on the work and memory one message can cost the extractor. Whatever is cut
/// sets `MessageText.truncated`; what came before it is kept.
public struct MessageTextLimits: Sendable, Equatable {
    /// Multipart and message/rfc822 nesting: real mail nests a few levels (a forward of a
    /// signed alternative is 4); deeper nesting is an attack on recursive parsers.
    public var maxDepth: Int
    /// Entities (parts and nested messages) read; later ones are skipped.
    public var maxParts: Int
    /// One header section's bytes kept; RFC 5322 has no limit, real sections are a few KB.
    public var maxHeaderBytes: Int
    /// UTF-8 bytes of `body` (and a part's decoded bytes held before conversion).
    public var maxTextBytes: Int

    public init(maxDepth: Int, maxParts: Int, maxHeaderBytes: Int, maxTextBytes: Int) {
        self.maxDepth = maxDepth
        self.maxParts = maxParts
        self.maxHeaderBytes = maxHeaderBytes
        self.maxTextBytes = maxTextBytes
    }

    public static let standard = MessageTextLimits(maxDepth: 32, maxParts: 10_000, maxHeaderBytes: 1 << 20, maxTextBytes: 64 << 20)

    /// A line longer than this is passed on in pieces and cannot be a boundary: RFC 2046
    /// boundaries are at most 70 characters, a delimiter line with padding stays far below.
    static let boundaryLineBytes = 1024
}
