import Foundation
import Testing
import TestSupport
@testable import ObjectStorage

/// The request builder (addressing, encoding of key and query, SigV4) against botocore's
/// S3SigV4Auth signing the same requests (Scripts/botocore_sign.py), which encodes the
/// key and query with botocore's own percent_encode: URL, canonical request and
/// Authorization must be equal, byte for byte.
@Suite struct BotocoreOracleTests {
    struct Case: Encodable {
        let method: String
        let host: String
        let path: String
        let query: [[String]]
        let headers: [[String]]
        let body: String
        let region: String
        let access_key: String
        let secret_key: String
        let token: String?
        let time: Int
    }

    struct Answer: Decodable {
        let url: String
        let canonical_request: String
        let authorization: String
    }

    /// One S3 request of the tier's kinds; `key` nil lists the bucket.
    struct Operation {
        var method = "GET"
        var key: String? = "segments/000001.seg"
        var query: [QueryParameter] = []
        var headers: [HTTPField] = []
        var body = ""
        var addressing = S3Addressing.pathStyle
        var endpoint = "http://127.0.0.1:9000"
        var region = "us-east-1"
        var token: String?
    }

    static let operations: [Operation] = [
        Operation(),
        Operation(headers: [HTTPField("Range", "bytes=1048576-1049599")]),
        Operation(method: "HEAD", key: "node-a/segments/000017.seg", headers: [HTTPField("x-amz-checksum-mode", "ENABLED")]),
        Operation(method: "PUT", headers: [HTTPField("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="), HTTPField("Content-Type", "application/octet-stream"),
                                           HTTPField("x-amz-sdk-checksum-algorithm", "SHA256"),
                                           HTTPField("x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
                                           HTTPField("x-amz-object-lock-mode", "COMPLIANCE"),
                                           HTTPField("x-amz-object-lock-retain-until-date", "2033-12-31T00:00:00Z"),
                                           HTTPField("x-amz-object-lock-legal-hold", "ON")], body: "segment bytes"),
        Operation(method: "PUT", query: [QueryParameter("retention"), QueryParameter("versionId", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")],
                  headers: [HTTPField("Content-MD5", "x"), HTTPField("x-amz-bypass-governance-retention", "true")],
                  body: "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>"),
        Operation(query: [QueryParameter("legal-hold")]),
        Operation(method: "DELETE", query: [QueryParameter("versionId", "null")]),
        Operation(key: nil, query: [QueryParameter("list-type", "2"), QueryParameter("max-keys", "2"), QueryParameter("prefix", "node a/2026/"),
                                    QueryParameter("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")]),
        Operation(key: "odd keys/$ & + = ; , ? # [ ] ~ % é 東京 \u{1F600}"),
        Operation(key: "a//b/./c/../d"),
        Operation(key: "segments/000001.seg", addressing: .virtualHost, endpoint: "https://s3.eu-central-1.amazonaws.com",
                  region: "eu-central-1"),
        Operation(key: nil, query: [QueryParameter("list-type", "2")], addressing: .virtualHost, endpoint: "https://s3.amazonaws.com"),
        Operation(headers: [HTTPField("X-Amz-Meta-Note", "  several   spaces  inside ")], token: "FwoGZXIvYXdzEJr//////////wEaDH+token/with=chars"),
        Operation(method: "PUT", key: "segments/000002.seg", body: "", endpoint: "https://minio.example:9443", region: "garage"),
    ]

    @Test func requestsSignLikeBotocore() async throws {
        let time = 1_765_000_000
        var cases: [Case] = []
        var prepared: [PreparedRequest] = []
        for operation in Self.operations {
            var configuration = S3Configuration(endpoint: try S3Endpoint(operation.endpoint), region: operation.region, bucket: "archive-bucket",
                                                addressing: operation.addressing)
            configuration.credentials = .explicit(AWSCredentials(accessKeyID: "AKIAEXAMPLE", secretAccessKey: "secret/with+chars",
                                                                 sessionToken: operation.token))
            let builder = S3RequestBuilder(configuration: configuration, credentials: try configuration.credentials.resolve())
            let request = builder.prepare(method: operation.method, key: operation.key, query: operation.query, headers: operation.headers,
                                          payloadHash: PayloadHash.hex(of: Array(operation.body.utf8)),
                                          date: Date(timeIntervalSince1970: TimeInterval(time)))
            prepared.append(request)
            let location = configuration.location(of: operation.key)
            cases.append(Case(method: operation.method, host: configuration.endpoint.authority(host: location.host), path: location.path,
                              query: operation.query.map { [$0.name, $0.value] }, headers: operation.headers.map { [$0.name, $0.value] },
                              body: operation.body, region: operation.region, access_key: "AKIAEXAMPLE", secret_key: "secret/with+chars",
                              token: operation.token, time: time))
        }
        let answers = try await Self.botocore(cases)
        #expect(answers.count == prepared.count)
        for (index, (answer, request)) in zip(answers, prepared).enumerated() {
            // botocore keeps the query in the order given; ours is the canonical order.
            let ourURL = request.url.replacingOccurrences(of: "https://", with: "http://")
            #expect(ourURL.split(separator: "?").first == answer.url.split(separator: "?").first, "case \(index)")
            #expect(request.signed.canonicalRequest == answer.canonical_request, "case \(index)")
            #expect(request.signed.authorization == answer.authorization, "case \(index)")
        }
    }

    static func botocore(_ cases: [Case]) async throws -> [Answer] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/botocore_sign.py").path
        return try await withTempDirectory("botocore") { directory in
            let input = directory + "/cases.json"
            try JSONEncoder().encode(cases).write(to: URL(fileURLWithPath: input))
            let run = try await runProcess("/bin/sh", ["-c", "python3 \"$0\" < \"$1\"", script, input], in: directory)
            guard run.status == 0 else { throw TestSupportError("botocore_sign.py failed (is botocore installed? make deps-test): \(run.stderr)") }
            return try JSONDecoder().decode([Answer].self, from: Data(run.stdout))
        }
    }
}
