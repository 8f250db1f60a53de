import ArchiveStore
import ArchiveTier
import Foundation
import Logging
import NIOPosix
import ObjectStorage
import Testing
import TestMoto
import TestSupport

/// An evicted segment read back from a real S3-protocol server (moto) by the real binary:
/// the segment uploaded where the tier puts it (`RemoteKeys`), evicted with what the server
/// confirmed, then `archiverelay archive get --config` with `[archive.remote]` pointing at
/// the bucket gives the same bytes as before.
@Suite struct EvictedReadMotoTests {
    static var binary: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let path = ProcessInfo.processInfo.environment["ARCHIVERELAY_BINARY"] ?? root.appendingPathComponent(".build/debug/archiverelay").path
            guard FileManager.default.isExecutableFile(atPath: path) else { throw TestSupportError("archiverelay binary not found at \(path); run swift build") }
            return path
        }
    }

    static func message(_ n: Int) -> [UInt8] {
        var text = "Message-ID: <evicted-\(n)@example.test>\r\nSubject: evicted \(n)\r\nFrom: a@example.test\r\nTo: b@example.test\r\n\r\n"
        for i in 0..<60 { text += "line \(i) of message \(n): \(String(repeating: "\(i * n % 97) ", count: 8))\r\n" }
        return Array(text.utf8)
    }

    @Test func archiveGetReadsAnEvictedMessageFromTheBucket() async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("evicted-read")
        try await withTempDirectory("evicted-read") { dir in
            var logger = Logger(label: "evicted-read")
            logger.logLevel = .critical
            var options = ArchiveStoreOptions()
            options.maxSegmentBytes = 2 << 10  // a few messages a segment
            options.trainsDictionary = false
            let store = try await ArchiveStore.open(dataDirectory: dir, options: options, logger: logger)
            for n in 0..<12 {
                var draft = try MessageDraft(envelope: ArchiveEnvelope(
                    receivedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(n)), listener: "journal", clientAddress: "192.0.2.1:2525",
                    helo: "mx.example.test", tls: nil, sender: "a@example.test", recipients: ["b@example.test"]))
                try draft.append(bytes: Self.message(n))
                _ = try await store.commit(draft.finish())
            }
            let reader = try ArchiveReader(dataDirectory: dir)
            let first = try #require(try reader.list().first { $0.segment == 1 })
            let expected = try reader.original(first)
            #expect(expected == Self.message(0))

            let keys = RemoteKeys(prefix: "node-a/")
            let path = dir + "/archive/" + SegmentName.file(1)
            let configuration = S3Configuration(endpoint: try S3Endpoint(moto.endpoint), region: "us-east-1", bucket: bucket,
                                                 credentials: .explicit(AWSCredentials(accessKeyID: moto.accessKey, secretAccessKey: moto.secretKey)),
                                                 requestTimeout: .seconds(patience))
            let client = try S3Client(configuration: configuration)
            let put: PutObjectResult
            do {
                put = try await client.putObject(key: keys.segment(1), fromFile: path)
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
            try await store.evict(sequence: 1, to: EvictedSegment(sequence: 1, key: keys.segment(1), versionID: put.versionID,
                                                                  sha256: put.checksumSHA256, size: Int(put.size)))
            try await store.close()
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(FileManager.default.fileExists(atPath: dir + "/archive/" + SegmentName.evicted(1)))

            let config = dir + "/node.toml"
            try writeFile(config, Array("""
                [node]
                id = "node-a"
                data_dir = "\(dir)"

                [archive.remote]
                endpoint = "\(moto.endpoint)"
                region = "us-east-1"
                bucket = "\(bucket)"

                """.utf8))
            let credentials = ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": moto.secretKey]
            let get = try await runProcess(try Self.binary, ["archive", "get", first.id, "--config", config], in: dir, environment: credentials)
            #expect(get.status == 0, "\(get.stderr)")
            #expect(get.stdout.elementsEqual(expected), "\(get.stdout.count) bytes, \(expected.count) expected")

            // Without the bucket the error names it, and verify reads the evicted segment there.
            let local = try await runProcess(try Self.binary, ["archive", "get", first.id, "--data-dir", dir], in: dir)
            #expect(local.status != 0 && local.stderr.contains("[archive.remote]"), "\(local.stderr)")
            let verify = try await runProcess(try Self.binary, ["archive", "verify", "--config", config], in: dir, environment: credentials)
            #expect(verify.status == 0, "\(verify.stderr)")
            #expect(String(decoding: verify.stdout, as: UTF8.self).contains("1 segments evicted to the bucket, 0 of them not read"))
        }
    }

    /// The source waits for its own event loop: a caller on another loop of the process (or
    /// on the cooperative pool) gets its bytes; a refusal names the key and the endpoint.
    @Test func aBucketReadFromAnEventLoopThreadAndARefusal() async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("bucket-source")
        try await withTempDirectory("bucket-source") { dir in
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
            try writeFile(dir + "/object", bytes)
            func configuration(secret: String) throws -> S3Configuration {
                S3Configuration(endpoint: try S3Endpoint(moto.endpoint), region: "us-east-1", bucket: bucket,
                                credentials: .explicit(AWSCredentials(accessKeyID: moto.accessKey, secretAccessKey: secret)),
                                requestTimeout: .seconds(patience))
            }
            let client = try S3Client(configuration: try configuration(secret: moto.secretKey))
            let put = try await client.putObject(key: "node-a/segments/00000001.seg", fromFile: dir + "/object")
            try await client.shutdown()
            let segment = EvictedSegment(sequence: 1, key: "node-a/segments/00000001.seg", versionID: put.versionID,
                                         sha256: put.checksumSHA256, size: bytes.count)
            let source = BucketSegmentSource(configuration: try configuration(secret: moto.secretKey))
            defer { source.shutdown() }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let fromLoop = try await group.next().submit { try source.read(segment, at: 100_000, count: 70_000) }.get()
            try await group.shutdownGracefully()
            #expect(fromLoop == Array(bytes[100_000..<170_000]))
            #expect(try source.read(segment, at: 299_990, count: 100) == Array(bytes[299_990...]))

            let refused = BucketSegmentSource(configuration: try configuration(secret: "wrong"))
            defer { refused.shutdown() }
            let error = #expect(throws: BucketReadError.self) { try refused.read(segment, at: 0, count: 10) }
            #expect(error?.description.contains(segment.key) == true && error?.description.contains(moto.endpoint) == true,
                    "\(String(describing: error))")
        }
    }
}
