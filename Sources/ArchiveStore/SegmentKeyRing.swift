import Crypto
import DurableFiles
import Foundation

/// One key of the key file (docs/CONFIG.md, `encryption_keys_file`): AES-256, named by the
/// id a segment header records. Its description never shows the secret.
///
/// `@unchecked Sendable`: swift-crypto's `SymmetricKey` is not marked Sendable here; it
/// is never changed after init, and AES-GCM only reads it.
public struct SegmentKey: @unchecked Sendable, CustomStringConvertible {
    public static let byteCount = 32
    public let id: UInt32
    let key: SymmetricKey

    /// nil unless `id` > 0 and `secret` is 32 bytes.
    public init?(id: UInt32, secret: [UInt8]) {
        guard id > 0, secret.count == Self.byteCount else { return nil }
        self.id = id
        key = SymmetricKey(data: secret)
    }

    /// 32 fresh random bytes: what `archiverelay key create` prints (base64).
    public static func newSecret() -> [UInt8] {
        SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
    }

    public var description: String { "key \(id)" }
}

/// The keys segments are sealed and opened with. New segments use the highest id; any key
/// of the ring opens the segments that name it. An empty ring writes plaintext segments.
public struct SegmentKeyRing: Sendable {
    private let keys: [UInt32: SegmentKey]
    /// The key file, for error messages.
    public let source: String?

    /// No keys: segments are written in the clear, and encrypted ones cannot be read.
    public static let none = SegmentKeyRing(keys: [], source: nil)

    /// `keys` with unique ids (a later one with the same id wins).
    public init(keys: [SegmentKey], source: String?) {
        self.keys = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
        self.source = source
    }

    /// The key new segments are sealed with: the highest id; nil for an empty ring.
    public var writingKey: SegmentKey? { keys.keys.max().flatMap { keys[$0] } }

    public var ids: [UInt32] { keys.keys.sorted() }

    /// The cipher of segment `sequence` whose header names `keyID` (0: plaintext, nil).
    func cipher(keyID: UInt32, sequence: UInt64) throws(SegmentKeyError) -> SegmentCipher? {
        guard keyID != 0 else { return nil }
        guard let key = keys[keyID] else {
            throw .missingKey(segment: SegmentName.file(sequence), keyID: keyID, keyFile: source)
        }
        return SegmentCipher(key: key, sequence: sequence)
    }
}

/// The ring a running store reads and writes with: replaced on reload (SIGHUP), so a new
/// key applies from the next segment. Shared by every copy of `ArchiveStoreOptions`.
public final class ArchiveKeys: Sendable {
    private let current: LockedValue<SegmentKeyRing>

    public init(_ ring: SegmentKeyRing = .none) { current = LockedValue(ring) }

    public var ring: SegmentKeyRing { current.withLock { $0 } }

    public func replace(with ring: SegmentKeyRing) { current.withLock { $0 = ring } }
}

/// Why an encrypted segment's record cannot be read. Never carries key material.
public enum SegmentKeyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The segment's header names a key the ring does not hold.
    case missingKey(segment: String, keyID: UInt32, keyFile: String?)
    /// The record's GCM tag does not match: the key is not the one it was sealed with, or
    /// its bytes (or header, or the segment's sequence) were changed.
    case authenticationFailed(segment: String, offset: Int)

    var isAuthentication: Bool {
        if case .authenticationFailed = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .missingKey(let segment, let id, let file):
            return "segment \(segment) needs key \(id), which "
                + (file.map { "the key file \($0) does not hold" } ?? "no key file was given for (encryption_keys_file)")
        case .authenticationFailed(let segment, let offset):
            return "segment \(segment) offset \(offset): authentication failed: wrong key or changed bytes"
        }
    }
}
