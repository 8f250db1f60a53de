import Foundation

/// S3 Object Lock's two retention modes: governance can be lifted by a caller with
/// `s3:BypassGovernanceRetention`, compliance by no one until the date passes.
public enum ObjectLockMode: String, Sendable, Equatable {
    case governance = "GOVERNANCE"
    case compliance = "COMPLIANCE"
}

/// An object version's retention: its mode and the instant before which it cannot be
/// deleted or overwritten.
public struct ObjectRetention: Sendable, Equatable {
    public var mode: ObjectLockMode
    public var retainUntil: Date

    public init(mode: ObjectLockMode, retainUntil: Date) {
        self.mode = mode
        self.retainUntil = retainUntil
    }
}

/// The lock an upload asks for: a retention, the legal hold flag, or both.
public struct ObjectLockRequest: Sendable, Equatable {
    public var retention: ObjectRetention?
    public var legalHold: Bool

    public init(retention: ObjectRetention? = nil, legalHold: Bool = false) {
        self.retention = retention
        self.legalHold = legalHold
    }
}

/// What PutObject left: the version the server made and the checksum it confirmed.
public struct PutObjectResult: Sendable, Equatable {
    public var eTag: String?
    public var versionID: String?
    /// Base64 SHA-256 of the bytes sent, as the server echoed it (equal to ours: checked).
    public var checksumSHA256: String
    public var size: Int64
}

/// HeadObject's answer.
public struct ObjectHead: Sendable, Equatable {
    public var size: Int64
    public var eTag: String?
    public var versionID: String?
    public var lastModified: String?
    public var checksumSHA256: String?
    public var retention: ObjectRetention?
    public var legalHold: Bool
}

/// A whole object written to a file by GetObject: its size and the SHA-256 of the bytes
/// written (base64), checked against the server's stored checksum when it sent one.
public struct DownloadedObject: Sendable, Equatable {
    public var size: Int64
    public var eTag: String?
    public var versionID: String?
    public var checksumSHA256: String
}

/// An inclusive byte range, as HTTP's `Range: bytes=first-last` names it.
public struct ByteRange: Sendable, Equatable {
    public let first: Int64
    public let last: Int64

    /// Nil unless 0 <= first <= last.
    public init?(first: Int64, last: Int64) {
        guard first >= 0, first <= last else { return nil }
        self.first = first
        self.last = last
    }

    /// `count` bytes from `offset`; nil when empty or negative.
    public init?(offset: Int64, count: Int64) {
        guard count > 0, offset <= Int64.max - count else { return nil }
        self.init(first: offset, last: offset + count - 1)
    }

    public var count: Int64 { last - first + 1 }
    var header: String { "bytes=\(first)-\(last)" }
}

/// One object of a listing.
public struct ListedObject: Sendable, Equatable {
    public var key: String
    public var size: Int64
    public var eTag: String?
    public var lastModified: String?
}

/// One page of ListObjectsV2; `continuationToken` asks for the next one (nil: the last).
public struct ObjectListPage: Sendable, Equatable {
    public var objects: [ListedObject]
    public var continuationToken: String?
}

/// The timestamps S3 uses in Object Lock headers and bodies (ISO 8601, UTC).
enum S3Timestamp {
    static func format(_ date: Date) -> String {
        formatter(fractional: false).string(from: date)
    }

    static func parse(_ text: String) -> Date? {
        formatter(fractional: true).date(from: text) ?? formatter(fractional: false).date(from: text)
    }

    private static func formatter(fractional: Bool) -> ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = fractional ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        return formatter
    }
}
