import Foundation
import TestSupport
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
        for n in 0..<3 { last = try await commit(store, Corpus.synthetic(n, bodyLines: 40), n).arrivalPosition.offset }
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

    /// The last record an arrival of an original stored before (a record of its own), zeroed
    /// with the index kept: open must not trust an index whose newest arrival is gone
    /// (it would resume after the zeros and leave them between the records).
    @Test func zeroedArrivalRecordAtTheTailIsCut() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            let message = Corpus.synthetic(0, bodyLines: 40)
            try await commit(store, message, 0)
            var again = envelope(0)
            again.recipients = ["another@example.test"]
            let arrival = try await store.commit(finished(message, envelope: again))
            try await store.close()
            #expect(arrival.isDuplicate && arrival.arrivalRecorded && arrival.arrivalPosition != arrival.position)
            let path = segmentPaths(dir)[0]
            var bytes = readFile(path)
            bytes.replaceSubrange(arrival.arrivalPosition.offset..<bytes.count, with: [UInt8](repeating: 0, count: 4096))
            try writeFile(path, bytes)
            let reopened = try await openStore(dir)
            let report = reopened.recoveryReport
            try await reopened.close()
            #expect(report.indexRebuilt, "the index named an arrival its record no longer holds")
            #expect(report.truncatedTails.first?.offset == arrival.arrivalPosition.offset)
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(try reader.verify().isClean)
            #expect(try reader.list().map(\.arrivals) == [1])
        }
    }

    /// While the store runs, the active segment carries written zeros after its last
    /// record (`SegmentWriter.preallocateAhead`). A crash leaves them: the next open cuts
    /// them without a `.broken` copy. A clean close leaves none.
    @Test func preallocatedZerosAreCutAfterACrashAndTrimmedOnClose() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            var last = 0
            for n in 0..<3 { last = try await commit(store, Corpus.synthetic(n, bodyLines: 40), n).arrivalPosition.offset }
            let path = segmentPaths(dir)[0]
            let live = readFile(path)
            let recordsEnd = try RecordCodec.decodeHeader(live[last...]).recordLength + last
            // Written ahead while the writer was idle, up to 1 MiB past the records.
            #expect(live.count > recordsEnd + SegmentWriter.preallocation / 2)
            #expect(live[recordsEnd...].allSatisfy { $0 == 0 })
            // The file as a SIGKILL at this moment would leave it (no index: rebuilt).
            let crashed = dir + "/crashed"
            try FileManager.default.createDirectory(atPath: crashed + "/archive", withIntermediateDirectories: true)
            try writeFile(crashed + "/archive/" + (path as NSString).lastPathComponent, live)
            try await store.close()
            #expect(readFile(path).count == recordsEnd)

            let reopened = try await openStore(crashed)
            let report = reopened.recoveryReport
            try await reopened.close()
            #expect(report.faults.isEmpty)
            #expect(report.truncatedTails == [.init(segment: "00000001.seg", offset: recordsEnd,
                                                    bytesRemoved: live.count - recordsEnd, brokenFile: nil)])
            let names = try FileManager.default.contentsOfDirectory(atPath: crashed + "/archive")
            #expect(!names.contains { $0.hasSuffix(".broken") })
            try await appendAndVerify(crashed, expecting: 4)
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
