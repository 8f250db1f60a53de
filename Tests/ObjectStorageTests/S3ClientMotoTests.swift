import Crypto
import Foundation
import NIOCore
import Testing
import TestMoto
import TestSupport
@testable import ObjectStorage

/// The client against moto's S3 (signature checks on), boto3 as the oracle of what the
/// bucket holds. Each test has buckets of its own on the process's one server.
@Suite struct S3ClientMotoTests {
    static func configuration(_ moto: MotoServer, bucket: String, secret: String? = nil, accessKey: String? = nil) throws -> S3Configuration {
        S3Configuration(endpoint: try S3Endpoint(moto.endpoint), region: "us-east-1", bucket: bucket,
                        credentials: .explicit(AWSCredentials(accessKeyID: accessKey ?? moto.accessKey, secretAccessKey: secret ?? moto.secretKey)),
                        requestTimeout: .seconds(patience))
    }

    /// A client for `body`, shut down after it however it ends.
    static func withS3Client<T>(_ configuration: S3Configuration, _ body: (S3Client) async throws -> T) async throws -> T {
        let client = try S3Client(configuration: configuration)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A new Object Lock bucket on the shared moto server, a client for it and a temporary directory.
    static func withClient<T>(_ label: String, _ body: (S3Client, MotoServer, String, String) async throws -> T) async throws -> T {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket(label)
        return try await withS3Client(configuration(moto, bucket: bucket)) { client in
            try await withTempDirectory(label) { directory in try await body(client, moto, bucket, directory) }
        }
    }

    /// Bytes that differ at every offset, so a range off by one shows.
    static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) } }

    @Test func putGetRangeHeadAndDelete() async throws {
        try await Self.withClient("roundtrip") { client, moto, bucket, directory in
            let bytes = Self.pattern(700_000)  // several 256 KiB chunks
            try writeFile(directory + "/segment", bytes)
            let put = try await client.putObject(key: "node-a/segments/000001.seg", fromFile: directory + "/segment")
            #expect(put.size == Int64(bytes.count))
            #expect(put.checksumSHA256 == Data(SHA256.hash(data: bytes)).base64EncodedString())
            #expect(put.versionID != nil)
            // boto3 reads back what was sent.
            let stored = try await moto.oracle(String.self, "get", bucket, "node-a/segments/000001.seg")
            #expect(stored == bytes.map { String(format: "%02x", $0) }.joined())

            let head = try await client.headObject(key: "node-a/segments/000001.seg")
            #expect(head.size == Int64(bytes.count))
            #expect(head.versionID == put.versionID)

            let downloaded = try await client.getObject(key: "node-a/segments/000001.seg", toFile: directory + "/copy")
            #expect(readFile(directory + "/copy") == bytes)
            #expect(downloaded.checksumSHA256 == put.checksumSHA256)

            let range = try #require(ByteRange(offset: 262_140, count: 10))
            let slice = try await client.getObject(key: "node-a/segments/000001.seg", range: range)
            #expect(Array(slice.readableBytesView) == Array(bytes[262_140..<262_150]))
            let tail = try #require(ByteRange(first: 699_995, last: 800_000))
            let end = try await client.getObject(key: "node-a/segments/000001.seg", range: tail)
            #expect(Array(end.readableBytesView) == Array(bytes[699_995...]))

            try await client.deleteObject(key: "node-a/segments/000001.seg")
            let gone = await #expect(throws: S3ServiceError.self) { try await client.headObject(key: "node-a/segments/000001.seg") }
            #expect(gone?.status == 404)
            let missing = await #expect(throws: S3ServiceError.self) {
                try await client.getObject(key: "node-a/segments/never", toFile: directory + "/never")
            }
            #expect(missing?.code == "NoSuchKey")
            #expect(!FileManager.default.fileExists(atPath: directory + "/never"))
        }
    }

    @Test func listingPagesThroughEveryKeyUnderThePrefix() async throws {
        try await Self.withClient("listing") { client, _, _, directory in
            try writeFile(directory + "/small", Array("x".utf8))
            let keys = (1...7).map { String(format: "node-a/segments/%06d.seg", $0) }
            for key in keys + ["node-b/segments/000001.seg"] {
                _ = try await client.putObject(key: key, fromFile: directory + "/small")
            }
            // "node-a", not "node-a/": moto 5.2.1 checks the signature over a query whose
            // %2F it decoded, and refuses any prefix with a slash (boto3's too).
            let first = try await client.listObjects(prefix: "node-a", maxKeys: 3)
            #expect(first.objects.map(\.key) == Array(keys.prefix(3)))
            #expect(first.continuationToken != nil)
            let all = try await client.listAllObjects(prefix: "node-a", pageSize: 3)
            #expect(all.map(\.key) == keys)
            #expect(all.allSatisfy { $0.size == 1 })
        }
    }

    @Test func aFileThatChangesWhileItIsSentIsNotStored() async throws {
        try await Self.withClient("changed") { client, moto, bucket, directory in
            try writeFile(directory + "/segment", Self.pattern(600_000))
            let other = Data(SHA256.hash(data: Self.pattern(10))).base64EncodedString()
            let error = await #expect(throws: S3IntegrityError.self) {
                try await client.putObject(key: "segments/000001.seg", fromFile: directory + "/segment", expectedSHA256: other)
            }
            guard case .bodyChanged = error else { Issue.record("\(String(describing: error))"); return }
            let versions = try await moto.oracle([[String: String]].self, "versions", bucket)
            #expect(versions.isEmpty)
        }
    }

    @Test func retentionSetAtPutIsWhatBoto3ReadsAndCompliancePreventsDeletion() async throws {
        try await Self.withClient("compliance") { client, moto, bucket, directory in
            try writeFile(directory + "/segment", Self.pattern(1000))
            let until = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) + 86_400 * 30)
            let put = try await client.putObject(key: "segments/000001.seg", fromFile: directory + "/segment",
                                                 lock: ObjectLockRequest(retention: ObjectRetention(mode: .compliance, retainUntil: until)))
            let version = try #require(put.versionID)
            struct Head: Decodable { let mode: String?; let until: Int?; let legal_hold: String? }
            let head = try await moto.oracle(Head.self, "head", bucket, "segments/000001.seg", version)
            #expect(head.mode == "COMPLIANCE")
            #expect(head.until == Int(until.timeIntervalSince1970))
            // moto 5.2.1 has no GetObjectRetention (it answers the object): HeadObject reads it.
            let ours = try await client.headObject(key: "segments/000001.seg", versionID: version)
            #expect(ours.retention == ObjectRetention(mode: .compliance, retainUntil: until))

            let refused = await #expect(throws: S3ServiceError.self) {
                try await client.deleteObject(key: "segments/000001.seg", versionID: version)
            }
            #expect(refused?.code == "AccessDenied")
            #expect(try await moto.oracle(String.self, "delete", bucket, "segments/000001.seg", version) == "AccessDenied")
            // Extending is allowed (moto would also allow shortening, which S3 refuses).
            let later = ObjectRetention(mode: .compliance, retainUntil: until.addingTimeInterval(86_400))
            try await client.putObjectRetention(key: "segments/000001.seg", later, versionID: version)
            #expect(try await client.headObject(key: "segments/000001.seg", versionID: version).retention == later)
            #expect(try await moto.oracle(Head.self, "head", bucket, "segments/000001.seg", version).until == Int(later.retainUntil.timeIntervalSince1970))
        }
    }

    @Test func legalHoldOnAndOff() async throws {
        try await Self.withClient("hold") { client, moto, bucket, directory in
            try writeFile(directory + "/segment", Self.pattern(100))
            let put = try await client.putObject(key: "segments/000001.seg", fromFile: directory + "/segment",
                                                 lock: ObjectLockRequest(legalHold: true))
            let version = try #require(put.versionID)
            #expect(try await client.getObjectLegalHold(key: "segments/000001.seg", versionID: version))
            #expect(try await moto.oracle(String.self, "delete", bucket, "segments/000001.seg", version) == "AccessDenied")
            try await client.putObjectLegalHold(key: "segments/000001.seg", on: false, versionID: version)
            #expect(try await !client.getObjectLegalHold(key: "segments/000001.seg", versionID: version))
            try await client.putObjectLegalHold(key: "segments/000001.seg", on: true, versionID: version)
            struct Head: Decodable { let legal_hold: String? }
            #expect(try await moto.oracle(Head.self, "head", bucket, "segments/000001.seg", version).legal_hold == "ON")
            try await client.putObjectLegalHold(key: "segments/000001.seg", on: false, versionID: version)
            try await client.deleteObject(key: "segments/000001.seg", versionID: version)
            #expect(try await moto.oracle([[String: String]].self, "versions", bucket).isEmpty)
        }
    }

    @Test func wrongCredentialsAreRefusedByCode() async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("credentials")
        try await Self.withS3Client(Self.configuration(moto, bucket: bucket, secret: "not-the-secret")) { client in
            let signature = await #expect(throws: S3ServiceError.self) { try await client.listObjects() }
            #expect(signature?.code == "SignatureDoesNotMatch")
            #expect(signature?.description.contains("SignatureDoesNotMatch") == true)
        }
        try await Self.withS3Client(Self.configuration(moto, bucket: bucket, accessKey: "AKIAUNKNOWNKEY000000")) { client in
            let unknown = await #expect(throws: S3ServiceError.self) { try await client.listObjects() }
            #expect(unknown?.code == "InvalidAccessKeyId")
        }
        // The right keys list the same bucket: the refusals were the credentials'.
        try await Self.withS3Client(Self.configuration(moto, bucket: bucket)) { client in
            let page = try await client.listObjects()
            #expect(page.objects.isEmpty)
        }
    }

    @Test func anEndpointThatIsDownIsATransportErrorNotAnS3One() async throws {
        let port = try freePort()  // free: nothing listens there
        let configuration = S3Configuration(endpoint: try S3Endpoint("http://127.0.0.1:\(port)"), region: "us-east-1", bucket: "b",
                                            credentials: .explicit(AWSCredentials(accessKeyID: "a", secretAccessKey: "s")))
        try await Self.withS3Client(configuration) { client in
            let error = await #expect(throws: S3TransportError.self) { try await client.headObject(key: "k") }
            #expect(error?.endpoint == "http://127.0.0.1:\(port)")
        }
    }
}

/// HTTPS with a private CA: trusted through `caFile`, refused (as a transport error)
/// without it.
@Suite struct S3ClientTLSTests {
    @Test func aPrivateAuthorityIsTrustedThroughTheCAFile() async throws {
        let pki = try await TestPKI.shared()
        let moto = try await MotoServer.startTLS(identity: pki.leaf, authority: pki.authority)
        let bucket = try await moto.makeBucket("tls")
        var configuration = try S3ClientMotoTests.configuration(moto, bucket: bucket)
        configuration.caFile = pki.authority
        try await withTempDirectory("tls") { directory in
            try writeFile(directory + "/segment", S3ClientMotoTests.pattern(5000))
            try await S3ClientMotoTests.withS3Client(configuration) { client in
                let put = try await client.putObject(key: "segments/000001.seg", fromFile: directory + "/segment")
                #expect(try await client.headObject(key: "segments/000001.seg").size == put.size)
            }
        }
        configuration.caFile = nil
        try await S3ClientMotoTests.withS3Client(configuration) { client in
            let error = await #expect(throws: S3TransportError.self) { try await client.headObject(key: "segments/000001.seg") }
            #expect(error?.reason.localizedCaseInsensitiveContains("certificate") == true, "\(String(describing: error))")
        }
        configuration.caFile = "/nonexistent/ca.pem"
        #expect(throws: S3ConfigurationError.self) { try S3Client(configuration: configuration) }
    }
}
