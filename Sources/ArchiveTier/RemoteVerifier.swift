import ArchiveStore
import DurableFiles
import Foundation
import ObjectStorage

/// What `archive verify --remote` found. Faults are objects the bucket does not hold as
/// recorded; pending are local files not uploaded (yet), which the tier catches up on.
public struct RemoteVerifyReport: Sendable {
    /// Recorded objects whose newest version in the bucket is the recorded one.
    public var confirmed = 0
    public var faults: [RemoteFault] = []
    public var pending: [PendingUpload] = []
    /// Keys under the prefix that `remote.sqlite` does not record (a listing of the bucket).
    public var unrecorded: [String] = []

    public var isClean: Bool { faults.isEmpty }
}

/// A recorded object the bucket does not hold as recorded.
public struct RemoteFault: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The key is gone (or its newest version is a delete marker).
        case missing
        /// The newest version is not the recorded one, or has other bytes.
        case differs(String)
    }

    public var key: String
    public var kind: Kind

    public var description: String {
        switch kind {
        case .missing: "\(key): recorded as uploaded, missing from the bucket"
        case .differs(let what): "\(key): differs from its upload record: \(what)"
        }
    }
}

/// A local file of a sealed segment that the bucket does not hold as it is now.
public struct PendingUpload: Sendable, Equatable, CustomStringConvertible {
    public var key: String
    /// True: never uploaded; false: changed since its upload (expiry compacted it).
    public var neverUploaded: Bool

    public var description: String {
        neverUploaded ? "\(key): not uploaded yet" : "\(key): changed since its upload (expiry), not uploaded again yet"
    }
}

/// Compares the bucket with `remote.sqlite` and the local archive: every recorded object's
/// newest version must be the recorded version with the recorded size and SHA-256
/// (HeadObject with checksum mode); every local file of a sealed segment (segment, seal,
/// expiry list) must be recorded with its current SHA-256, or it is pending. An evicted
/// segment (no local bytes) is checked against its record like any other; reading its bytes
/// back through ranged reads is `archive verify`'s part.
public struct RemoteVerifier {
    let client: S3Client
    let keys: RemoteKeys
    let dataDirectory: String

    public init(client: S3Client, keys: RemoteKeys, dataDirectory: String) {
        self.client = client
        self.keys = keys
        self.dataDirectory = dataDirectory
    }

    public func verify() async throws -> RemoteVerifyReport {
        var report = RemoteVerifyReport()
        let records = try RemoteState.open(dataDirectory: dataDirectory, create: false)?.all() ?? []
        var recorded: [String: UploadRecord] = [:]
        for record in records where record.key.hasPrefix(keys.prefix) { recorded[record.key] = record }
        for record in recorded.values.sorted(by: { $0.key < $1.key }) {
            if let fault = try await check(record) { report.faults.append(fault) } else { report.confirmed += 1 }
        }
        for segment in try SealedSegmentFiles.list(dataDirectory: dataDirectory) {
            let files: [(RemoteObject, String?)] = [(.segment(segment.sequence), segment.segment), (.seal(segment.sequence), segment.seal),
                                                     (.expiryList(segment.sequence), segment.expiryList)]
            for case let (object, path?) in files {
                let key = keys.key(of: object)
                guard let record = recorded[key] else {
                    report.pending.append(PendingUpload(key: key, neverUploaded: true))
                    continue
                }
                if try Self.sha256Base64(path) != record.sha256 { report.pending.append(PendingUpload(key: key, neverUploaded: false)) }
            }
        }
        report.unrecorded = try await client.listAllObjects(under: keys).map(\.key).filter { recorded[$0] == nil }
        return report
    }

    private func check(_ record: UploadRecord) async throws -> RemoteFault? {
        let head: ObjectHead
        do {
            head = try await client.headObject(key: record.key)
        } catch let error as S3ServiceError where error.status == 404 {
            return RemoteFault(key: record.key, kind: .missing)
        }
        var differences: [String] = []
        if let version = record.versionID, head.versionID != version {
            differences.append("version \(head.versionID ?? "none"), recorded \(version)")
        }
        if head.size != record.size { differences.append("size \(head.size), recorded \(record.size)") }
        if head.checksumSHA256 != record.sha256 { differences.append("SHA-256 \(head.checksumSHA256 ?? "none"), recorded \(record.sha256)") }
        return differences.isEmpty ? nil : RemoteFault(key: record.key, kind: .differs(differences.joined(separator: "; ")))
    }

    private static func sha256Base64(_ path: String) throws -> String {
        let file = try SystemFile.openReadOnly(path)
        defer { file.close() }
        return try file.sha256Base64(size: file.size())
    }
}
