import ArchiveStore
import ArchiveTier
import Foundation
import ObjectStorage
import TestMoto
import TestSupport
import Testing

/// A node's archive in a moto bucket, as the tier leaves it: mail archived by the real
/// binary (2 KiB segments), expired by `archive expire` (compacted segments with expiry
/// lists), a legal hold, the audit log; then every sealed segment, seal and expiry list,
/// the audit log and head and a snapshot of the holds uploaded at `RemoteKeys`' keys and
/// recorded in the source's `remote.sqlite` (what the uploader does, done here).
struct RemoteArchiveFixture {
    let node: ChainNode
    let root: String
    let moto: MotoServer
    let bucket: String
    let keys: RemoteKeys
    /// The sealed segments' sequences, oldest first.
    let sealed: [UInt64]

    static let prefix = "source/"

    /// With `keyFile`, the node encrypts its segments with the key there (`key create`).
    static func make(_ workspace: NodeWorkspace, keyFile: String? = nil) async throws -> RemoteArchiveFixture {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket("restore")
        let node = try ChainNode(id: "source", root: workspace.root)
        var config = ExpiryNodeTests.retention.replacingOccurrences(of: "expire_every_seconds = 1", with: "expire_every_seconds = 86400")
        if let keyFile {
            let key = try await runProcess(node.binary, ["key", "create", "--id", "1"], in: workspace.root)
            try #require(key.status == 0, "\(key.stderr)")
            #expect(FileManager.default.createFile(atPath: keyFile, contents: Data(key.stdout), attributes: [.posixPermissions: 0o600]))
            config = config.replacingOccurrences(of: "[archive]\n", with: "[archive]\nencryption_keys_file = \"\(keyFile)\"\n")
        }
        try node.writeConfig(config)
        let process = try await node.start(workspace.children)
        try await NodeTestSupport.sendMail(ExpiryNodeTests.messages("r", count: 9), port: node.journalPort, root: workspace.root)
        await node.stop(process)
        let archive = ExpiryNodeTests.Archive(node: node, root: workspace.root)
        let expired = try await archive.run(["expire", "--config", node.configPath], environment: ExpiryNodeTests.skewed)
        #expect(expired.status == 0, "\(expired.stderr)")
        let hold = try await archive.run(["hold", "create", "case-1", "--query", "keepme", "--reason", "restore test"])
        #expect(hold.status == 0, "\(hold.stderr)")

        let layout = ArchiveLayout(dataDirectory: node.dataDir)
        let segments = try SealedSegmentFiles.list(dataDirectory: layout.dataDirectory)
        #expect(segments.count >= 3, "too few sealed segments to test with")
        #expect(segments.contains { $0.expiryList != nil }, "no segment was compacted")
        let keys = RemoteKeys(prefix: prefix)
        let snapshot = workspace.root + "/holds-snapshot.sqlite"
        let backup = try await runProcess("/usr/bin/env", ["python3", "-c", "import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()",
                                                           node.dataDir + "/holds/holds.sqlite", snapshot], in: workspace.root)
        #expect(backup.status == 0, "\(backup.stderr)")
        var files: [(RemoteObject, String)] = []
        for segment in segments {
            files.append((.segment(segment.sequence), segment.segment))
            if let seal = segment.seal { files.append((.seal(segment.sequence), seal)) }
            if let expiry = segment.expiryList { files.append((.expiryList(segment.sequence), expiry)) }
        }
        files += [(.auditLog, node.dataDir + "/audit/audit.log"), (.auditHead, node.dataDir + "/audit/audit.head"), (.holds, snapshot)]
        let state = try #require(try RemoteState.open(dataDirectory: node.dataDir, create: true))
        try await withClient(moto, bucket: bucket) { client in
            for (object, path) in files {
                let key = keys.key(of: object)
                let put = try await client.putObject(key: key, fromFile: path)
                try state.record(UploadRecord(object: object, key: key, versionID: put.versionID, sha256: put.checksumSHA256,
                                              size: put.size, uploadedAt: Date()))
            }
        }
        return RemoteArchiveFixture(node: node, root: workspace.root, moto: moto, bucket: bucket, keys: keys, sealed: segments.map(\.sequence))
    }

    static func configuration(_ moto: MotoServer, bucket: String) throws -> S3Configuration {
        S3Configuration(endpoint: try S3Endpoint(moto.endpoint), region: "us-east-1", bucket: bucket,
                        credentials: .explicit(AWSCredentials(accessKeyID: moto.accessKey, secretAccessKey: moto.secretKey)),
                        requestTimeout: .seconds(patience))
    }

    static func withClient(_ moto: MotoServer, bucket: String, _ body: (S3Client) async throws -> Void) async throws {
        try await S3Client.with(configuration(moto, bucket: bucket), body)
    }

    func withClient(_ body: (S3Client) async throws -> Void) async throws {
        try await Self.withClient(moto, bucket: bucket, body)
    }

    /// A configuration for the CLIs: the source's, with `[archive.remote]` naming the bucket.
    func writeRemoteConfig(_ path: String, dataDir: String? = nil, keyFile: String? = nil, prefix: String? = nil) throws {
        try """
            \(keyFile.map { "[archive]\nencryption_keys_file = \"\($0)\"\n" } ?? "")
            [node]
            id = "restored"
            data_dir = "\(dataDir ?? node.dataDir)"
            admin = "127.0.0.1:\(node.adminPort)"

            [[listener]]
            name = "journal"
            address = "127.0.0.1:\(node.journalPort)"

            [archive.remote]
            endpoint = "\(moto.endpoint)"
            region = "us-east-1"
            bucket = "\(bucket)"
            prefix = "\(prefix ?? keys.prefix)"
            """.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The environment the CLIs read the bucket's credentials from (`credentials = "env"`).
    func credentials(secret: String? = nil) -> [String: String] {
        ["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": secret ?? moto.secretKey]
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> ProcessRun {
        try await runProcess(node.binary, arguments, in: root, environment: environment)
    }

    /// A copy of the source's data directory without its active segment, reindexed: what
    /// the bucket holds of it (the active segment is never uploaded; the peer has its mail).
    func sealedCopy() async throws -> String {
        let copy = root + "/sealed-copy"
        try FileManager.default.copyItem(atPath: node.dataDir, toPath: copy)
        let names = try FileManager.default.contentsOfDirectory(atPath: copy + "/archive")
        for name in names {
            if let sequence = SegmentName.sequence(of: name), !sealed.contains(sequence) {
                try FileManager.default.removeItem(atPath: copy + "/archive/" + name)
            }
            if name.hasPrefix("index.sqlite") || name.hasPrefix("search.sqlite") { try FileManager.default.removeItem(atPath: copy + "/archive/" + name) }
        }
        let reindex = try await run(["archive", "reindex", "--data-dir", copy])
        #expect(reindex.status == 0, "\(reindex.stderr)")
        return copy
    }
}

extension ProcessRun {
    var out: String { String(decoding: stdout, as: UTF8.self) }
}
