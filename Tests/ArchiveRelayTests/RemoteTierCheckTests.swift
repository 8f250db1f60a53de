import ObjectStorage
import RelayConfiguration
import Testing

/// `[archive.remote]` as check-config and the node see it (issue 27): the bucket's settings
/// with their defaults, and each problem named with its key.
@Suite struct RemoteTierCheckTests {
    static func config(_ remote: String) -> String {
        "[node]\nid = \"node-a\"\n[[listener]]\nname = \"journal\"\naddress = \"127.0.0.1:2525\"\n[archive.remote]\n\(remote)"
    }

    static let environment = ConfigurationCheck.Environment(
        hostName: "build-host", unreadable: { $0.hasPrefix("/missing/") ? "does not exist" : nil },
        contents: { _ in "" }, worldReadable: { _ in false })

    static let minimal = "endpoint = \"https://s3.eu-central-1.amazonaws.com\"\nregion = \"eu-central-1\"\nbucket = \"archive\"\n"

    @Test func theDefaults() throws {
        let remote = try #require(try ConfigurationCheck.check(text: Self.config(Self.minimal), environment: Self.environment).get().remote)
        #expect(remote.prefix == "node-a/")
        #expect(remote.objectLock == .off && remote.localMaxBytes == nil && remote.uploadEvery == .seconds(60))
        #expect(remote.bucket.endpoint == (try S3Endpoint("https://s3.eu-central-1.amazonaws.com")))
        #expect(remote.bucket.addressing == .pathStyle && remote.bucket.credentials == .environment)
        #expect(remote.bucket.requestTimeout == .seconds(300) && remote.bucket.connectTimeout == .seconds(10))
        #expect(try ConfigurationCheck.check(text: Self.config("").replacingOccurrences(of: "[archive.remote]\n", with: ""),
                                             environment: Self.environment).get().remote == nil)
    }

    @Test func everyKeySet() throws {
        let text = Self.minimal + """
            prefix = "pair-1/a/"
            addressing = "virtual-host"
            credentials = "file"
            credentials_file = "/etc/archiverelay/aws"
            credentials_profile = "archive"
            ca_file = "/etc/archiverelay/s3-ca.pem"
            object_lock = "compliance"
            local_max_bytes = 1099511627776
            upload_every_seconds = 30
            request_timeout_seconds = 600
            connect_timeout_seconds = 5
            """
        let remote = try #require(try ConfigurationCheck.check(text: Self.config(text), environment: Self.environment).get().remote)
        #expect(remote.prefix == "pair-1/a/" && remote.objectLock == .compliance && remote.localMaxBytes == 1 << 40)
        #expect(remote.bucket.addressing == .virtualHost && remote.bucket.caFile == "/etc/archiverelay/s3-ca.pem")
        #expect(remote.bucket.credentials == .file(path: "/etc/archiverelay/aws", profile: "archive"))
        #expect(remote.uploadEvery == .seconds(30) && remote.bucket.requestTimeout == .seconds(600) && remote.bucket.connectTimeout == .seconds(5))
    }

    static let at = "archive.remote"
    static let cases: [(remote: String, errors: [String])] = [
        ("region = \"r\"\nbucket = \"b\"\n", ["\(at): endpoint is required (https://host[:port] of the S3 API)"]),
        ("endpoint = \"ftp://host\"\nregion = \"r\"\nbucket = \"b\"\n", ["\(at): endpoint \"ftp://host\" is not http(s)://host[:port]"]),
        ("endpoint = \"https://host/bucket\"\nregion = \"r\"\nbucket = \"b\"\n",
         ["\(at): endpoint \"https://host/bucket\" has a path, query or user: name the host only"]),
        ("endpoint = \"https://host\"\nbucket = \"b\"\n", ["\(at): region is required"]),
        ("endpoint = \"https://host\"\nregion = \"r\"\nbucket = \"\"\n", ["\(at): bucket is required"]),
        (minimal + "addressing = \"dns\"\n", ["\(at): addressing must be one of \"path\", \"virtual-host\", got \"dns\""]),
        (minimal + "object_lock = \"worm\"\n", ["\(at): object_lock must be one of \"off\", \"governance\", \"compliance\", got \"worm\""]),
        (minimal + "credentials = \"file\"\n", ["\(at): credentials = \"file\" needs credentials_file"]),
        (minimal + "credentials_file = \"/etc/aws\"\n", ["\(at): credentials_file is read only with credentials = \"file\""]),
        (minimal + "credentials = \"file\"\ncredentials_file = \"/missing/aws\"\n", ["\(at): credentials_file /missing/aws: does not exist"]),
        (minimal + "credentials = \"instance\"\n", ["\(at): credentials must be \"env\" or \"file\", got \"instance\""]),
        (minimal + "ca_file = \"/missing/ca.pem\"\n", ["\(at): ca_file /missing/ca.pem: does not exist"]),
        (minimal + "prefix = \"/a\"\n", ["\(at): prefix \"/a\" must not start with / or hold //, and at most 512 bytes"]),
        (minimal + "local_max_bytes = 0\n", ["\(at): local_max_bytes must be greater than 0, got 0"]),
        (minimal + "upload_every_seconds = 0\n", ["\(at): upload_every_seconds must be greater than 0, got 0"]),
        (minimal + "bucket_name = \"x\"\n", ["archive.remote: unknown key \"bucket_name\""]),
    ]

    @Test(arguments: cases)
    func eachProblemIsNamed(remote: String, errors: [String]) {
        switch ConfigurationCheck.check(text: Self.config(remote), environment: Self.environment) {
        case .success:
            Issue.record("accepted: \(remote)")
        case .failure(let problems):
            #expect(problems.errors == errors)
        }
    }

    @Test func plainHTTPBeyondLoopbackIsWarnedOf() throws {
        let text = "endpoint = \"http://minio.internal:9000\"\nregion = \"us-east-1\"\nbucket = \"b\"\n"
        let validated = try ConfigurationCheck.check(text: Self.config(text), environment: Self.environment).get()
        #expect(validated.warnings.contains { $0.hasPrefix("archive.remote: endpoint minio.internal is plain http") })
        let local = "endpoint = \"http://127.0.0.1:9000\"\nregion = \"us-east-1\"\nbucket = \"b\"\n"
        #expect(try ConfigurationCheck.check(text: Self.config(local), environment: Self.environment).get().warnings.isEmpty)
    }
}
