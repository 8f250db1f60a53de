import ArchiveStore
import ArchiveTier
import Foundation
import ObjectStorage
import TestSupport
import Testing

/// `archive restore --from-remote` and `archive verify --remote` through the real binary
/// against moto (RemoteArchiveFixture): a restored directory holds the source's sealed
/// archive exactly (list, every original's bytes, the pair digest, the hold, the audit
/// chain); refusals leave nothing or a directory a node will not start on; verify
/// --remote names what is missing, what differs and what is pending.
@Suite(.serialized) struct RemoteRestoreTests {
    @Test(.timeLimit(NodeTestSupport.scaledMinutes(5)))
    func aRestoredDirectoryHoldsTheSourcesSealedArchive() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let fixture = try await RemoteArchiveFixture.make(workspace)
        let config = workspace.root + "/remote.toml"
        let restored = workspace.root + "/restored"
        try fixture.writeRemoteConfig(config, dataDir: restored)

        // Wrong credentials: a clear error before anything is written.
        let refused = try await fixture.run(["archive", "restore", "--from-remote", restored, "--config", config],
                                            environment: fixture.credentials(secret: "not-the-secret"))
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("S3 refused the request") && refused.stderr.contains("credentials"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: restored))

        let restore = try await fixture.run(["archive", "restore", "--from-remote", restored, "--config", config], environment: fixture.credentials())
        #expect(restore.status == 0, "\(restore.out) \(restore.stderr)")
        #expect(restore.out.contains("verify: \(fixture.sealed.count) segments"), "\(restore.out)")
        #expect(restore.out.contains(", 0 faults"), "\(restore.out)")
        #expect(restore.out.contains("audit log:") && restore.out.contains("sound"), "\(restore.out)")
        #expect(!FileManager.default.fileExists(atPath: RemoteRestore.markerPath(dataDirectory: restored)))

        // The same archive as the source's sealed part: verify, list, bytes, digest, holds, audit.
        let source = try await fixture.sealedCopy()
        let verify = try await fixture.run(["archive", "verify", "--data-dir", restored])
        #expect(verify.status == 0, "\(verify.out) \(verify.stderr)")
        let sourceList = try await fixture.run(["archive", "list", "--json", "--data-dir", source])
        let restoredList = try await fixture.run(["archive", "list", "--json", "--data-dir", restored])
        #expect(restoredList.status == 0 && !restoredList.out.isEmpty)
        #expect(restoredList.out == sourceList.out)
        let ids = try restoredList.out.split(separator: "\n").map { line in
            try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String)
        }
        #expect(ids.count >= 4)
        for id in ids {
            let original = try await fixture.run(["archive", "get", "--raw", id, "--data-dir", source])
            let copy = try await fixture.run(["archive", "get", "--raw", id, "--data-dir", restored])
            #expect(copy.status == 0 && !copy.stdout.isEmpty && copy.stdout == original.stdout, "\(id): \(copy.stderr)")
        }
        let digest = try await fixture.run(["archive", "digest", "--data-dir", restored])
        let sourceDigest = try await fixture.run(["archive", "digest", "--data-dir", source])
        #expect(!digest.out.isEmpty && digest.out == sourceDigest.out)
        let search = try await fixture.run(["archive", "search", "--count", "keepme", "--data-dir", restored])
        let sourceSearch = try await fixture.run(["archive", "search", "--count", "keepme", "--data-dir", source])
        #expect(search.status == 0 && search.out == sourceSearch.out, "\(search.stderr)")
        let holds = try await fixture.run(["archive", "hold", "list", "--data-dir", restored])
        #expect(holds.status == 0 && holds.out.contains("case-1"), "\(holds.out) \(holds.stderr)")
        let audit = try await fixture.run(["archive", "audit", "verify", "--data-dir", restored])
        #expect(audit.status == 0, "\(audit.out) \(audit.stderr)")

        // Recorded as uploaded: the bucket confirms every record, nothing is pending.
        let records = try #require(try RemoteState.open(dataDirectory: restored, create: false)).all()
        #expect(records.compactMap { if case .segment(let s) = $0.object { s } else { nil } } == fixture.sealed)
        #expect(records.allSatisfy { $0.key.hasPrefix(RemoteArchiveFixture.prefix) && $0.versionID != nil })
        let remote = try await fixture.run(["archive", "verify", "--remote", "--data-dir", restored, "--config", config], environment: fixture.credentials())
        #expect(remote.status == 0, "\(remote.out) \(remote.stderr)")
        #expect(remote.out.contains("\(records.count) objects confirmed, 0 pending, 0 faults"), "\(remote.out)")

        // A directory that is not empty is never restored into.
        let again = try await fixture.run(["archive", "restore", "--from-remote", restored, "--config", config], environment: fixture.credentials())
        #expect(again.status == 1)
        #expect(again.stderr.contains("is not empty"), "\(again.stderr)")
    }

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(5)))
    func verifyRemoteNamesPendingMissingAndDifferingObjects() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let fixture = try await RemoteArchiveFixture.make(workspace)
        let newest = try #require(fixture.sealed.last)
        let config = workspace.root + "/remote.toml"
        try fixture.writeRemoteConfig(config)
        let clean = try await fixture.run(["archive", "verify", "--remote", "--config", config], environment: fixture.credentials())
        #expect(clean.status == 0, "\(clean.out) \(clean.stderr)")
        #expect(clean.out.contains(" 0 pending, 0 faults"), "\(clean.out)")

        // The newest sealed segment's record forgotten: pending, not a fault.
        try forget(fixture.keys.segment(newest), dataDirectory: fixture.node.dataDir)
        let pending = try await fixture.run(["archive", "verify", "--remote", "--config", config], environment: fixture.credentials())
        #expect(pending.status == 0, "\(pending.out) \(pending.stderr)")
        #expect(pending.out.contains("pending: \(fixture.keys.segment(newest)): not uploaded yet"), "\(pending.out)")
        #expect(pending.out.contains("note: \(fixture.keys.segment(newest)) is in the bucket, not in remote.sqlite"), "\(pending.out)")

        // One object replaced by other bytes, one deleted.
        let first = try #require(fixture.sealed.first)
        let second = fixture.sealed[1]
        let damaged = workspace.root + "/damaged.seg"
        var bytes = try #require(FileManager.default.contents(atPath: fixture.node.dataDir + "/archive/" + SegmentName.file(first)))
        bytes[bytes.count / 2] ^= 0x5A
        try bytes.write(to: URL(fileURLWithPath: damaged))
        try await fixture.withClient { client in
            _ = try await client.putObject(key: fixture.keys.segment(first), fromFile: damaged)
            try await client.deleteObject(key: fixture.keys.segment(second))
        }
        let faults = try await fixture.run(["archive", "verify", "--remote", "--config", config], environment: fixture.credentials())
        #expect(faults.status == 2, "\(faults.out) \(faults.stderr)")
        #expect(faults.stderr.contains("FAULT \(fixture.keys.segment(first)): differs from its upload record: version"), "\(faults.stderr)")
        #expect(faults.stderr.contains("SHA-256"), "\(faults.stderr)")
        #expect(faults.stderr.contains("FAULT \(fixture.keys.segment(second)): recorded as uploaded, missing from the bucket"), "\(faults.stderr)")
        #expect(faults.out.contains(", 2 faults"), "\(faults.out)")

        // A restore from that bucket finds the damage, and leaves a directory no node starts on.
        let restored = workspace.root + "/restored"
        let restoreConfig = workspace.root + "/restore.toml"
        try fixture.writeRemoteConfig(restoreConfig, dataDir: restored)
        let restore = try await fixture.run(["archive", "restore", "--from-remote", restored, "--config", restoreConfig], environment: fixture.credentials())
        #expect(restore.status == 2, "\(restore.out) \(restore.stderr)")
        #expect(restore.stderr.contains("FAULT"), "\(restore.stderr)")
        #expect(restore.stderr.contains("is incomplete (RESTORE-INCOMPLETE)"), "\(restore.stderr)")
        // Only with the marker there: a node started on a directory without it would serve.
        try #require(FileManager.default.fileExists(atPath: RemoteRestore.markerPath(dataDirectory: restored)))
        let serve = try await fixture.run(["serve", "--config", restoreConfig])
        #expect(serve.status != 0)
        #expect(serve.stderr.contains("RESTORE-INCOMPLETE"), "\(serve.stderr)")
    }

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(5)))
    func encryptedSegmentsRestoreOnlyWithTheirKeyFile() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let keyFile = workspace.root + "/keys.toml"
        let fixture = try await RemoteArchiveFixture.make(workspace, keyFile: keyFile)
        #expect(EncryptionNodeTests.headerKeyIDs(fixture.node.dataDir).allSatisfy { $0 == 1 })

        // Without the key file: a clear error naming the key and the setting, a directory marked incomplete.
        let keyless = workspace.root + "/keyless"
        let keylessConfig = workspace.root + "/keyless.toml"
        try fixture.writeRemoteConfig(keylessConfig, dataDir: keyless)
        let refused = try await fixture.run(["archive", "restore", "--from-remote", keyless, "--config", keylessConfig], environment: fixture.credentials())
        #expect(refused.status == 1, "\(refused.out) \(refused.stderr)")
        #expect(refused.stderr.contains("needs key 1") && refused.stderr.contains("pass --config with its [archive] encryption_keys_file"),
                "\(refused.stderr)")
        #expect(refused.stderr.contains("is incomplete (RESTORE-INCOMPLETE)"), "\(refused.stderr)")
        #expect(FileManager.default.fileExists(atPath: RemoteRestore.markerPath(dataDirectory: keyless)))

        // With it: restored and verified, the originals read back with the same file.
        let restored = workspace.root + "/restored"
        let config = workspace.root + "/remote.toml"
        try fixture.writeRemoteConfig(config, dataDir: restored, keyFile: keyFile)
        let restore = try await fixture.run(["archive", "restore", "--from-remote", restored, "--config", config], environment: fixture.credentials())
        #expect(restore.status == 0, "\(restore.out) \(restore.stderr)")
        let verify = try await fixture.run(["archive", "verify", "--data-dir", restored, "--config", config])
        #expect(verify.status == 0, "\(verify.out) \(verify.stderr)")
        let list = try await fixture.run(["archive", "list", "--json", "--data-dir", restored, "--config", config])
        let id = try #require(list.out.split(separator: "\n").first.flatMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        })
        let copy = try await fixture.run(["archive", "get", "--raw", id, "--data-dir", restored, "--config", config])
        let original = try await fixture.run(["archive", "get", "--raw", id, "--data-dir", fixture.node.dataDir, "--config", config])
        #expect(copy.status == 0 && !copy.stdout.isEmpty && copy.stdout == original.stdout, "\(copy.stderr)")
    }

    @Test(.enabled(if: geteuid() == 0, "taking on another user needs root"), .timeLimit(NodeTestSupport.scaledMinutes(5)))
    func aRestoreByRootOfAnotherPrefixIntoADirectoryTheNodesUserOwnsLeavesItsFilesToThatUser() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let fixture = try await RemoteArchiveFixture.make(workspace)
        let restored = workspace.root + "/owned"
        #expect(mkdir(restored, 0o750) == 0)
        #expect(chown(restored, NodeTestSupport.nobody, NodeTestSupport.nobody) == 0)
        #expect(chmod(workspace.root, 0o755) == 0)
        let config = workspace.root + "/remote.toml"
        // A new node (its own prefix) restoring the source's objects: --prefix.
        try fixture.writeRemoteConfig(config, dataDir: restored, prefix: "new-node/")
        let restore = try await fixture.run(["archive", "restore", "--from-remote", restored, "--config", config, "--prefix", RemoteArchiveFixture.prefix],
                                            environment: fixture.credentials())
        #expect(restore.status == 0, "\(restore.out) \(restore.stderr)")
        let records = try #require(try RemoteState.open(dataDirectory: restored, create: false)).all()
        #expect(!records.isEmpty && records.allSatisfy { $0.key.hasPrefix(RemoteArchiveFixture.prefix) })
        let files = try FileManager.default.subpathsOfDirectory(atPath: restored)
        #expect(files.contains("archive/index.sqlite") && files.contains("remote/remote.sqlite"), "\(files)")
        for name in files {
            var info = stat()
            #expect(lstat(restored + "/" + name, &info) == 0)
            #expect(info.st_uid == NodeTestSupport.nobody, "\(name) belongs to uid \(info.st_uid)")
        }
    }

    /// Drops the upload record of `key` (as if the tier had not uploaded it yet).
    private func forget(_ key: String, dataDirectory: String) throws {
        let path = RemoteState.path(dataDirectory: dataDirectory)
        let run = Process()
        run.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        run.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM objects WHERE key=?', (sys.argv[2],)); c.commit()", path, key]
        try run.run()
        run.waitUntilExit()
        #expect(run.terminationStatus == 0)
    }
}
