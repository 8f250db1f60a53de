import Crypto
import DurableFiles
import Foundation
import Testing
@testable import ArchiveStore
import TestSupport

/// Evicted segments (docs/FORMAT.md, "Evicted segments"): a stub in place of the file, every
/// read path going to the bucket through the source, verify with and without it, eviction
/// refused where it would lose data, and a crash at each step leaving a usable archive.
@Suite struct EvictionTests {
    struct StopHere: Error {}

    /// The sealed segments but the newest, which stays the writer's.
    static func sealed(_ dir: String) throws -> [UInt64] {
        let all = try SegmentCatalog.load(directory: dir + "/archive", keys: .none)
        return all.dropLast().filter(\.isSealed).map(\.sequence)
    }

    static func evict(_ dir: String, _ sequence: UInt64, _ source: MemorySegmentSource, keys: SegmentKeyRing = .none,
                      after: (EvictionStep) throws -> Void = { _ in }) throws {
        try SegmentEvictor.evict(layout: ArchiveLayout(dataDirectory: dir), sequence: sequence, to: source.upload(dir, sequence),
                                 keys: keys, faults: nil, after: after)
    }

    /// `rotatedArchive` with its oldest segment evicted to a bucket in memory.
    static func archiveWithOneEvicted(_ dir: String) async throws -> (sequence: UInt64, source: MemorySegmentSource) {
        _ = try await rotatedArchive(dir)
        let source = MemorySegmentSource()
        let sequence = try #require(try sealed(dir).first)
        try evict(dir, sequence, source)
        return (sequence, source)
    }

    /// Every original's bytes by id, as a reader gets them.
    static func originals(_ reader: ArchiveReader) throws -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: try reader.list().map { ($0.id, try reader.original($0)) })
    }

    static func stubs(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/archive")) ?? []).filter { $0.hasSuffix(".seg.remote") }.sorted()
    }

    @Test func evictedSegmentsReadAsTheyDidAndVerify() async throws {
        try await withTempDirectory("evict") { dir in
            let receipts = try await rotatedArchive(dir)
            let before = try Self.originals(try ArchiveReader(dataDirectory: dir))
            let local = try ArchiveReader(dataDirectory: dir).verify()
            let source = MemorySegmentSource()
            let evicted = try Self.sealed(dir)
            #expect(evicted.count >= 3)
            // Through the running store, as the tier does.
            let store = try await openStore(dir)
            for sequence in evicted { try await store.evict(sequence: sequence, to: source.upload(dir, sequence)) }
            try await store.close()
            #expect(Self.stubs(dir) == evicted.map(SegmentName.evicted))
            #expect(evicted.allSatisfy { !FileManager.default.fileExists(atPath: dir + "/archive/" + SegmentName.file($0)) })

            let reader = try ArchiveReader(dataDirectory: dir, remote: source)
            #expect(try Self.originals(reader) == before)
            let report = try reader.verify()
            #expect(report.isClean, "\(report.faults) \(report.indexFaults)")
            #expect(report.records == local.records && report.evictedSegments == evicted.count && report.evictedUnread == 0)

            // Without the bucket: the chain checks out from the stubs, their records are left unread.
            let blind = try ArchiveReader(dataDirectory: dir).verify()
            #expect(blind.isClean, "\(blind.faults) \(blind.indexFaults)")
            #expect(blind.evictedUnread == evicted.count)
            #expect(blind.notes.filter { $0.contains("evicted") }.count == evicted.count)
            let first = try #require(receipts.first { evicted.contains($0.segment) })
            let unsourced = try ArchiveReader(dataDirectory: dir)
            let entry = try unsourced.lookup(first.id)
            #expect(throws: EvictionError.self) { try unsourced.original(entry) }

            // One message costs few requests: its segment's dictionaries, then its record.
            let counted = try ArchiveReader(dataDirectory: dir, remote: source)
            let requestsBefore = source.requests
            #expect(try counted.original(counted.lookup(first.id)) == before[first.id])
            #expect(source.requests - requestsBefore <= 2)

            // The forward queue's read by position, and a store reopened with the source.
            let position = ArchivePosition(segment: first.segment, offset: first.offset)
            #expect(try ArchiveStore.readAsReceived(archiveDirectory: dir + "/archive", at: position, remote: source) == before[first.id])
            var options = ArchiveStoreOptions()
            options.remoteSegments = source
            let reopened = try await openStore(dir, options: options)
            #expect(try reopened.readAsReceived(segment: first.segment, offset: first.offset) == before[first.id])
            #expect(try reopened.forwardings(after: ArchivePosition(segment: 0, offset: 0)).faults.isEmpty)
            try await reopened.close()
        }
    }

    @Test func evictionIsRefusedUnlessTheBucketHoldsTheSealedFile() async throws {
        try await withTempDirectory("evict-refused") { dir in
            _ = try await rotatedArchive(dir)
            let source = MemorySegmentSource()
            let layout = ArchiveLayout(dataDirectory: dir)
            let all = try SegmentCatalog.load(directory: dir + "/archive", keys: .none)
            let newest = try #require(all.last)
            let sealed = try #require(all.first { $0.isSealed })
            func refused(_ sequence: UInt64, _ copy: EvictedSegment) -> Bool {
                do {
                    try SegmentEvictor.evict(layout: layout, sequence: sequence, to: copy, keys: .none, faults: nil)
                    return false
                } catch let error as EvictionError {
                    if case .refused = error { return true }
                    return false
                } catch {
                    return false
                }
            }
            #expect(refused(newest.sequence, source.upload(dir, newest.sequence)), "the writer's segment")
            var copy = source.upload(dir, sealed.sequence)
            copy.sha256 = SHA256.hash(data: [1, 2, 3]).base64
            #expect(refused(sealed.sequence, copy), "another SHA-256")
            copy = source.upload(dir, sealed.sequence)
            copy.size += 1
            #expect(refused(sealed.sequence, copy), "another size")
            #expect(refused(sealed.sequence + 1, source.upload(dir, sealed.sequence)), "another segment's copy")
            #expect(Self.stubs(dir).isEmpty)
            #expect(try ArchiveReader(dataDirectory: dir).verify().evictedSegments == 0)

            // An unsealed segment that is not the newest (a gap left by an operator's edit): refused too.
            let unsealedPath = dir + "/archive/" + SegmentName.file(sealed.sequence)
            let bytes = readFile(unsealedPath)
            _ = FileManager.default.createFile(atPath: unsealedPath, contents: Data(bytes.dropLast(SegmentFooter.size)))
            #expect(refused(sealed.sequence, source.upload(dir, sealed.sequence)), "not sealed")

            _ = FileManager.default.createFile(atPath: unsealedPath, contents: Data(bytes))
            let uploaded = source.upload(dir, sealed.sequence)
            try SegmentEvictor.evict(layout: layout, sequence: sealed.sequence, to: uploaded, keys: .none, faults: nil)
            #expect(refused(sealed.sequence, uploaded), "evicted already")
        }
    }

    @Test(arguments: [EvictionStep.stubWritten, .fileRemoved])
    func aCrashAtEachStepLeavesAUsableArchive(_ stop: EvictionStep) async throws {
        try await withTempDirectory("evict-crash") { dir in
            _ = try await rotatedArchive(dir)
            let before = try Self.originals(try ArchiveReader(dataDirectory: dir))
            let source = MemorySegmentSource()
            let sequence = try #require(try Self.sealed(dir).first)
            #expect(throws: StopHere.self) {
                try Self.evict(dir, sequence, source) { step in if step == stop { throw StopHere() } }
            }
            let file = dir + "/archive/" + SegmentName.file(sequence)
            #expect(FileManager.default.fileExists(atPath: file) == (stop == .stubWritten))
            #expect(Self.stubs(dir) == [SegmentName.evicted(sequence)])
            // Both present: the file wins, no request is made.
            let reader = try ArchiveReader(dataDirectory: dir, remote: source)
            #expect(try Self.originals(reader) == before)
            #expect(try reader.verify().isClean)
            if stop == .stubWritten { #expect(source.requests == 0) }
            var options = ArchiveStoreOptions()
            options.remoteSegments = source
            try await openStore(dir, options: options).close()
            #expect(Self.stubs(dir) == (stop == .stubWritten ? [] : [SegmentName.evicted(sequence)]), "a stub beside its file is removed at open")
            #expect(try Self.originals(try ArchiveReader(dataDirectory: dir, remote: source)) == before)
        }
    }

    @Test func aReaderThatDescribedTheFileReopensThroughTheStub() async throws {
        try await withTempDirectory("evict-reopen") { dir in
            let receipts = try await rotatedArchive(dir)
            let source = MemorySegmentSource()
            let reader = try ArchiveReader(dataDirectory: dir, remote: source)
            let sequence = try #require(try Self.sealed(dir).first)
            let receipt = try #require(receipts.first { $0.segment == sequence })
            let expected = try reader.original(reader.lookup(receipt.id))
            try Self.evict(dir, sequence, source)
            #expect(try reader.original(reader.lookup(receipt.id)) == expected)
            #expect(source.requests > 0)
        }
    }

    @Test func anEncryptedSegmentEvictedReadsWithItsKey() async throws {
        try await withTempDirectory("evict-encrypted") { dir in
            let ring = try testRing([1])
            let store = try await openStore(dir, options: EncryptionTests.options(ring, segmentBytes: 4 << 10))
            for n in 0..<40 { try await commit(store, EncryptionTests.message(n), n) }
            try await store.close()
            let before = try Self.originals(try ArchiveReader(dataDirectory: dir, keys: ring))
            let source = MemorySegmentSource()
            let evicted = try Self.sealed(dir)
            #expect(!evicted.isEmpty)
            for sequence in evicted { try Self.evict(dir, sequence, source, keys: ring) }
            let reader = try ArchiveReader(dataDirectory: dir, keys: ring, remote: source)
            #expect(try Self.originals(reader) == before)
            let report = try reader.verify()
            #expect(report.isClean && report.evictedSegments == evicted.count, "\(report.faults)")
        }
    }

    @Test func verifyWithTheBucketFindsItsDamage() async throws {
        try await withTempDirectory("evict-damage") { dir in
            let receipts = try await rotatedArchive(dir)
            let source = MemorySegmentSource()
            let evicted = try Self.sealed(dir)
            for sequence in evicted { try Self.evict(dir, sequence, source) }
            let receipt = try #require(receipts.first { evicted.contains($0.segment) })
            let key = "node/segments/" + SegmentName.file(receipt.segment)
            source.corrupt(key, at: receipt.offset + RecordCodec.headerSize + 8)
            let faults = try ArchiveReader(dataDirectory: dir, remote: source).verify().faults
            #expect(faults.contains { $0.segment == SegmentName.file(receipt.segment) && $0.offset == receipt.offset }, "\(faults)")
            // Without the bucket nothing is read there: no fault to see.
            #expect(try ArchiveReader(dataDirectory: dir).verify().faults.isEmpty)
            // A copy whose first bytes differ from its stub's: the stub would hide it from the scan.
            source.corrupt(key, at: 8)
            let replaced = try ArchiveReader(dataDirectory: dir, remote: source).verify().faults
            #expect(replaced.contains { $0.reason.contains("does not begin and end as its stub") }, "\(replaced)")
        }
    }

    @Test func anExpiredSegmentEvictedReadsAndExpiryBringsOneBack() async throws {
        let dir = try makeTempDirectory("evict-expiry")
        defer { removeTempDirectory(dir) }
        let source = MemorySegmentSource()
        var options = ExpiryTests.options(dir)
        options.remoteSegments = source
        let store = try await openStore(dir, options: options)
        let receipts = try await ExpiryTests.fill(store)
        _ = try await store.expire(actor: "user:test") { ExpiryTests.candidates(receipts, 0..<5) }
        let archive = dir + "/archive/"
        let compacted = try #require(try FileManager.default.contentsOfDirectory(atPath: archive)
            .filter { $0.hasSuffix(".expiry") }.compactMap { try ExpiryManifest.load(path: archive + $0)?.sequence }.min())
        // Every sealed segment but the newest, the compacted one among them.
        let evicted = try Self.sealed(dir)
        #expect(evicted.contains(compacted))
        for sequence in evicted { try await store.evict(sequence: sequence, to: source.upload(dir, sequence)) }
        try ExpiryTests.checkExpired(dir, expired: Set(0..<5), receipts: receipts, records: 10, remote: source)

        // Expiry of an evicted segment writes it anew locally: the stub goes.
        let requests = source.requests
        let report = try await store.expire(actor: "user:test") { ExpiryTests.candidates(receipts, 5..<10) }
        #expect(report.originals == 5)
        #expect(source.requests > requests)
        try await store.close()
        let local = Set(try SegmentCatalog.load(directory: archive, keys: .none).filter { $0.evicted == nil }.map(\.sequence))
        #expect(local.contains(compacted))
        #expect(!Self.stubs(dir).contains(SegmentName.evicted(compacted)))
        try ExpiryTests.checkExpired(dir, expired: Set(0..<10), receipts: receipts, records: 20, remote: source)
    }

    @Test func aScanOfAnEvictedSegmentReadsItInLargeRanges() async throws {
        try await withTempDirectory("evict-ranges") { dir in
            var options = ArchiveStoreOptions()
            options.maxSegmentBytes = 4 << 20
            options.trainsDictionary = false
            let store = try await openStore(dir, options: options)
            for n in 0..<110 {
                let text = "Subject: large \(n)\r\n\r\n" + Data(randomBytes(40_000, seed: UInt64(n))).base64EncodedString(options: .lineLength76Characters)
                try await commit(store, Array(text.utf8), n)
            }
            try await store.close()
            let source = MemorySegmentSource()
            let sequence = try #require(try Self.sealed(dir).first)
            try Self.evict(dir, sequence, source)
            let report = try ArchiveReader(dataDirectory: dir, remote: source).verify()
            #expect(report.isClean && report.evictedSegments == 1, "\(report.faults)")
            // About 4 MiB and a hundred records: windows of 256 KiB doubling to 16 MiB, and
            // the hash pass in one, against one request a record (or a 256 KiB window) each.
            #expect(report.records >= 90)
            #expect(source.requests <= 10, "\(source.requests) requests")
        }
    }

    @Test func aStubThatIsCutOrChangedIsRefusedNeverMisread() throws {
        let stub = EvictionStub(segment: EvictedSegment(sequence: 7, key: "node/segments/00000007.seg", versionID: "v9",
                                                        sha256: "c2hhMjU2", size: 4096),
                                head: [UInt8](repeating: 1, count: SegmentHeader.size), tail: [UInt8](repeating: 2, count: SegmentFooter.size))
        let bytes = stub.encode()
        #expect(try EvictionStub.decode(bytes, path: "s") == stub)
        for cut in 0..<bytes.count {
            #expect(throws: EvictionError.self) { try EvictionStub.decode(Array(bytes.prefix(cut)), path: "s") }
        }
        for offset in bytes.indices {
            var changed = bytes
            changed[offset] ^= 0x20
            #expect(throws: EvictionError.self) { try EvictionStub.decode(changed, path: "s") }
        }
    }

    @Test func aDamagedStubIsOneSegmentsFaultNotTheArchives() async throws {
        try await withTempDirectory("evict-bad-stub") { dir in
            let (sequence, source) = try await Self.archiveWithOneEvicted(dir)
            let stub = dir + "/archive/" + SegmentName.evicted(sequence)
            var bytes = readFile(stub)
            bytes[bytes.count / 2] ^= 0x01
            try writeFile(stub, bytes)
            let faults = try ArchiveReader(dataDirectory: dir, remote: source).verify().faults
            #expect(faults.contains { $0.segment == SegmentName.file(sequence) && $0.reason.contains("stub") && $0.reason.contains("checksum") },
                    "\(faults)")
            // The node still opens and takes mail.
            let store = try await openStore(dir)
            #expect(store.recoveryReport.faults.contains { $0.reason.contains("stub") })
            try await commit(store, Corpus.synthetic(99), 99)
            try await store.close()
        }
    }

    @Test func verifyWithoutTheBucketStillChecksAnEvictedSegmentsLists() async throws {
        try await withTempDirectory("evict-lists") { dir in
            let (sequence, _) = try await Self.archiveWithOneEvicted(dir)
            try writeFile(dir + "/archive/" + SegmentName.pendingExpiry(sequence), Array("not a list".utf8))
            let faults = try ArchiveReader(dataDirectory: dir).verify().faults
            #expect(faults.contains { $0.segment == SegmentName.file(sequence) && $0.reason.contains("cut short") }, "\(faults)")
        }
    }
}
