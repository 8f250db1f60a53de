/// An enhanced mail system status code (RFC 3463), sent after the basic reply code
/// when ENHANCEDSTATUSCODES is in effect (RFC 2034), e.g. `5.7.1`.
public struct EnhancedStatusCode: Hashable, Sendable, CustomStringConvertible {
    /// 2 = success, 4 = persistent transient failure, 5 = permanent failure.
    public var statusClass: Int
    public var subject: Int
    public var detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }

    /// Parses `X.Y.Z` as it appears at the start of a reply text line.
    public init?(parsing text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let c = Int(parts[0]), [2, 4, 5].contains(c),
              let s = Int(parts[1]), (0...999).contains(s),
              let d = Int(parts[2]), (0...999).contains(d)
        else { return nil }
        self.init(c, s, d)
    }
}
