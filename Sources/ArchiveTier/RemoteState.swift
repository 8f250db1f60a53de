import ArchiveStore
import DurableFiles
import Foundation

/// One object version the tier uploaded and the server confirmed (its SHA-256 echoed).
public struct UploadRecord: Sendable, Equatable {
    public var object: RemoteObject
    public var key: String
    /// The version the server made (nil on a bucket without versioning).
    public var versionID: String?
    /// SHA-256 of the bytes, base64, as S3 names checksums.
    public var sha256: String
    public var size: Int64
    public var uploadedAt: Date
    /// The Object Lock retain-until date last set on this version; nil: none.
    public var retainUntil: Date?
    public var legalHold: Bool
    /// The local file's identity when it was uploaded (`FileFingerprint`): unchanged, the
    /// file is not read again to know it is uploaded. Nil when it was recorded otherwise
    /// (a restore): the next look hashes the file once.
    public var fingerprint: String?

    public init(object: RemoteObject, key: String, versionID: String?, sha256: String, size: Int64, uploadedAt: Date,
                retainUntil: Date? = nil, legalHold: Bool = false, fingerprint: String? = nil) {
        self.object = object
        self.key = key
        self.versionID = versionID
        self.sha256 = sha256
        self.size = size
        self.uploadedAt = uploadedAt
        self.retainUntil = retainUntil
        self.legalHold = legalHold
        self.fingerprint = fingerprint
    }
}

/// A version a newer upload of the same key replaced (a segment expiry compacted): deleted
/// from the bucket once its retain-until has passed, so the bucket does not keep what
/// expiry removed longer than Object Lock requires.
public struct SupersededVersion: Sendable, Equatable {
    public var key: String
    public var versionID: String
    public var retainUntil: Date?
    /// The legal hold flag last set on it: cleared before it is deleted.
    public var legalHold: Bool

    public init(key: String, versionID: String, retainUntil: Date?, legalHold: Bool = false) {
        self.key = key
        self.versionID = versionID
        self.retainUntil = retainUntil
        self.legalHold = legalHold
    }
}

/// `<data-dir>/remote/remote.sqlite`: what the tier uploaded, and which versions it
/// still has to delete. Primary data, not derived (synchronous=FULL): a segment is
/// evicted only once its upload is recorded here. It is not in the index, which is
/// rebuilt from the segments at will; `archive verify --remote` compares it with a
/// listing of the bucket.
public final class RemoteState {
    private let connection: SQLiteConnection

    public static func path(dataDirectory: String) -> String { dataDirectory + "/remote/remote.sqlite" }

    /// Read only (`create` false): nil when the tier never ran here.
    public static func open(dataDirectory: String, create: Bool) throws -> RemoteState? {
        let path = path(dataDirectory: dataDirectory)
        if !create && !FileManager.default.fileExists(atPath: path) { return nil }
        guard FileManager.default.fileExists(atPath: dataDirectory) else { throw ArchiveStoreError.notFound("no data directory \(dataDirectory)") }
        let directory = (path as NSString).deletingLastPathComponent
        let existed = FileManager.default.fileExists(atPath: path)
        try FilePermissions.createDirectories(directory)
        let state = RemoteState(connection: try SQLiteConnection(path: path, readOnly: !create))
        if create {
            try state.connection.execute("""
                PRAGMA journal_mode=WAL;
                PRAGMA synchronous=FULL;
                CREATE TABLE IF NOT EXISTS objects(
                    key TEXT PRIMARY KEY, kind TEXT NOT NULL, sequence INTEGER, version_id TEXT, sha256 TEXT NOT NULL,
                    size INTEGER NOT NULL, uploaded_at INTEGER NOT NULL, retain_until INTEGER, legal_hold INTEGER NOT NULL,
                    fingerprint TEXT);
                CREATE TABLE IF NOT EXISTS superseded(
                    key TEXT NOT NULL, version_id TEXT NOT NULL, retain_until INTEGER, legal_hold INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY(key, version_id));
                """)
            if !existed {
                try Durable.syncDirectory(directory, faults: nil)
                try Durable.syncDirectory(dataDirectory, faults: nil)
            }
        }
        return state
    }

    private init(connection: SQLiteConnection) { self.connection = connection }

    private static let columns = "key, kind, sequence, version_id, sha256, size, uploaded_at, retain_until, legal_hold, fingerprint"

    /// Every recorded object, segments in sequence order first.
    public func all() throws -> [UploadRecord] {
        try records("SELECT \(Self.columns) FROM objects ORDER BY sequence IS NULL, sequence, key", [])
    }

    public func record(for key: String) throws -> UploadRecord? {
        try records("SELECT \(Self.columns) FROM objects WHERE key = ?", [.text(key)]).first
    }

    /// Records an upload; the version it replaces, if another, is kept for deletion.
    public func record(_ upload: UploadRecord) throws {
        try connection.transaction {
            if let old = try record(for: upload.key), let version = old.versionID, version != upload.versionID {
                try connection.withStatement("INSERT OR REPLACE INTO superseded(key, version_id, retain_until, legal_hold) VALUES (?,?,?,?)") { s in
                    try s.bind([.text(old.key), .text(version), old.retainUntil.map { .int(Self.millis($0)) } ?? .null,
                                .int(old.legalHold ? 1 : 0)])
                    _ = try s.step()
                }
            }
            try connection.withStatement("INSERT OR REPLACE INTO objects(\(Self.columns)) VALUES (?,?,?,?,?,?,?,?,?,?)") { s in
                try s.bind([.text(upload.key), .text(upload.object.kind), upload.object.sequence.map { .int(Int64($0)) } ?? .null,
                            upload.versionID.map { .text($0) } ?? .null, .text(upload.sha256), .int(upload.size),
                            .int(Self.millis(upload.uploadedAt)), upload.retainUntil.map { .int(Self.millis($0)) } ?? .null,
                            .int(upload.legalHold ? 1 : 0), upload.fingerprint.map { .text($0) } ?? .null])
                _ = try s.step()
            }
        }
    }

    /// The lock now set on the recorded version of `key`.
    public func setLock(key: String, retainUntil: Date?, legalHold: Bool) throws {
        try connection.withStatement("UPDATE objects SET retain_until = ?, legal_hold = ? WHERE key = ?") { s in
            try s.bind([retainUntil.map { .int(Self.millis($0)) } ?? .null, .int(legalHold ? 1 : 0), .text(key)])
            _ = try s.step()
        }
    }

    /// The file behind `key` found unchanged (hashed again after a restore recorded it).
    public func setFingerprint(key: String, _ fingerprint: String) throws {
        try connection.withStatement("UPDATE objects SET fingerprint = ? WHERE key = ?") { s in
            try s.bind([.text(fingerprint), .text(key)])
            _ = try s.step()
        }
    }

    public func superseded() throws -> [SupersededVersion] {
        var result: [SupersededVersion] = []
        try connection.withStatement("SELECT key, version_id, retain_until, legal_hold FROM superseded ORDER BY key, version_id") { s in
            try s.bind([])
            while try s.step() {
                result.append(SupersededVersion(key: s.text(0) ?? "", versionID: s.text(1) ?? "",
                                                retainUntil: s.isNull(2) ? nil : Self.date(s.int(2)), legalHold: s.int(3) != 0))
            }
        }
        return result
    }

    public func forget(_ version: SupersededVersion) throws {
        try connection.withStatement("DELETE FROM superseded WHERE key = ? AND version_id = ?") { s in
            try s.bind([.text(version.key), .text(version.versionID)])
            _ = try s.step()
        }
    }

    private func records(_ sql: String, _ values: [SQLiteConnection.Statement.Value]) throws -> [UploadRecord] {
        var result: [UploadRecord] = []
        try connection.withStatement(sql) { s in
            try s.bind(values)
            while try s.step() {
                let key = s.text(0) ?? ""
                guard let object = RemoteObject(kind: s.text(1) ?? "", sequence: s.isNull(2) ? nil : UInt64(s.int(2))) else { continue }
                result.append(UploadRecord(object: object, key: key, versionID: s.text(3), sha256: s.text(4) ?? "", size: s.int(5),
                                           uploadedAt: Self.date(s.int(6)), retainUntil: s.isNull(7) ? nil : Self.date(s.int(7)),
                                           legalHold: s.int(8) != 0, fingerprint: s.text(9)))
            }
        }
        return result
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
}

extension RemoteObject {
    /// How `remote.sqlite` names the kind.
    var kind: String {
        switch self {
        case .segment: return "segment"
        case .seal: return "seal"
        case .expiryList: return "expiry"
        case .auditLog: return "audit-log"
        case .auditHead: return "audit-head"
        case .holds: return "holds"
        }
    }

    init?(kind: String, sequence: UInt64?) {
        switch (kind, sequence) {
        case ("segment", let s?): self = .segment(s)
        case ("seal", let s?): self = .seal(s)
        case ("expiry", let s?): self = .expiryList(s)
        case ("audit-log", nil): self = .auditLog
        case ("audit-head", nil): self = .auditHead
        case ("holds", nil): self = .holds
        default: return nil
        }
    }
}
