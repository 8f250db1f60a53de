import Foundation
import TestSupport
import Testing
@testable import ArchiveStore

/// The zeros kept written after the active segment's records are topped up while the
/// writer is idle, a step at a time (`SegmentWriter.preallocateAhead`), not inside a
/// commit, and a failure there costs no message.
struct PreallocationTests {
    /// A message that does not compress: random bytes as base64 lines (packed back to the
    /// random bytes, which zstd cannot shrink), so each one moves the records' end by
    /// about `bytes`.
    static func incompressible(_ n: Int, bytes: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let raw = (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let body = Data(raw).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return Array("Message-ID: <big-\(n)@example.test>\r\nSubject: big \(n)\r\nContent-Transfer-Encoding: base64\r\n\r\n\(body)\r\n".utf8)
    }

    /// Where the record behind `receipt` ends in its segment file.
    static func recordsEnd(_ path: String, after receipt: ArchiveReceipt) throws -> Int {
        let bytes = readFile(path)
        let last = receipt.arrivalPosition.offset  // the record that holds the arrival
        return try RecordCodec.decodeHeader(bytes[last...]).recordLength + last
    }

    @Test func theIdleWriterTopsUpTheZerosAfterTheRecords() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            let path = segmentPaths(dir)[0]
            let window = SegmentWriter.preallocation - SegmentWriter.preallocationStep
            // A new segment gets its zeros before its first commit.
            let prepared = try await eventually { readFile(path).count - SegmentHeader.size > window }
            #expect(prepared)
            // This message uses up more than a step of them, and a commit adds none while
            // more than a quarter step remains: what follows is the idle writer's doing.
            let receipt = try await commit(store, Self.incompressible(1, bytes: 300_000), 1)
            let end = try Self.recordsEnd(path, after: receipt)
            #expect(end - receipt.offset > SegmentWriter.preallocationStep)
            let toppedUp = try await eventually { readFile(path).count - end > window }
            #expect(toppedUp, "zeros after the records: \(readFile(path).count - end)")
            let live = readFile(path)
            #expect(live.count <= end + SegmentWriter.preallocation)
            #expect(live[end...].allSatisfy { $0 == 0 })
            try await store.close()
            #expect(readFile(path).count == end)
        }
    }

    @Test func aFailedIdleSyncLosesNothingAndTheNextCommitMovesOn() async throws {
        try await withTempDirectory { dir in
            let fault = SyncFault(.idle)
            let wakes = WriterWakes()
            var options = ArchiveStoreOptions()
            options.faultInjector = fault
            options.freeSpaceProbe = wakes.probe
            options.freeSpaceRecheckInterval = 0.05  // the writer's idle tick
            let store = try await openStore(dir, options: options)
            let messages = [Self.incompressible(1, bytes: 300_000), Self.incompressible(2, bytes: 300_000)]
            let first = try await commit(store, messages[0], 1)
            // Idle steps after the open and after that commit, all done once the writer
            // wakes idle; then the next one fails.
            #expect(try await wakes.next())
            let before = fault.calls
            fault.arm(true)
            let second = try await commit(store, messages[1], 2)
            let failed = try await eventually { fault.calls > before }
            #expect(failed)
            // The failed segment is poisoned: no retries while idle (a disk whose syncs
            // always fail must not make segment after segment), over three idle wakes.
            let later = wakes.seen + 3
            #expect(try await eventually { wakes.seen >= later || fault.calls > before + 1 })
            #expect(fault.calls == before + 1)
            fault.arm(false)
            let third = try await commit(store, Corpus.messages[0], 3)
            #expect(third.segment > second.segment)
            try await store.close()

            let reopened = try await openStore(dir)
            #expect(reopened.recoveryReport.faults.isEmpty)
            try await reopened.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(try reader.original(reader.lookup(first.id)) == messages[0])
            #expect(try reader.original(reader.lookup(second.id)) == messages[1])
            #expect(try reader.original(reader.lookup(third.id)) == Corpus.messages[0])
            #expect(try reader.list().count == 3)
            let report = try reader.verify()
            #expect(report.isClean, "\(report.faults)")
        }
    }
}
