import DurableFiles
import Foundation
import TestSupport
import Testing
@testable import ArchiveStore

@Suite struct StoreTests {
    @Test func committedMessagesSurviveReopenByteIdentical() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            var receipts: [ArchiveReceipt] = []
            for (n, message) in Corpus.messages.prefix(10).enumerated() {
                receipts.append(try await commit(store, message, n))
            }
            try await store.close()
            let reopened = try await openStore(dir)
            #expect(reopened.recoveryReport.faults.isEmpty)
            try await reopened.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(reader.usesIndex)
            for (receipt, message) in zip(receipts, Corpus.messages) {
                #expect(!receipt.isDuplicate)
                #expect(try reader.original(reader.lookup(receipt.id)) == message)
                #expect(try reader.lookup("sha256:" + receipt.sha256).id == receipt.id)
            }
            #expect(try reader.verify().isClean)
        }
    }

    @Test func duplicatesAreStoredOnce() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            let first = try await commit(store, Corpus.messages[1], 1)
            let again = try await commit(store, Corpus.messages[1], 2)
            #expect(again.isDuplicate && again.id == first.id)
            // Concurrent copies of one new message: exactly one is stored.
            let receipts = try await withThrowingTaskGroup(of: ArchiveReceipt.self) { group in
                for n in 0..<16 { group.addTask { try await commit(store, Corpus.messages[2], n) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(receipts.filter { !$0.isDuplicate }.count == 1)
            #expect(Set(receipts.map(\.id)).count == 1)
            try await store.close()
            // Dedupe survives a restart (via the index).
            let reopened = try await openStore(dir)
            #expect(try await commit(reopened, Corpus.messages[2], 99).isDuplicate)
            try await reopened.close()
            #expect(try ArchiveReader(dataDirectory: dir).list().count == 2)
        }
    }

    @Test func concurrentCommitsShareSyncs() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            let count = 200
            let receipts = try await withThrowingTaskGroup(of: ArchiveReceipt.self) { group in
                for n in 0..<count { group.addTask { try await commit(store, Corpus.synthetic(n), n) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try await store.close()
            #expect(receipts.count == count)
            #expect(Set(receipts.map(\.id)).count == count)
            #expect((receipts.map(\.batchSize).max() ?? 0) > 1)
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(try reader.list().count == count)
            #expect(try reader.verify().isClean)
        }
    }

    @Test func syncFailureFailsTheBatchAndMovesToANewSegment() async throws {
        try await withTempDirectory { dir in
            let fault = SyncFault()
            var options = ArchiveStoreOptions()
            options.faultInjector = fault
            let store = try await openStore(dir, options: options)
            let before = try await commit(store, Corpus.messages[0], 0)
            fault.arm(true)
            await #expect(throws: ArchiveStoreError.temporaryFailure(reason: "archive write failed; message not stored")) {
                try await commit(store, Corpus.messages[1], 1)
            }
            #expect(store.recentWriteFault() != nil)
            #expect(store.recentWriteFault(within: 0) == nil)
            fault.arm(false)
            let retried = try await commit(store, Corpus.messages[1], 1)
            #expect(!retried.isDuplicate)
            #expect(retried.segment > before.segment)
            try await store.close()

            let reopened = try await openStore(dir)
            #expect(reopened.recoveryReport.faults.isEmpty)
            try await commit(reopened, Corpus.messages[3], 3)
            try await reopened.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(try reader.original(reader.lookup(before.id)) == Corpus.messages[0])
            #expect(try reader.original(reader.lookup(retried.id)) == Corpus.messages[1])
            #expect(try reader.list().count == 3)
            let report = try reader.verify()
            #expect(report.isClean, "\(report.faults)")
        }
    }

    @Test func lowDiskRefusesThenRecovers() async throws {
        try await withTempDirectory { dir in
            let disk = FakeDisk(free: 10 << 20)
            var options = ArchiveStoreOptions()
            options.freeSpaceProbe = disk.probe
            options.minimumFreeBytes = 100 << 20
            options.freeSpaceRecheckInterval = 0.01
            let store = try await openStore(dir, options: options)
            #expect(store.capacity == .low(freeBytes: 10 << 20))
            await #expect(throws: ArchiveStoreError.insufficientStorage(freeBytes: 10 << 20)) {
                try await commit(store, Corpus.messages[0], 0)
            }
            disk.set(500 << 20)
            #expect(try await eventually { !store.capacity.isLow })
            #expect(store.capacity == .ok(freeBytes: 500 << 20))
            #expect(try await !commit(store, Corpus.messages[0], 0).isDuplicate)
            try await store.close()
        }
    }

    /// Between two probes the store counts what it writes: a burst that would cross the
    /// threshold makes it probe at once instead of at the next scheduled probe (an hour
    /// away here). The probe is a disk of 100 MiB minus what the segment files take, their
    /// preallocated zeros included.
    @Test func writesBetweenProbesCountAgainstFreeSpace() async throws {
        try await withTempDirectory { dir in
            let archive = dir + "/archive"
            var options = ArchiveStoreOptions()
            options.freeSpaceProbe = { _ in
                let names = ((try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? []).filter { $0.hasSuffix(".seg") }
                let used = names.compactMap { try? FileManager.default.attributesOfItem(atPath: archive + "/" + $0)[.size] as? UInt64 }
                return (100 << 20) - used.reduce(0, +)
            }
            options.minimumFreeBytes = (100 << 20) - 3000
            options.freeSpaceRecheckInterval = 3600
            let store = try await openStore(dir, options: options)
            #expect(!store.capacity.isLow)
            var n = 0
            while !store.capacity.isLow && n < 100 {
                _ = try await commit(store, Corpus.synthetic(n, bodyLines: 40), n)
                n += 1
            }
            #expect(store.capacity.isLow, "no refusal after \(n) commits")
            #expect(n < 20, "took \(n) commits of ~500 stored bytes to pass a 3,000-byte margin")
            await #expect(throws: ArchiveStoreError.self) { try await commit(store, Corpus.synthetic(999), 999) }
            try await store.close()
        }
    }

    /// `close` closes the index database before it returns: no descriptor of this
    /// process still points at `index.sqlite` (or its WAL) while the store object lives on.
    @Test func closeClosesTheIndexDatabase() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            _ = try await commit(store, Corpus.messages[0], 0)
            func indexDescriptors() -> [String] {
                let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
                return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
                    .filter { $0.hasPrefix(dir) && $0.contains("index.sqlite") }
            }
            #expect(!indexDescriptors().isEmpty, "the open store has its index open")
            try await store.close()
            #expect(indexDescriptors().isEmpty, "still open after close: \(indexDescriptors())")
            withExtendedLifetime(store) {}
        }
    }

    /// The writer and index threads carry their names in the kernel (`top -H`, `perf`).
    @Test func dedicatedThreadsAreNamed() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            _ = try await commit(store, Corpus.messages[0], 0)
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            let names = Set(tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
            #expect(names.isSuperset(of: ["archive-writer", "archive-index"]), "\(names.sorted())")
            try await store.close()
        }
    }

    @Test func secondOpenOfTheSameDirectoryIsRefused() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            await #expect(throws: ArchiveStoreError.self) { try await openStore(dir) }
            #expect(throws: ArchiveStoreError.self) { try ArchiveReader.reindex(dataDirectory: dir) }
            try await store.close()
            #expect(try ArchiveReader.reindex(dataDirectory: dir) == 0)
        }
    }

    /// A holder that lets go within the patience (as a child between fork and exec does)
    /// does not make the taker fail; one that keeps the lock does. The brief holder lets go
    /// after 0.1 s of a patience far longer than a loaded machine can delay it; the other
    /// keeps the lock until the taker has given up, however long that takes.
    @Test(arguments: [(letsGoAfter: 0.1 as Double?, patience: Duration.seconds(patience), expectTaken: true),
                      (letsGoAfter: nil, patience: .milliseconds(500), expectTaken: false)])
    func lockWaitsOutABriefHolder(_ row: (letsGoAfter: Double?, patience: Duration, expectTaken: Bool)) async throws {
        try await withTempDirectory { dir in
            let path = dir + "/LOCK"
            let other = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
            #expect(other >= 0 && flock(other, LOCK_EX | LOCK_NB) == 0)
            let takerDone = DispatchSemaphore(value: 0)
            let holder = Thread {
                if let seconds = row.letsGoAfter { Thread.sleep(forTimeInterval: seconds) } else { takerDone.wait() }
                close(other)
            }
            holder.start()
            let taken = Result { try DirectoryLock.take(path: path, patience: row.patience) }
            takerDone.signal()
            let lock = try taken.get()
            #expect((lock != nil) == row.expectTaken)
            lock?.release()
            while !holder.isFinished { try await Task.sleep(for: .milliseconds(20)) }
        }
    }
}
