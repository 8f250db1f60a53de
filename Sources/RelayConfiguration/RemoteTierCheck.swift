import Foundation
import ObjectStorage

/// What the object-storage tier keeps in the bucket under Object Lock (issue 27): nothing
/// (`off`), or every object with a retain-until date in S3's `GOVERNANCE` mode (users with
/// `s3:BypassGovernanceRetention` may still delete) or `COMPLIANCE` mode (nobody may, the
/// bucket's owner included, until the date: the WORM storage SEC 17a-4(f) accepts).
public enum ObjectLockPolicy: String, Sendable, Equatable, CaseIterable {
    case off
    case governance
    case compliance
}

/// `[archive.remote]` as the tier runs with it: the bucket (`S3Configuration`), where in it
/// this node's objects go, the lock, and how much stays on local disk.
public struct RemoteTierSettings: Sendable, Equatable {
    public var bucket: S3Configuration
    /// Prepended to every key; `<node id>/` unless set: each node of a pair its own copy.
    public var prefix: String
    public var objectLock: ObjectLockPolicy
    /// Uploaded segments beyond this many local bytes are evicted, oldest first; nil: none.
    public var localMaxBytes: UInt64?
    public var uploadEvery: Duration

    public init(bucket: S3Configuration, prefix: String, objectLock: ObjectLockPolicy = .off, localMaxBytes: UInt64? = nil,
                uploadEvery: Duration = .seconds(60)) {
        self.bucket = bucket
        self.prefix = prefix
        self.objectLock = objectLock
        self.localMaxBytes = localMaxBytes
        self.uploadEvery = uploadEvery
    }
}

/// Turns `[archive.remote]` into `RemoteTierSettings`, each problem with its key.
enum RemoteTierCheck {
    static let at = "archive.remote"

    static func settings(_ entry: NodeConfiguration.Remote?, nodeID: String, environment: ConfigurationCheck.Environment,
                         problems: inout ConfigurationProblems) -> RemoteTierSettings? {
        guard let entry else { return nil }
        var endpoint: S3Endpoint?
        if let text = entry.endpoint {
            do {
                endpoint = try S3Endpoint(text)
            } catch {
                problems.error(at, "\(error)")
            }
        } else {
            problems.error(at, "endpoint is required (https://host[:port] of the S3 API)")
        }
        if endpoint?.useTLS == false, let host = endpoint?.host, !["127.0.0.1", "::1", "localhost"].contains(host) {
            problems.warning(at, "endpoint \(host) is plain http: segments and credentials' signatures cross the network in clear")
        }
        let region = required(entry.region, "region", problems: &problems)
        let bucket = required(entry.bucket, "bucket", problems: &problems)
        let addressing = problems.choice(entry.addressing, "addressing", at: at, default: S3Addressing.pathStyle)
        var credentials = S3CredentialSource.environment
        switch entry.credentials ?? "env" {
        case "env":
            if entry.credentials_file != nil { problems.error(at, "credentials_file is read only with credentials = \"file\"") }
        case "file":
            if let path = entry.credentials_file {
                credentials = .file(path: path, profile: entry.credentials_profile ?? "default")
                if let why = environment.unreadable(path) { problems.error(at, "credentials_file \(path): \(why)") }
            } else {
                problems.error(at, "credentials = \"file\" needs credentials_file")
            }
        case let other:
            problems.error(at, "credentials must be \"env\" or \"file\", got \"\(other)\"")
        }
        if let caFile = entry.ca_file, let why = environment.unreadable(caFile) {
            problems.error(at, "ca_file \(caFile): \(why)")
        }
        let prefix = entry.prefix ?? "\(nodeID)/"
        if prefix.hasPrefix("/") || prefix.contains("//") || prefix.utf8.count > 512 {
            problems.error(at, "prefix \"\(prefix)\" must not start with / or hold //, and at most 512 bytes")
        }
        let lock = problems.choice(entry.object_lock, "object_lock", at: at, default: ObjectLockPolicy.off)
        var localMax: UInt64?
        if let bytes = entry.local_max_bytes {
            if bytes > 0 { localMax = UInt64(bytes) } else { problems.error(at, "local_max_bytes must be greater than 0, got \(bytes)") }
        }
        let request = problems.seconds(entry.request_timeout_seconds, "request_timeout_seconds", at: at, default: 300)
        let connect = problems.seconds(entry.connect_timeout_seconds, "connect_timeout_seconds", at: at, default: 10)
        let every = problems.seconds(entry.upload_every_seconds, "upload_every_seconds", at: at, default: 60)
        guard let endpoint, let region, let bucket else { return nil }
        let configuration = S3Configuration(endpoint: endpoint, region: region, bucket: bucket, addressing: addressing,
                                            credentials: credentials, caFile: entry.ca_file,
                                            requestTimeout: .seconds(request), connectTimeout: .seconds(connect))
        return RemoteTierSettings(bucket: configuration, prefix: prefix, objectLock: lock, localMaxBytes: localMax,
                                  uploadEvery: .seconds(every))
    }

    private static func required(_ value: String?, _ key: String, problems: inout ConfigurationProblems) -> String? {
        guard let value, !value.isEmpty else {
            problems.error(at, "\(key) is required")
            return nil
        }
        return value
    }
}
