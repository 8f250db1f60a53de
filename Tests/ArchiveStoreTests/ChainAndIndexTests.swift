import Foundation
import TestSupport
import Testing
@testable import ArchiveStore

@Suite struct ChainAndIndexTests {
    @Test func segmentsRotateBySizeAndFormAVerifiedChain() async throws {
        try await withTempDirectory { dir in
            let receipts = try await rotatedArchive(dir)
            let paths = segmentPaths(dir)
            #expect(paths.count >= 4)
            #expect(Set(receipts.map(\.segment)).count >= 4)
            // A record is never split: a segment may only exceed the limit with one record.
            for segment in try SegmentCatalog.load(directory: dir + "/archive", keys: .none).dropLast() {
                let footer = try #require(segment.footer)
                #expect(segment.fileSize <= 8 << 10 || footer.recordCount == 1)
            }
            let report = try ArchiveReader(dataDirectory: dir).verify()
            #expect(report.isClean, "\(report.faults)")
            #expect(report.records == 20)
        }
    }

    /// `segment_max_age_seconds`: a quiet node still seals its segment once it is older
    /// than the limit (at the writer's idle tick, with no commit to trigger it), so a
    /// day's archive becomes immutable and hash-chained; the next message opens a new one.
    @Test func aQuietSegmentIsSealedOnceItIsOlderThanTheLimit() async throws {
        try await withTempDirectory { dir in
            var options = ArchiveStoreOptions()
            options.maxSegmentAge = 1
            options.freeSpaceRecheckInterval = 0.05  // the writer's idle tick
            let opened = ContinuousClock.now  // the segment is created after this
            let store = try await openStore(dir, options: options)
            let first = try await commit(store, Corpus.messages[0], 0)
            let early = try SegmentCatalog.load(directory: dir + "/archive", keys: .none).first?.footer != nil
            // Only meaningful while the segment is surely younger than the limit (a
            // loaded CI machine can take longer than that to open and commit).
            if ContinuousClock.now - opened < .milliseconds(900) { #expect(!early, "sealed before its age") }
            let sealed = try await eventually { (try? SegmentCatalog.load(directory: dir + "/archive", keys: .none).first?.footer) != nil }
            #expect(sealed, "the quiet segment was not sealed within \(patience) s of a 1 s limit")
            let second = try await commit(store, Corpus.messages[1], 1)
            #expect(second.segment > first.segment)
            try await store.close()
            let report = try ArchiveReader(dataDirectory: dir).verify()
            #expect(report.isClean, "\(report.faults)")
            #expect(report.records == 2)
        }
    }

    /// A writer hashes and counts what it appends, so sealing never reads the segment
    /// back; a segment resumed after a restart is hashed from the file instead. Both must
    /// seal exactly what a reader of the file computes.
    @Test func sealsOfWrittenAndResumedSegmentsMatchTheFiles() async throws {
        try await withTempDirectory { dir in
            var options = ArchiveStoreOptions()
            options.maxSegmentBytes = 8 << 10
            var n = 0
            for _ in 0..<4 {  // each restart resumes a segment that already holds records
                let store = try await openStore(dir, options: options)
                for _ in 0..<5 {
                    _ = try await commit(store, Corpus.messages[n], n)
                    n += 1
                }
                try await store.close()
            }
            let sealed = try SegmentCatalog.load(directory: dir + "/archive", keys: .none).compactMap { s in s.footer.map { (s, $0) } }
            #expect(sealed.count >= 4)
            for (segment, footer) in sealed {
                let fromFile = try SegmentCatalog.computeFooter(path: segment.path, dataLength: Int(footer.dataLength),
                                                                previousSealHash: footer.previousSealHash, encryption: .clear)
                #expect(footer == fromFile, "\(segment.path)")
            }
            let report = try ArchiveReader(dataDirectory: dir).verify()
            #expect(report.isClean, "\(report.faults)")
            #expect(report.records == 20)
        }
    }

    /// A reader scans the records after the index's checkpoint when it opens and reads the
    /// index when asked; the node may index those records in between. Each message must
    /// still be listed once (the ha-pair example once saw 601 of 600 on a live node).
    @Test func recordsIndexedAfterTheReaderOpenedAreListedOnce() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            for n in 0..<5 { _ = try await commit(store, Corpus.messages[n], n) }
            let reader = try ArchiveReader(dataDirectory: dir)  // the 5 are in its tail
            try await store.close()  // the index writer inserts them
            let listed = try reader.list()
            #expect(listed.count == 5)
            #expect(Set(listed.map(\.sha256)).count == 5)
            #expect(try reader.digest().map(\.messages).reduce(0, +) == 5)
            #expect(try ArchiveReader(dataDirectory: dir).list().count == 5)
        }
    }

    @Test func deletedSealedSegmentBreaksTheChain() async throws {
        try await withTempDirectory { dir in
            _ = try await rotatedArchive(dir)
            let paths = segmentPaths(dir)
            try FileManager.default.removeItem(atPath: paths[1])
            let faults = try ArchiveReader(dataDirectory: dir).verify().faults
            #expect(faults.contains { $0.segment == (paths[2] as NSString).lastPathComponent })
        }
    }

    @Test func insertedSegmentBreaksTheChain() async throws {
        try await withTempDirectory { dir in
            _ = try await rotatedArchive(dir)
            let paths = segmentPaths(dir)
            // Shift segments 2… up by one and insert a copy of segment 1 as 2.
            for path in paths.dropFirst().reversed() {
                let name = (path as NSString).lastPathComponent
                let next = try #require(SegmentName.sequence(of: name)) + 1
                try FileManager.default.moveItem(atPath: path, toPath: dir + "/archive/" + SegmentName.file(next))
            }
            try FileManager.default.copyItem(atPath: paths[0], toPath: dir + "/archive/" + SegmentName.file(2))
            let faults = try ArchiveReader(dataDirectory: dir).verify().faults
            #expect(!faults.isEmpty)
            #expect(faults.contains { $0.segment == "00000002.seg" })
        }
    }

    @Test func editedSealedSegmentIsDetected() async throws {
        try await withTempDirectory { dir in
            _ = try await rotatedArchive(dir)
            let path = segmentPaths(dir)[1]
            var bytes = readFile(path)
            bytes[SegmentHeader.size + 30] ^= 0xFF
            try writeFile(path, bytes)
            let faults = try ArchiveReader(dataDirectory: dir).verify().faults
            #expect(faults.contains { $0.segment == "00000002.seg" && $0.offset == SegmentHeader.size })
        }
    }

    @Test(arguments: ["delete", "garbage"])
    func damagedOrMissingIndexIsRebuiltAtOpen(damage: String) async throws {
        try await withTempDirectory { dir in
            let receipts = try await rotatedArchive(dir)
            let index = dir + "/archive/index.sqlite"
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: index + suffix) }
            if damage == "garbage" { try writeFile(index, [UInt8](repeating: 0x5A, count: 8192)) }
            let store = try await openStore(dir)
            #expect(store.recoveryReport.indexRebuilt)
            #expect(store.recoveryReport.recordsIndexed == 20)
            #expect(try await commit(store, Corpus.synthetic(3, bodyLines: 60), 3).isDuplicate == false)
            try await store.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(reader.usesIndex)
            for r in receipts { #expect(try reader.lookup(r.id).sha256 == r.sha256) }
        }
    }

    @Test func soundIndexIsNotRescannedAndReindexRebuilds() async throws {
        try await withTempDirectory { dir in
            let receipts = try await rotatedArchive(dir)
            let store = try await openStore(dir)
            #expect(!store.recoveryReport.indexRebuilt)
            #expect(store.recoveryReport.recordsIndexed == 0)
            #expect(store.recoveryReport.bytesScanned == 0)
            try await store.close()
            #expect(try ArchiveReader.reindex(dataDirectory: dir) == receipts.count)
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(try reader.list(ArchiveFilter(sender: "SENDER1@example.test")).count == receipts.indices.filter { $0 % 3 == 1 }.count)
            #expect(try reader.list(ArchiveFilter(recipient: "r7@example.test")).map(\.id) == [receipts[7].id])
            let digest = try reader.digest()
            #expect(digest.reduce(0) { $0 + $1.messages } == receipts.count)
        }
    }
}
