import Crypto
import Foundation

/// The keys a request is signed with: an access key id and its secret, and the session
/// token of temporary credentials (STS), which is sent and signed as `x-amz-security-token`.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// One header field of a request; a name may repeat (SigV4 joins the values with commas).
public struct HTTPField: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// One query parameter, unencoded; `value` "" is sent as `name=` (S3's `?retention`).
public struct QueryParameter: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String = "") {
        self.name = name
        self.value = value
    }
}

/// A request as SigV4 sees it. `path` is unencoded (an S3 key as it is, with its slashes):
/// the signer and the HTTP layer encode it the same way, each segment once.
public struct SignableRequest: Sendable, Equatable {
    public var method: String
    public var path: String
    public var query: [QueryParameter]
    public var headers: [HTTPField]

    public init(method: String, path: String, query: [QueryParameter] = [], headers: [HTTPField] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }
}

/// What signing adds to a request: `x-amz-date`, the security token when there is one,
/// and `Authorization`; the request's own headers (with `x-amz-content-sha256` for S3)
/// are signed as they are.
public struct SignedFields: Sendable, Equatable {
    public var canonicalRequest: String
    public var stringToSign: String
    public var signature: String
    public var authorization: String
    public var added: [HTTPField]
}

/// AWS Signature Version 4 (header form), as S3 needs it: the path is not normalized
/// ("a//b" and "a/./b" are keys of their own) and each segment is percent-encoded once.
public struct SignatureV4: Sendable {
    public var region: String
    public var service: String

    public init(region: String, service: String = "s3") {
        self.region = region
        self.service = service
    }

    /// Signs `request`, whose headers must already hold `host` (and, for S3,
    /// `x-amz-content-sha256`). `payloadHash` is the hex SHA-256 of the body or
    /// `UNSIGNED-PAYLOAD`; `date` is the signing time (UTC).
    public func sign(_ request: SignableRequest, payloadHash: String, credentials: AWSCredentials, date: Date) -> SignedFields {
        let stamp = AmzDate(date)
        var added = [HTTPField("x-amz-date", stamp.full)]
        if let token = credentials.sessionToken { added.append(HTTPField("x-amz-security-token", token)) }
        var signing = request
        signing.headers += added
        let canonical = canonicalRequest(signing, payloadHash: payloadHash)
        let scope = "\(stamp.day)/\(region)/\(service)/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", stamp.full, scope, Self.hex(SHA256.hash(data: Data(canonical.request.utf8)))]
            .joined(separator: "\n")
        let key = signingKey(secret: credentials.secretAccessKey, day: stamp.day)
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        added.append(HTTPField("Authorization", authorization))
        return SignedFields(canonicalRequest: canonical.request, stringToSign: toSign, signature: signature,
                            authorization: authorization, added: added)
    }

    /// The canonical request and its signed-header list.
    func canonicalRequest(_ request: SignableRequest, payloadHash: String) -> CanonicalRequest {
        var byName: [String: [String]] = [:]
        for field in request.headers {
            byName[field.name.lowercased(), default: []].append(Self.trimmedValue(field.value))
        }
        let names = byName.keys.sorted()
        let headerLines = names.map { "\($0):\(byName[$0, default: []].joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let request = [request.method, URIEncoding.path(request.path), URIEncoding.canonicalQuery(request.query),
                       headerLines, signedHeaders, payloadHash].joined(separator: "\n")
        return CanonicalRequest(request: request, signedHeaders: signedHeaders)
    }

    /// HMAC chain from "AWS4" + secret over day, region, service and "aws4_request".
    func signingKey(secret: String, day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(secret)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// Leading and trailing blanks removed and each run of blanks (line folds included)
    /// made one space, as SigV4 canonicalizes header values.
    static func trimmedValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).joined(separator: " ")
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

/// The canonical request text and the `SignedHeaders` list it ends with.
struct CanonicalRequest: Equatable {
    var request: String
    var signedHeaders: String
}

/// The two forms of the signing time: `20150830T123600Z` and the scope's `20150830`.
struct AmzDate {
    let full: String
    let day: String

    init(_ date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        day = String(format: "%04d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
        full = day + String(format: "T%02d%02d%02dZ", c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}
