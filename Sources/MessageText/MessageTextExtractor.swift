/// Bounds on the work one message can cost the extractor.
public struct MessageTextLimits: Sendable, Equatable {
    public var maxDepth: Int
    public var maxParts: Int
    public var maxHeaderBytes: Int
    public var maxTextBytes: Int

    public static let standard = MessageTextLimits(maxDepth: 32, maxParts: 10_000, maxHeaderBytes: 1 << 20, maxTextBytes: 64 << 20)
}

/// The streaming MIME parser that turns an archived original into `MessageText`.
/// (Interface only: being written.)
public struct MessageTextExtractor {
    public let limits: MessageTextLimits
    private var bytes: [UInt8] = []

    public init(limits: MessageTextLimits = .standard) {
        self.limits = limits
    }

    public mutating func feed(_ chunk: some Collection<UInt8>) {
        bytes.append(contentsOf: chunk)
    }

    public mutating func finish() -> MessageText {
        MessageText()
    }

    public static func extract(_ message: some Collection<UInt8>, limits: MessageTextLimits = .standard) -> MessageText {
        var extractor = MessageTextExtractor(limits: limits)
        extractor.feed(message)
        return extractor.finish()
    }
}
