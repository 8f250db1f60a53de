import Foundation
import Testing
@testable import ArchiveStore

/// etcd-style corruption table: damage the files of a closed store, reopen, append again,
/// then verify.
@Suite struct RecoveryTests {
    /// Builds a store with three messages and returns the path and size of the active
    /// segment plus the offset of its last record.
    private func prepare(_ dir: String) async throws -> (path: String, lastRecord: Int) {
        let store = try await openStore(dir)
        var last = 0
        for n in 0..<3 { last = try await commit(store, Corpus.synthetic(n, bodyLines: 40), n).offset }
        try await store.close()
        return (segmentPaths(dir)[0], last)
    }

    private func appendAndVerify(_ dir: String, expecting count: Int) async throws {
        let store = try await openStore(dir)
        try await commit(store, Corpus.messages[5], 5)
        try await store.close()
        let reader = try ArchiveReader(dataDirectory: dir)
        let report = try reader.verify()
        #expect(report.isClean, "\(report.faults)")
        #expect(try reader.list().count == count)
        #expect(try reader.original(reader.lookup("sha256:" + (try finished(Corpus.messages[5], envelope: envelope(5))).metadata.sha256Hex)) == Corpus.messages[5])
    }

    @Test func truncatedLastRecordAtEveryOffsetIsCutAndTheStoreServes() async throws {
        try await withTempDirectory { dir in
            let (path, lastRecord) = try await prepare(dir)
            let pristine = readFile(path)
            #expect(pristine.count > lastRecord)
            for cut in lastRecord..<pristine.count {
                try writeFile(path, Array(pristine[..<cut]))
                try? FileManager.default.removeItem(atPath: dir + "/archive/index.sqlite")
                let store = try await openStore(dir)
                let report = store.recoveryReport
                try await store.close()
                #expect(report.faults.isEmpty)
                #expect(report.truncatedTails.count == (cut == lastRecord ? 0 : 1))
                #expect(readFile(path).count == lastRecord)
                #expect(try ArchiveReader(dataDirectory: dir).list().count == 2)
            }
            // The last repair is followed by an append and a clean verify.
            try writeFile(path, Array(pristine[..<(pristine.count - 1)]))
            try await appendAndVerify(dir, expecting: 3)
            let broken = try FileManager.default.contentsOfDirectory(atPath: dir + "/archive").filter { $0.hasSuffix(".broken") }
            #expect(!broken.isEmpty)
        }
    }

    @Test func zeroedBlockAtTheTailIsCut() async throws {
        try await withTempDirectory { dir in
            let (path, lastRecord) = try await prepare(dir)
            var bytes = readFile(path)
            let start = lastRecord
            bytes.replaceSubrange(start..<bytes.count, with: [UInt8](repeating: 0, count: 4096))
            try writeFile(path, bytes)
            let store = try await openStore(dir)
            #expect(store.recoveryReport.truncatedTails.first?.offset == lastRecord)
            try await store.close()
            try await appendAndVerify(dir, expecting: 3)
        }
    }

    @Test func zeroedBlockInTheMiddleOfTheActiveSegmentIsAFaultNotATruncation() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            var offsets: [Int] = []
            for n in 0..<12 { offsets.append(try await commit(store, Corpus.messages[10 + n], n).offset) }
            try await store.close()
            let path = segmentPaths(dir)[0]
            var bytes = readFile(path)
            let size = bytes.count
            try #require(offsets[1] + 4096 < offsets[11])
            bytes.replaceSubrange(offsets[1]..<offsets[1] + 4096, with: [UInt8](repeating: 0, count: 4096))
            try writeFile(path, bytes)
            try FileManager.default.removeItem(atPath: dir + "/archive/index.sqlite")
            let reopened = try await openStore(dir)
            #expect(reopened.recoveryReport.truncatedTails.isEmpty)
            #expect(reopened.recoveryReport.faults.contains { $0.segment == "00000001.seg" && $0.offset == offsets[1] })
            try await reopened.close()
            #expect(readFile(path).count == size)   // nothing cut: later records survive
            let report = try ArchiveReader(dataDirectory: dir).verify()
            #expect(report.faults.contains { $0.offset == offsets[1] })
        }
    }

    @Test func flippedByteInASealedSegmentIsNamedByVerify() async throws {
        try await withTempDirectory { dir in
            var options = ArchiveStoreOptions()
            options.maxSegmentBytes = 8 << 10
            let store = try await openStore(dir, options: options)
            var receipts: [ArchiveReceipt] = []
            for n in 0..<12 { receipts.append(try await commit(store, Corpus.messages[20 + n], n)) }
            try await store.close()
            let sealed = try #require(receipts.first { $0.segment == 1 && $0.offset > SegmentHeader.size })
            let path = segmentPaths(dir)[0]
            var bytes = readFile(path)
            bytes[sealed.offset + 40] ^= 0x01
            try writeFile(path, bytes)
            let reopened = try await openStore(dir, options: options)
            try await commit(reopened, Corpus.messages[5], 5)
            try await reopened.close()
            let report = try ArchiveReader(dataDirectory: dir).verify()
            #expect(report.faults.contains { $0.segment == "00000001.seg" && $0.offset == sealed.offset })
            #expect(report.faults.contains { $0.segment == "00000001.seg" && $0.reason.contains("SHA-256") })
        }
    }
}
