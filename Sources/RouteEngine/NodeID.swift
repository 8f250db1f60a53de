/// A node's id as it appears in trace headers and Received fields: 1 to 64 of
/// `A-Z a-z 0-9 . _ -`, so it can never break the header it is written into. Ids compare
/// case-insensitively (they are usually host names).
public struct NodeID: Hashable, Sendable, CustomStringConvertible {
    public static let maximumLength = 64

    /// As configured.
    public let value: String
    private let key: String

    public init?(_ value: some StringProtocol) {
        guard Self.isValid(value) else { return nil }
        self.value = String(value)
        self.key = value.lowercased()
    }

    public static func isValid(_ text: some StringProtocol) -> Bool {
        (1...maximumLength).contains(text.utf8.count) && text.utf8.allSatisfy(isIDByte)
    }

    static func isIDByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    public static func == (lhs: NodeID, rhs: NodeID) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }
    public var description: String { value }
}
