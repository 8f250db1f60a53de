import ArchiveTier
import Foundation
import ObjectStorage
import Testing
import TestMoto
import TestSupport

/// What `RemoteRestore` refuses before it writes anything; the whole restore is tested
/// through the binary (NodeTests, RemoteRestoreTests).
@Suite struct RemoteRestoreRefusalTests {
    static func client(_ moto: MotoServer, bucket: String) throws -> S3Client {
        try S3Client(configuration: S3Configuration(
            endpoint: try S3Endpoint(moto.endpoint), region: "us-east-1", bucket: bucket,
            credentials: .explicit(AWSCredentials(accessKeyID: moto.accessKey, secretAccessKey: moto.secretKey)),
            requestTimeout: .seconds(patience)))
    }

    @Test func aDirectoryThatIsNotEmptyOrNotADirectoryIsRefusedBeforeTheBucketIsAsked() async throws {
        let root = try makeTempDirectory("restore-refusal")
        // Nothing listens on port 1: a refusal that asked the bucket would fail otherwise.
        let client = try S3Client(configuration: S3Configuration(
            endpoint: try S3Endpoint("http://127.0.0.1:1"), region: "us-east-1", bucket: "b",
            credentials: .explicit(AWSCredentials(accessKeyID: "a", secretAccessKey: "s"))))
        try FileManager.default.createDirectory(atPath: root + "/live/archive", withIntermediateDirectories: true)
        await #expect(throws: RestoreRefusal.notEmpty(root + "/live")) {
            try await RemoteRestore(client: client, keys: RemoteKeys(prefix: "n/"), into: root + "/live").run()
        }
        #expect(FileManager.default.createFile(atPath: root + "/file", contents: Data("x".utf8)))
        await #expect(throws: RestoreRefusal.notADirectory(root + "/file")) {
            try await RemoteRestore(client: client, keys: RemoteKeys(prefix: "n/"), into: root + "/file").run()
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/live") == ["archive"])
        try await client.shutdown()
    }

    @Test func aPrefixWithNothingOfTheLayoutIsRefusedAndNoDirectoryMade() async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("restore-empty")
        let client = try Self.client(moto, bucket: bucket)
        let root = try makeTempDirectory("restore-empty")
        do {
            try writeFile(root + "/object", Array("bytes".utf8))
            // Another node's prefix that starts the same, and a key the layout does not name.
            _ = try await client.putObject(key: "node-ab/segments/00000001.seg", fromFile: root + "/object")
            _ = try await client.putObject(key: "node-a/notes.txt", fromFile: root + "/object")
            await #expect(throws: RestoreRefusal.nothingUnderPrefix(bucket: bucket, prefix: "node-a/")) {
                try await RemoteRestore(client: client, keys: RemoteKeys(prefix: "node-a/"), into: root + "/restored").run()
            }
            #expect(!FileManager.default.fileExists(atPath: root + "/restored"))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
