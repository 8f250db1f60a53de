import AuditTrail
import CSQLite
import DurableFiles
import Foundation
import Testing
@testable import ArchiveStore
import TestSupport

/// Expiry on a store: records out of sealed segments, rows out of the index and the search
/// database, every other record untouched and verified, and a run stopped at each durable
/// step carried to its end by the next open (docs/FORMAT.md, "Expiry").
@Suite struct ExpiryTests {
    struct StopHere: Error {}

    /// A message whose body holds the word `zq<n>x`, found by search only in it.
    static func message(_ n: Int) -> [UInt8] {
        var text = "Message-ID: <expiry-\(n)@example.test>\r\nSubject: retention test \(n)\r\nFrom: a\(n)@example.test\r\nTo: b@example.test\r\n\r\n"
        for i in 0..<30 { text += "line \(i) of zq\(n)x, padding the record so segments fill up\r\n" }
        return Array(text.utf8)
    }

    static func options(_ dir: String, hook: (@Sendable (ExpiryStep) throws -> Void)? = nil) -> ArchiveStoreOptions {
        var options = ArchiveStoreOptions()
        options.audit = try? AuditLog(dataDirectory: URL(fileURLWithPath: dir))
        options.maxSegmentBytes = 8 << 10
        options.searchIndex = true
        options.trainsDictionary = false
        options.expiryStepHook = hook
        return options
    }

    /// 40 originals over several sealed segments; originals 0..<10 have a second arrival,
    /// recorded after original 19 (in a later segment). The last originals are in the
    /// active segment. Returns each original's receipt by n.
    static func fill(_ store: ArchiveStore) async throws -> [Int: ArchiveReceipt] {
        var receipts: [Int: ArchiveReceipt] = [:]
        for n in 0..<20 { receipts[n] = try await commit(store, message(n), n) }
        for n in 0..<10 { _ = try await commit(store, message(n), 100 + n) }
        for n in 20..<40 { receipts[n] = try await commit(store, message(n), n) }
        #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
        return receipts
    }

    static func candidates(_ receipts: [Int: ArchiveReceipt], _ ns: Range<Int>) -> [ExpiryCandidate] {
        ns.compactMap { n in receipts[n].map { ExpiryCandidate(sha256: $0.sha256, archiveID: $0.id, rule: "short", expiredAt: Date(timeIntervalSince1970: 1_700_000_000)) } }
    }

    /// What a finished expiry of `expired` leaves: those gone from list, index, search and
    /// segments; every other original readable, searchable and as stored; verify clean and
    /// naming what left.
    static func checkExpired(_ dir: String, expired: Set<Int>, receipts: [Int: ArchiveReceipt], records: Int, arrivals archived: Int = 50,
                             keys: SegmentKeyRing = .none, remote: (any RemoteSegmentSource)? = nil) throws {
        let reader = try ArchiveReader(dataDirectory: dir, keys: keys, remote: remote)
        let listed = Set(try reader.list().map(\.id))
        for (n, receipt) in receipts {
            #expect(listed.contains(receipt.id) == !expired.contains(n), "message \(n)")
            if !expired.contains(n) {
                let entry = try reader.lookup(receipt.id)
                #expect(try reader.original(entry) == message(n))
            } else {
                #expect(throws: (any Error).self) { try reader.lookup(receipt.id) }
            }
        }
        let report = try reader.verify()
        #expect(report.faults.isEmpty, "\(report.faults)")
        #expect(report.indexFaults.isEmpty, "\(report.indexFaults)")
        #expect(report.removedRecords == records)
        #expect(report.removedByRule["short"] == records)
        // The space is given back: each rewritten segment is shorter by its removed records.
        let archive = dir + "/archive/"
        var removed = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: archive) where name.hasSuffix(".expiry") {
            let manifest = try #require(try ExpiryManifest.load(path: archive + name))
            // An evicted segment's size is its uploaded file's, in its stub.
            let size = try EvictionStub.load(directory: archive, sequence: manifest.sequence)?.segment.size
                ?? #require(try FileManager.default.attributesOfItem(atPath: archive + SegmentName.file(manifest.sequence))[.size] as? Int)
            #expect(manifest.removedBytes > 0 && size == manifest.sealedSize - manifest.removedBytes, "\(name)")
            removed += manifest.removed.count
        }
        #expect(removed == records)
        let search = try SearchIndex.openReadOnly(path: ArchiveLayout(dataDirectory: dir).searchPath)
        for n in receipts.keys {
            // The FTS5 term index itself: a contentless row deleted with the wrong values
            // would still answer here.
            let rows = try search.connection.withStatement("SELECT count(*) FROM docs_text WHERE docs_text MATCH ?") { s in
                try s.bind([.text("zq\(n)x")])
                return try s.step() ? Int(s.int(0)) : -1
            }
            #expect(rows == (expired.contains(n) ? 0 : 1), "search for message \(n)")
        }
        let arrivals = try search.count(.arrivals)
        #expect(arrivals == archived - records, "arrivals left in the search database")
    }

    @Test func expiryRemovesRecordsAndRowsAndVerifyNamesThem() async throws {
        let dir = try makeTempDirectory("expiry")
        defer { removeTempDirectory(dir) }
        let store = try await openStore(dir, options: Self.options(dir))
        let receipts = try await Self.fill(store)
        let report = try await store.expire(actor: "user:test") { Self.candidates(receipts, 0..<15) }
        #expect(report.originals == 15)
        #expect(report.records == 25)  // 15 message records, 10 second arrivals
        #expect(report.byRule == ["short": 15])
        try await store.close()
        try Self.checkExpired(dir, expired: Set(0..<15), receipts: receipts, records: 25)
        // Reopened, the archive serves as before and a second run removes more.
        let again = try await openStore(dir, options: Self.options(dir))
        let second = try await again.expire(actor: "user:test") { Self.candidates(receipts, 15..<20) }
        #expect(second.originals == 5)
        try await again.close()
        try Self.checkExpired(dir, expired: Set(0..<20), receipts: receipts, records: 30)
    }

    @Test(arguments: ExpiryStep.allCases)
    func aRunStoppedAtEachStepIsFinishedAtTheNextOpen(_ stop: ExpiryStep) async throws {
        let dir = try makeTempDirectory("expiry")
        defer { removeTempDirectory(dir) }
        let armed = LockedValue(false)
        let store = try await openStore(dir, options: Self.options(dir, hook: { step in
            if step == stop, armed.withLock({ $0 }) { throw StopHere() }
        }))
        let receipts = try await Self.fill(store)
        armed.withLock { $0 = true }
        await #expect(throws: StopHere.self) {
            _ = try await store.expire(actor: "user:test") { Self.candidates(receipts, 0..<15) }
        }
        try await store.close()
        let reopened = try await openStore(dir, options: Self.options(dir))
        let faults = reopened.recoveryReport.faults
        #expect(faults.isEmpty, "\(faults)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/archive/expiry.plan"))
        try await reopened.close()
        try Self.checkExpired(dir, expired: Set(0..<15), receipts: receipts, records: 25)
    }

    /// Message 3 arrives again while its old records are being removed: before the
    /// segments are rewritten, and after the index phase read the durable end, indexed
    /// (its message row kept out by the old one) before the old rows are deleted.
    @Test(arguments: [ExpiryStep.searchRemoved, .indexRemovalStarting])
    func aNewArrivalDuringTheRunIsKeptWithAFreshCopyOfItsOriginal(_ at: ExpiryStep) async throws {
        let dir = try makeTempDirectory("expiry")
        defer { removeTempDirectory(dir) }
        let box = LockedValue<ArchiveStore?>(nil)
        let late = LockedValue<ArchiveReceipt?>(nil)
        let store = try await openStore(dir, options: Self.options(dir, hook: { step in
            guard step == at, let store = box.withLock({ $0 }), late.withLock({ $0 }) == nil else { return }
            let done = DispatchSemaphore(value: 0)
            Task {
                let receipt = try? await commit(store, Self.message(3), 300)
                late.withLock { $0 = receipt }
                done.signal()
            }
            done.wait()
            guard let receipt = late.withLock({ $0 }) else { return }
            let deadline = Date().addingTimeInterval(TimeInterval(patience))
            while Date() < deadline, (try? ArchiveIndex.openReadOnly(path: dir + "/archive/index.sqlite", checked: false).arrival(id: receipt.arrivalID)) == nil {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }))
        box.withLock { $0 = store }
        let receipts = try await Self.fill(store)
        _ = try await store.expire(actor: "user:test") { Self.candidates(receipts, 0..<15) }
        let arrival = try #require(late.withLock { $0 })
        #expect(arrival.arrivalRecorded)
        #expect(arrival.position != receipts[3]?.position, "a fresh copy, not a reference to the record removed")
        #expect(try store.readAsReceived(segment: arrival.arrivalPosition.segment, offset: arrival.arrivalPosition.offset) == Self.message(3))
        #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
        try await store.close()
        let reader = try ArchiveReader(dataDirectory: dir)
        let entry = try reader.lookup(arrival.id)
        #expect(try reader.original(entry) == Self.message(3))
        #expect(try reader.arrival(id: arrival.arrivalID) != nil)
        let report = try reader.verify()
        #expect(report.faults.isEmpty && report.indexFaults.isEmpty, "\(report.faults) \(report.indexFaults)")
        #expect(try ArchiveSearch(dataDirectory: dir, logger: testLogger).count("zq3x") == 1)
    }

    @Test func originalsInTheActiveSegmentOrStillQueuedAreDeferred() async throws {
        let dir = try makeTempDirectory("expiry")
        defer { removeTempDirectory(dir) }
        let store = try await openStore(dir, options: Self.options(dir))
        let receipts = try await Self.fill(store)
        let queued = try #require(receipts[5]?.position)
        // 39 was the last original written: its record is in the active segment.
        let report = try await store.expire(actor: "user:test", isQueued: { $0 == queued }) { Self.candidates(receipts, 4..<6) + Self.candidates(receipts, 39..<40) }
        #expect(report.originals == 1)
        #expect(report.deferred == 2)
        try await store.close()
        let reader = try ArchiveReader(dataDirectory: dir)
        let listed = Set(try reader.list().map(\.id))
        #expect(!listed.contains(try #require(receipts[4]?.id)))
        #expect(listed.contains(try #require(receipts[5]?.id)))
        #expect(listed.contains(try #require(receipts[39]?.id)))
    }

    /// A record removed without an expiry list, a kept record changed in a segment expiry
    /// rewrote, an expiry list edited or deleted: each is a fault of verify.
    @Test func verifyTellsExpiryFromTampering() async throws {
        let dir = try makeTempDirectory("expiry")
        defer { removeTempDirectory(dir) }
        let store = try await openStore(dir, options: Self.options(dir))
        let receipts = try await Self.fill(store)
        let archive = dir + "/archive/"
        let compacted = try #require(receipts[0]?.segment)
        let asSealed = try Durable.readAllIfPresent(archive + SegmentName.file(compacted))
        _ = try await store.expire(actor: "user:test") { Self.candidates(receipts, 0..<2) }
        try await store.close()
        let list = archive + SegmentName.expiry(compacted)
        #expect(try ArchiveReader(dataDirectory: dir).verify().faults.isEmpty)

        func faults() throws -> [String] { try ArchiveReader(dataDirectory: dir).verify().faults.map(\.reason) }
        func zero(_ segment: UInt64, at offset: Int, count: Int) throws {
            let file = try SystemFile.open(archive + SegmentName.file(segment), flags: O_RDWR)
            defer { file.close() }
            try file.write([UInt8](repeating: 0, count: count)[...], at: offset)
        }
        func withSaved(_ path: String, _ body: () throws -> Void) throws {
            let saved = try Durable.readAllIfPresent(path)
            defer { #expect(FileManager.default.createFile(atPath: path, contents: Data(saved))) }
            try body()
        }

        // A record of a segment no expiry touched, zeroed: no list accounts for it.
        let untouched = try #require(receipts[25])
        #expect(untouched.segment != compacted)
        try withSaved(archive + SegmentName.file(untouched.segment)) {
            try zero(untouched.segment, at: untouched.offset, count: 64)
            #expect(try faults().contains { $0.contains("no expiry list accounts for a change") })
        }
        // A kept record of the rewritten segment, changed: it lies where the records
        // removed before it no longer take space.
        let kept = try #require(receipts[2])
        #expect(kept.segment == compacted)
        let removedBefore = try #require(try ExpiryManifest.load(path: list)).removed.filter { $0.offset < kept.offset }.reduce(0) { $0 + $1.length }
        #expect(removedBefore > 0)
        try withSaved(archive + SegmentName.file(compacted)) {
            try zero(compacted, at: kept.offset - removedBefore, count: 64)
            #expect(try faults().contains { $0.contains("record-list digest mismatch") })
        }
        // The segment as sealed put back (the removed records with it): the list does not
        // fit it.
        try withSaved(archive + SegmentName.file(compacted)) { () throws in
            _ = FileManager.default.createFile(atPath: archive + SegmentName.file(compacted), contents: Data(asSealed))
            #expect(try faults().contains { $0.contains("its expiry list says") })
        }
        // A list re-encoded with another rule (a valid list, its digest right): not the
        // one the audit log recorded.
        try withSaved(list) {
            var forged = try ExpiryManifest.decode(try Durable.readAllIfPresent(list))
            forged.removed[0].rule = "forever"
            #expect(FileManager.default.createFile(atPath: list, contents: Data(forged.encode())))
            #expect(try faults().contains { $0.contains("not the one the audit log recorded") })
        }
        // The list edited, then deleted.
        try withSaved(list) {
            var bytes = try Durable.readAllIfPresent(list)
            bytes[bytes.count / 2] ^= 1
            #expect(FileManager.default.createFile(atPath: list, contents: Data(bytes)))
            #expect(try faults().contains { $0.contains("expiry list checksum mismatch") })
            try FileManager.default.removeItem(atPath: list)
            #expect(try faults().contains { $0.contains("no expiry list accounts for it") })
        }
        #expect(try faults().isEmpty)
    }

    /// Once armed, fails the sync of a segment's temporary file: a rewritten segment's (a
    /// full disk or a failing fsync look the same to the compactor: the temporary file
    /// never replaces the segment).
    final class CompactionSyncFault: DurableFaultInjector, @unchecked Sendable {
        let armed = LockedValue(false)
        struct Injected: Error {}
        func beforeFileSync(descriptor: Int32, path: String) throws {
            if path.hasSuffix(".seg.tmp"), armed.withLock({ $0 }) { throw Injected() }
        }
    }

    /// A failed sync during compaction: the run fails, mail keeps being archived, and the
    /// next run finishes the plan (nothing kept is lost, nothing half removed stays).
    @Test func aFailedSyncDuringCompactionIsFinishedByTheNextRun() async throws {
        let dir = try makeTempDirectory("expiry")
        defer { removeTempDirectory(dir) }
        let fault = CompactionSyncFault()
        var options = Self.options(dir)
        options.faultInjector = fault
        let store = try await openStore(dir, options: options)
        var receipts = try await Self.fill(store)
        let expiring = Self.candidates(receipts, 0..<15)
        fault.armed.withLock { $0 = true }
        await #expect(throws: (any Error).self) {
            _ = try await store.expire(actor: "user:test") { expiring }
        }
        receipts[40] = try await commit(store, Self.message(40), 40)  // mail still flows
        fault.armed.withLock { $0 = false }
        let report = try await store.expire(actor: "user:test") { [] }  // finishes the plan first
        #expect(report.originals == 15)
        #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
        try await store.close()
        try Self.checkExpired(dir, expired: Set(0..<15), receipts: receipts, records: 25, arrivals: 51)
    }

    /// A quiet node whose active segment has no record yet (sealed by age, nothing since):
    /// the run must not wait for the index to reach a position no record will take it to.
    @Test func aQuietNodeAfterARotationExpires() async throws {
        let dir = try makeTempDirectory("expiry")
        defer { removeTempDirectory(dir) }
        var options = Self.options(dir)
        options.maxSegmentAge = 1
        let store = try await openStore(dir, options: options)
        let receipts = try await Self.fill(store)
        let last = try #require(receipts[39]?.segment)
        // Sealed by age, and the next segment created, with nothing in it.
        #expect(try await eventually { FileManager.default.fileExists(atPath: dir + "/archive/" + SegmentName.file(last + 1)) })
        let report = try await store.expire(actor: "user:test") { Self.candidates(receipts, 30..<40) }
        #expect(report.originals == 10)
        try await store.close()
    }
}
