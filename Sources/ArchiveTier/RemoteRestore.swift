import ArchiveStore
import AuditTrail
import DurableFiles
import Foundation
import ObjectStorage

/// What a restore did: the objects and bytes it downloaded, the keys under the prefix it
/// left alone, what the rebuilt index holds, and the verifications of the result.
public struct RestoreReport: Sendable {
    public var objects = 0
    public var bytes: Int64 = 0
    public var segments = 0
    /// Keys under the prefix the layout does not name (`RemoteKeys.object(at:)`): not fetched.
    public var skippedKeys: [String] = []
    /// Originals the rebuilt index holds.
    public var indexed = 0
    public var verify: VerifyReport?
    public var audit: AuditVerification?

    /// The directory is complete and its archive verifies: the marker is gone.
    public var isComplete: Bool { verify?.isClean == true }
}

/// Why a restore did not start: nothing was written.
public enum RestoreRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    case notEmpty(String)
    case notADirectory(String)
    case nothingUnderPrefix(bucket: String, prefix: String)

    public var description: String {
        switch self {
        case .notEmpty(let path):
            "\(path) is not empty: a restore goes into a new or empty directory, never into a live archive"
        case .notADirectory(let path): "\(path) exists and is not a directory"
        case .nothingUnderPrefix(let bucket, let prefix):
            "no segment, audit log or holds under s3://\(bucket)/\(prefix): is the prefix right (--prefix, the node id followed by /)?"
        }
    }
}

/// `archive restore --from-remote DIR`: rebuilds a data directory from the bucket after the
/// node's disk is lost (docs/OPERATIONS.md, "Restoring from the bucket"). Lists the prefix,
/// downloads every object the layout names into the data directory's own layout (each
/// checked against the SHA-256 the server stored, written under a temporary name, synced,
/// renamed into place), rebuilds the index and search database from the segments, verifies
/// the archive and records the objects in `remote/remote.sqlite` as uploaded under this
/// prefix. Until all that succeeded the directory holds `RESTORE-INCOMPLETE`, and a node
/// refuses to start on it.
public struct RemoteRestore {
    public static let markerName = "RESTORE-INCOMPLETE"

    public static func markerPath(dataDirectory: String) -> String { dataDirectory + "/" + markerName }

    let client: S3Client
    let keys: RemoteKeys
    let directory: String
    let segmentKeys: SegmentKeyRing
    let clock: @Sendable () -> Date

    public init(client: S3Client, keys: RemoteKeys, into directory: String, segmentKeys: SegmentKeyRing = .none,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.keys = keys
        self.directory = directory
        self.segmentKeys = segmentKeys
        self.clock = clock
    }

    /// Throws `RestoreRefusal` before anything is written; any other error leaves the
    /// directory marked incomplete. A report whose verify found faults leaves it marked too.
    public func run() async throws -> RestoreReport {
        try Self.checkEmpty(directory)
        var report = RestoreReport()
        // Listed before anything is written: wrong credentials or a wrong prefix leave no directory.
        var wanted: [(RemoteObject, ListedObject)] = []
        for listed in try await client.listAllObjects(under: keys) {
            if let object = keys.object(at: listed.key) { wanted.append((object, listed)) } else { report.skippedKeys.append(listed.key) }
        }
        guard !wanted.isEmpty else { throw RestoreRefusal.nothingUnderPrefix(bucket: client.configuration.bucket, prefix: keys.prefix) }

        let layout = RestoredLayout(dataDirectory: directory)
        try layout.create()
        try Durable.writeAtomically(Array(markerText.utf8), to: Self.markerPath(dataDirectory: directory), faults: nil)
        var uploads: [UploadRecord] = []
        for (object, listed) in wanted {
            let path = layout.path(of: object)
            let temporary = path + ".tmp"
            let downloaded = try await client.getObject(key: listed.key, toFile: temporary)
            let file = try SystemFile.openReadOnly(temporary)
            defer { file.close() }
            try file.sync()
            try Durable.rename(temporary, to: path, faults: nil)
            report.objects += 1
            report.bytes += downloaded.size
            if case .segment = object { report.segments += 1 }
            uploads.append(UploadRecord(object: object, key: listed.key, versionID: downloaded.versionID, sha256: downloaded.checksumSHA256,
                                        size: downloaded.size, uploadedAt: clock()))
        }
        try layout.syncDirectories()

        do {
            report.indexed = try ArchiveReader.reindex(dataDirectory: directory, keys: segmentKeys)
        } catch let error as SegmentKeyError {
            throw RestoreKeyProblem(reason: error)
        }
        let verify = try ArchiveReader(dataDirectory: directory, keys: segmentKeys).verify()
        report.verify = verify
        if FileManager.default.fileExists(atPath: layout.auditDirectory + "/audit.log") {
            report.audit = try AuditLog(dataDirectory: URL(fileURLWithPath: directory)).verify()
        }
        guard let state = try RemoteState.open(dataDirectory: directory, create: true) else { return report }
        for upload in uploads { try state.record(upload) }
        if verify.isClean { try Durable.unlinkIfPresent(Self.markerPath(dataDirectory: directory), faults: nil) }
        return report
    }

    private var markerText: String {
        "archive restore from s3://\(client.configuration.bucket)/\(keys.prefix) did not finish: do not run a node on this directory; "
            + "remove it and restore again\n"
    }

    /// A restore never mixes into an archive: the directory must not exist, or be empty.
    static func checkEmpty(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw RestoreRefusal.notADirectory(path) }
        if !(try FileManager.default.contentsOfDirectory(atPath: path)).isEmpty { throw RestoreRefusal.notEmpty(path) }
    }
}

/// The segments could not be read for want of their key: the configuration given to the
/// restore must name the key file the node encrypted them with.
public struct RestoreKeyProblem: Error, Sendable, CustomStringConvertible {
    public var reason: SegmentKeyError

    public var description: String {
        "\(reason); encrypted segments need the key file the node used: pass --config with its [archive] encryption_keys_file "
            + "(keys are never in the bucket)"
    }
}

/// Where each object of the bucket goes in the data directory: as the node keeps it.
struct RestoredLayout {
    let dataDirectory: String

    var archiveDirectory: String { ArchiveLayout(dataDirectory: dataDirectory).archiveDirectory }
    var auditDirectory: String { dataDirectory + "/audit" }
    var holdsDirectory: String { dataDirectory + "/holds" }

    func path(of object: RemoteObject) -> String {
        switch object {
        case .segment(let sequence): archiveDirectory + "/" + SegmentName.file(sequence)
        case .seal(let sequence): archiveDirectory + "/" + SegmentName.seal(sequence)
        case .expiryList(let sequence): archiveDirectory + "/" + SegmentName.expiry(sequence)
        case .auditLog: auditDirectory + "/audit.log"
        case .auditHead: auditDirectory + "/audit.head"
        case .holds: holdsDirectory + "/holds.sqlite"
        }
    }

    func create() throws {
        let existed = FileManager.default.fileExists(atPath: dataDirectory)
        for folder in [dataDirectory, archiveDirectory, auditDirectory, holdsDirectory] { try FilePermissions.createDirectories(folder) }
        if !existed { try Durable.syncParentDirectory(of: dataDirectory, faults: nil) }
        try Durable.syncDirectory(dataDirectory, faults: nil)
    }

    /// After the renames: each folder's entries survive a power loss.
    func syncDirectories() throws {
        for folder in [archiveDirectory, auditDirectory, holdsDirectory] { try Durable.syncDirectory(folder, faults: nil) }
    }
}

extension S3Client {
    /// Every object under the layout's prefix. Listed by the prefix up to its first `/`
    /// and filtered here: moto (getmoto/moto#5948) checks the signature of a query whose
    /// value holds an encoded `/` against the decoded text and refuses it, boto3's too.
    func listAllObjects(under keys: RemoteKeys) async throws -> [ListedObject] {
        let asked = String(keys.prefix.prefix { $0 != "/" })
        return try await listAllObjects(prefix: asked).filter { $0.key.hasPrefix(keys.prefix) }
    }
}
