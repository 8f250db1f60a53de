import ArchiveTier
import Foundation
import Governance
import Logging
import ObjectStorage
import RelayConfiguration
import Testing
import TestMoto
import TestSupport

/// The keeper against moto's S3 (Object Lock bucket, signature checks on), boto3 as the
/// oracle of each version's lock. Each test has a bucket and a data directory of its own.
@Suite struct RemoteLockKeeperTests {
    static let day = 86_400.0
    static let keys = RemoteKeys(prefix: "node-a/")

    /// What s3_oracle.py's `head` prints.
    struct Head: Decodable, Equatable {
        let mode: String?
        let until: Int?
        let legal_hold: String?

        /// The flag never set reads as absent, cleared as OFF: both are off.
        var held: Bool { legal_hold == "ON" }
        var lock: Lock { Lock(mode: mode, until: until, held: held) }
    }

    struct Lock: Equatable {
        let mode: String?
        let until: Int?
        let held: Bool
    }

    struct Version: Decodable, Hashable {
        let key: String
        let version: String
    }

    static func client(_ endpoint: String, bucket: String, _ moto: MotoServer) throws -> S3Client {
        try S3Client(configuration: S3Configuration(
            endpoint: try S3Endpoint(endpoint), region: "us-east-1", bucket: bucket,
            credentials: .explicit(AWSCredentials(accessKeyID: moto.accessKey, secretAccessKey: moto.secretKey)),
            requestTimeout: .seconds(patience)))
    }

    /// A bucket, a client for it, a data directory with a `RemoteState`, and a keeper.
    static func withKeeper(_ label: String, _ policy: ObjectLockPolicy,
                           _ body: (RemoteLockKeeper, MotoServer, String, String) async throws -> Void) async throws {
        let moto = try await MotoServer.shared()
        let bucket = try await moto.makeBucket(label)
        let client = try Self.client(moto.endpoint, bucket: bucket, moto)
        do {
            try await withTempDirectory(label) { dir in
                let state = try #require(try RemoteState.open(dataDirectory: dir, create: true))
                try await body(RemoteLockKeeper(client: client, keys: keys, state: state, policy: policy), moto, bucket, dir)
            }
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Uploads a small segment file as `sequence` (a new version each time) and records it.
    @discardableResult
    static func upload(_ keeper: RemoteLockKeeper, _ sequence: UInt64, in dir: String, lock: ObjectLockRequest = ObjectLockRequest(),
                       recordedUntil: Date? = nil) async throws -> UploadRecord {
        try writeFile(dir + "/segment", Array("segment \(sequence) \(UUID())".utf8))
        let key = keys.segment(sequence)
        let put = try await keeper.client.putObject(key: key, fromFile: dir + "/segment", lock: lock)
        let record = UploadRecord(object: .segment(sequence), key: key, versionID: put.versionID, sha256: put.checksumSHA256,
                                  size: put.size, uploadedAt: Date(), retainUntil: recordedUntil ?? lock.retention?.retainUntil,
                                  legalHold: lock.legalHold)
        try keeper.state.record(record)
        return record
    }

    static func lock(_ until: Date?, held: Bool = false, rule: String = "default") -> SegmentLock {
        SegmentLock(retention: Retention(rule: rule, until: until), held: held)
    }

    static func head(_ moto: MotoServer, _ bucket: String, _ record: UploadRecord) async throws -> Head {
        try await moto.oracle(Head.self, "head", bucket, record.key, try #require(record.versionID))
    }

    static func seconds(_ date: Date) -> Int { Int(date.timeIntervalSince1970) }

    @Test func compliancePutsThePlansDatesAndHoldsOnAndOnlyEverExtends() async throws {
        try await Self.withKeeper("lock-compliance", .compliance) { keeper, moto, bucket, dir in
            let now = Date()
            let first = try await Self.upload(keeper, 1, in: dir)
            let second = try await Self.upload(keeper, 2, in: dir)
            let third = try await Self.upload(keeper, 3, in: dir)
            try keeper.state.record(UploadRecord(object: .auditLog, key: Self.keys.auditLog, versionID: nil, sha256: "x", size: 1,
                                                 uploadedAt: now))
            // A retention end between seconds: the lock ends at the next whole second, never before.
            let end = Date(timeIntervalSince1970: (now + 30 * Self.day).timeIntervalSince1970.rounded(.down) + 0.4)
            var plan = SegmentLockPlan(segments: [1: Self.lock(end), 2: Self.lock(nil, held: true, rule: "board")])
            var outcome = await keeper.apply(plan, now: now)
            #expect(outcome.extended == 2 && outcome.holdsSet == 1 && outcome.unplanned == 1 && outcome.failures == 0)
            let forever = Self.seconds(now) + Int(RemoteLockKeeper.forever)
            #expect(try await Self.head(moto, bucket, first).lock == Lock(mode: "COMPLIANCE", until: Self.seconds(end) + 1, held: false))
            let held = try await Self.head(moto, bucket, second)
            #expect(held.mode == "COMPLIANCE" && held.held)
            #expect(abs((held.until ?? 0) - forever) <= 1)
            #expect(try await Self.head(moto, bucket, third).mode == nil)
            #expect(try keeper.state.record(for: first.key)?.retainUntil == Date(timeIntervalSince1970: (end.timeIntervalSince1970).rounded(.up)))
            #expect(try keeper.state.record(for: second.key)?.legalHold == true)
            #expect(try keeper.state.record(for: third.key)?.retainUntil == nil)
            // Planned once its retention has ended: no date to set (S3 takes none in the past).
            plan.segments[3] = Self.lock(now - Self.day)
            #expect(await keeper.apply(plan, now: now) == LockOutcome())
            #expect(try await Self.head(moto, bucket, third).mode == nil)

            // The server refuses to delete a locked version: ours and boto3's requests alike.
            let refused = await #expect(throws: S3ServiceError.self) {
                try await keeper.client.deleteObject(key: first.key, versionID: first.versionID)
            }
            #expect(refused?.code == "AccessDenied")
            #expect(try await moto.oracle(String.self, "delete", bucket, second.key, try #require(second.versionID)) == "AccessDenied")

            // Planned again unchanged: nothing to do (forever is not pushed along every run).
            outcome = await keeper.apply(plan, now: now + 3600)
            #expect(outcome == LockOutcome())
            // A shorter plan leaves the date; a longer one extends it.
            plan.segments[1] = Self.lock(end - 10 * Self.day)
            outcome = await keeper.apply(plan, now: now)
            #expect(outcome.extended == 0 && outcome.failures == 0)
            #expect(try await Self.head(moto, bucket, first).until == Self.seconds(end) + 1)
            plan.segments[1] = Self.lock(end + 30 * Self.day)
            outcome = await keeper.apply(plan, now: now)
            #expect(outcome.extended == 1)
            #expect(try await Self.head(moto, bucket, first).until == Self.seconds(end + 30 * Self.day) + 1)

            // The hold released: the flag goes off, the date stays.
            plan.segments[2] = Self.lock(nil, rule: "board")
            outcome = await keeper.apply(plan, now: now)
            #expect(outcome.holdsCleared == 1 && outcome.extended == 0 && outcome.failures == 0)
            #expect(try await Self.head(moto, bucket, second).legal_hold == "OFF")
            #expect(try keeper.state.record(for: second.key)?.legalHold == false)

            // A segment sealed after the plan goes up with the lock the plan gives it.
            plan.segments[4] = Self.lock(end, held: true)
            let request = keeper.lock(for: 4, in: plan, now: now)
            #expect(request == ObjectLockRequest(retention: ObjectRetention(mode: .compliance, retainUntil: Date(timeIntervalSince1970: Double(Self.seconds(end) + 1))),
                                                 legalHold: true))
            let fourth = try await Self.upload(keeper, 4, in: dir, lock: request)
            #expect(try await Self.head(moto, bucket, fourth).lock == Lock(mode: "COMPLIANCE", until: Self.seconds(end) + 1, held: true))
            #expect(await keeper.apply(plan, now: now) == LockOutcome())
        }
    }

    @Test func governanceLocksTooAndItsDeleteIsRefusedWithoutBypass() async throws {
        try await Self.withKeeper("lock-governance", .governance) { keeper, moto, bucket, dir in
            let now = Date()
            let record = try await Self.upload(keeper, 7, in: dir)
            let end = now + 5 * Self.day
            #expect(await keeper.apply(SegmentLockPlan(segments: [7: Self.lock(end)]), now: now).extended == 1)
            #expect(try await Self.head(moto, bucket, record).lock == Lock(mode: "GOVERNANCE", until: Self.seconds(end) + 1, held: false))
            #expect(try await moto.oracle(String.self, "delete", bucket, record.key, try #require(record.versionID)) == "AccessDenied")
            let refused = await #expect(throws: S3ServiceError.self) {
                try await keeper.client.deleteObject(key: record.key, versionID: record.versionID)
            }
            #expect(refused?.code == "AccessDenied")
            // Shorter is not taken in governance either.
            #expect(await keeper.apply(SegmentLockPlan(segments: [7: Self.lock(now + Self.day)]), now: now) == LockOutcome())
            #expect(try await Self.head(moto, bucket, record).until == Self.seconds(end) + 1)
        }
    }

    @Test func supersededVersionsAreDeletedOnceTheirDatePassedAndNoHoldCoversThem() async throws {
        try await Self.withKeeper("lock-superseded", .compliance) { keeper, moto, bucket, dir in
            let now = Date()
            // Version 1 of each segment recorded with a date (past or not), then replaced by version 2.
            let passed = try await Self.upload(keeper, 1, in: dir, lock: ObjectLockRequest(legalHold: true), recordedUntil: now - Self.day)
            let current = try await Self.upload(keeper, 1, in: dir)
            let notYet = try await Self.upload(keeper, 2, in: dir, recordedUntil: now + Self.day)
            try await Self.upload(keeper, 2, in: dir)
            let covered = try await Self.upload(keeper, 3, in: dir, recordedUntil: now - Self.day)
            try await Self.upload(keeper, 3, in: dir)
            #expect(try keeper.state.superseded().count == 3)
            #expect(try keeper.state.superseded().first { $0.key == passed.key }?.legalHold == true)

            var plan = SegmentLockPlan(segments: [1: Self.lock(now + Self.day), 2: Self.lock(now + Self.day),
                                                  3: Self.lock(now + Self.day, held: true)])
            var outcome = await keeper.apply(plan, now: now)
            #expect(outcome.versionsDeleted == 1 && outcome.keptByHold == 1 && outcome.failures == 0)
            var versions = Set(try await moto.oracle([Version].self, "versions", bucket))
            #expect(!versions.contains(Version(key: passed.key, version: try #require(passed.versionID))))
            #expect(versions.contains(Version(key: current.key, version: try #require(current.versionID))))
            #expect(versions.contains(Version(key: notYet.key, version: try #require(notYet.versionID))))
            #expect(versions.contains(Version(key: covered.key, version: try #require(covered.versionID))))
            #expect(Set(try keeper.state.superseded().map(\.versionID)) == [notYet.versionID, covered.versionID])

            // The hold released and the day passed: both go.
            plan.segments[3] = Self.lock(now + 3 * Self.day)
            outcome = await keeper.apply(plan, now: now + 2 * Self.day)
            #expect(outcome.versionsDeleted == 2 && outcome.failures == 0)
            versions = Set(try await moto.oracle([Version].self, "versions", bucket))
            #expect(versions.count == 3)
            #expect(try keeper.state.superseded().isEmpty)
        }
    }

    @Test func failuresAreCountedAndLeaveTheStateForTheNextRun() async throws {
        try await Self.withKeeper("lock-failing", .compliance) { keeper, moto, bucket, dir in
            let now = Date()
            let record = try await Self.upload(keeper, 1, in: dir, recordedUntil: now - Self.day)
            try await Self.upload(keeper, 1, in: dir)
            let plan = SegmentLockPlan(segments: [1: Self.lock(now + 5 * Self.day)])
            // The same state through an endpoint where nothing listens.
            let down = try Self.client("http://127.0.0.1:\(try freePort())", bucket: bucket, moto)
            let failing = RemoteLockKeeper(client: down, keys: Self.keys, state: keeper.state, policy: .compliance)
            let outcome = await failing.apply(plan, now: now + 2 * Self.day)
            try await down.shutdown()
            #expect(outcome.failures == 2 && outcome.extended == 0 && outcome.versionsDeleted == 0)
            let kept = try #require(try keeper.state.record(for: record.key))
            #expect(kept.retainUntil == nil && !kept.legalHold)
            #expect(try keeper.state.superseded().map(\.versionID) == [record.versionID])

            // The endpoint back, the next run does it all.
            let next = await keeper.apply(plan, now: now + 2 * Self.day)
            #expect(next.extended == 1 && next.versionsDeleted == 1 && next.failures == 0)
            #expect(try await Self.head(moto, bucket, try #require(try keeper.state.record(for: record.key))).until
                == Self.seconds(now + 5 * Self.day) + 1)
            #expect(try keeper.state.superseded().isEmpty)
        }
    }

    @Test func theUploadsLockFollowsThePlanAndThePolicy() async throws {
        try await Self.withKeeper("lock-request", .governance) { governance, _, _, _ in
            let now = Date(timeIntervalSince1970: 1_800_000_000.5)
            let plan = SegmentLockPlan(segments: [1: Self.lock(now + Self.day), 2: Self.lock(nil, held: true), 3: Self.lock(now - 1)])
            #expect(governance.lock(for: 1, in: plan, now: now)
                == ObjectLockRequest(retention: ObjectRetention(mode: .governance, retainUntil: Date(timeIntervalSince1970: 1_800_086_401))))
            #expect(governance.lock(for: 2, in: plan, now: now) == ObjectLockRequest(
                retention: ObjectRetention(mode: .governance, retainUntil: Date(timeIntervalSince1970: (1_800_000_000.5 + RemoteLockKeeper.forever).rounded(.down))),
                legalHold: true))
            // An end already passed gets no date (S3 takes none in the past); an unplanned segment nothing.
            #expect(governance.lock(for: 3, in: plan, now: now) == ObjectLockRequest())
            #expect(governance.lock(for: 9, in: plan, now: now) == ObjectLockRequest())
            let off = RemoteLockKeeper(client: governance.client, keys: Self.keys, state: governance.state, policy: .off)
            #expect(off.lock(for: 2, in: plan, now: now) == ObjectLockRequest())
        }
    }
}
