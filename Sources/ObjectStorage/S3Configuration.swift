import Foundation

/// How a bucket is named in a request: `https://endpoint/bucket/key` (path style: MinIO,
/// Ceph and most S3-compatible servers) or `https://bucket.endpoint/key` (AWS's default).
public enum S3Addressing: String, Sendable, Equatable, CaseIterable {
    case pathStyle = "path"
    case virtualHost = "virtual-host"
}

/// Where the access key comes from: the `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
/// and `AWS_SESSION_TOKEN` variables, or a profile of an AWS credentials file.
public enum S3CredentialSource: Sendable, Equatable {
    case environment
    case file(path: String, profile: String)
    case explicit(AWSCredentials)
}

/// Why an `S3Configuration` or its credentials cannot be used.
public struct S3ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The scheme, host and port of the object store; no path.
public struct S3Endpoint: Sendable, Equatable {
    public var useTLS: Bool
    public var host: String
    public var port: Int

    /// Parses `http[s]://host[:port]`; nil port means the scheme's.
    public init(_ text: String) throws(S3ConfigurationError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { throw S3ConfigurationError("endpoint \"\(text)\" is not http(s)://host[:port]") }
        guard url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil else {
            throw S3ConfigurationError("endpoint \"\(text)\" has a path, query or user: name the host only")
        }
        useTLS = scheme == "https"
        self.host = host
        port = url.port ?? (useTLS ? 443 : 80)
    }

    var defaultPort: Bool { port == (useTLS ? 443 : 80) }

    /// `http[s]://host[:port]`, as logs and errors name it.
    public var url: String { "\(useTLS ? "https" : "http")://\(authority(host: host))" }

    /// The Host header's value for `host` (the bucket's name before it, virtual-host style).
    func authority(host: String) -> String { defaultPort ? host : "\(host):\(port)" }
}

/// Everything the client needs to reach one bucket.
public struct S3Configuration: Sendable, Equatable {
    public var endpoint: S3Endpoint
    public var region: String
    public var bucket: String
    public var addressing: S3Addressing
    public var credentials: S3CredentialSource
    /// PEM file of the authorities that sign the endpoint's certificate; nil: the system's.
    public var caFile: String?
    /// How long one request may take from start to its last byte.
    public var requestTimeout: Duration
    public var connectTimeout: Duration

    public init(endpoint: S3Endpoint, region: String, bucket: String, addressing: S3Addressing = .pathStyle,
                credentials: S3CredentialSource = .environment, caFile: String? = nil,
                requestTimeout: Duration = .seconds(300), connectTimeout: Duration = .seconds(10)) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.addressing = addressing
        self.credentials = credentials
        self.caFile = caFile
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
    }

    /// The host and unencoded path of `key` in the bucket (nil key: the bucket itself).
    func location(of key: String?) -> S3Location {
        switch addressing {
        case .pathStyle:
            S3Location(host: endpoint.host, path: "/\(bucket)" + (key.map { "/\($0)" } ?? ""))
        case .virtualHost:
            S3Location(host: "\(bucket).\(endpoint.host)", path: "/" + (key ?? ""))
        }
    }
}

/// Where a request goes: the host (the bucket's own, virtual-host style) and the path.
struct S3Location: Equatable {
    var host: String
    var path: String
}

extension S3CredentialSource {
    /// The credentials this source names, read now (environment or file).
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws(S3ConfigurationError) -> AWSCredentials {
        switch self {
        case .explicit(let credentials):
            return credentials
        case .environment:
            guard let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty,
                  let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
            else { throw S3ConfigurationError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set") }
            let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
        case .file(let path, let profile):
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw S3ConfigurationError("cannot read the credentials file \(path)")
            }
            return try CredentialsFile.credentials(in: text, profile: profile, path: path)
        }
    }
}

/// The AWS shared credentials file: INI sections `[profile]` with `aws_access_key_id`,
/// `aws_secret_access_key` and optionally `aws_session_token`.
enum CredentialsFile {
    static func credentials(in text: String, profile: String, path: String) throws(S3ConfigurationError) -> AWSCredentials {
        var section: String?
        var values: [String: String] = [:]
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard section == profile, let equals = line.firstIndex(of: "=") else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values[name] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard let id = values["aws_access_key_id"], !id.isEmpty,
              let secret = values["aws_secret_access_key"], !secret.isEmpty
        else { throw S3ConfigurationError("\(path) has no aws_access_key_id and aws_secret_access_key in [\(profile)]") }
        let token = values["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token)
    }
}
