import Foundation

/// An original whose retention has run out and that no hold covers: what the retention
/// planner hands the expiry, which removes its message record and every arrival record of it.
public struct ExpiryCandidate: Sendable, Equatable {
    /// The original's SHA-256, lowercase hex (the index's `messages.sha256`).
    public var sha256: String
    /// Its archive id (the index's `messages.id`).
    public var archiveID: String
    /// The rule that set its retention: a `[[retention.rule]]` name, or `default`.
    public var rule: String
    /// When its retention ran out: the latest of its arrivals' received-at plus the period
    /// the rule gives.
    public var expiredAt: Date

    public init(sha256: String, archiveID: String, rule: String, expiredAt: Date) {
        self.sha256 = sha256
        self.archiveID = archiveID
        self.rule = rule
        self.expiredAt = expiredAt
    }
}
