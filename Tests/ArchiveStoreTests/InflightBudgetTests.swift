import DurableFiles
import Foundation
import NIOCore
import TestSupport
import Testing
@testable import ArchiveStore

/// The memory of messages in flight (issue 22, finding 4): drafts hold their records in
/// blocks charged to one node-wide budget, and past it go on in a spill file, so
/// concurrent incompressible messages no longer hold their whole size in memory each.
@Suite struct InflightBudgetTests {
    /// Many drafts of random (incompressible) content open at once, each fed a chunk in
    /// turn as concurrent sessions would be, against a budget a fraction of their total:
    /// the high-water mark of record memory never passes the budget, drafts spill, every
    /// message comes back intact, and once committed nothing stays held or spilled.
    /// Without the budget the mark reaches about the drafts' total (10 MiB here).
    @Test func concurrentIncompressibleDraftsStayWithinTheBudget() async throws {
        let drafts = 10, size = 1 << 20, chunk = 64 << 10
        let limit = 3 << 20
        try await withTempDirectory { dir in
            var options = ArchiveStoreOptions()
            options.maxInflightBytes = limit
            options.trainsDictionary = false
            let store = try await openStore(dir, options: options)
            let contents = (0..<drafts).map { randomBytes(size, seed: UInt64($0) + 1) }
            let receipts = try await Self.receiveTogether(contents, chunk: chunk, into: store)

            let usage = store.inflight.usage
            #expect(usage.peak <= limit, "record memory reached \(usage.peak) bytes with a budget of \(limit)")
            #expect(usage.spills > 0, "no draft spilled: the test did not reach the budget")
            for (receipt, content) in zip(receipts, contents) {
                #expect(try store.readAsReceived(segment: receipt.segment, offset: receipt.offset) == content)
            }
            let settled = try await eventually { store.inflight.usage.held == 0 && store.inflight.usage.spilled == 0 }
            #expect(settled, "still held after every commit: \(store.inflight.usage)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: store.layout.draftsDirectory).isEmpty)
            try await store.close()
        }
    }

    /// Opens a draft per content, feeds them `chunk` bytes each in turn, then finishes and
    /// commits them all concurrently; the messages are let go before it returns.
    private static func receiveTogether(_ contents: [[UInt8]], chunk: Int, into store: ArchiveStore) async throws -> [ArchiveReceipt] {
        var open = try contents.indices.map { try store.makeDraft(envelope: envelope($0)) }
        for start in stride(from: 0, to: contents[0].count, by: chunk) {
            for i in open.indices {
                try open[i].append(bytes: contents[i][start..<min(contents[i].count, start + chunk)])
            }
        }
        var messages: [FinishedMessage] = []
        while let draft = open.popLast() { messages.append(try (consume draft).finish()) }
        return try await withThrowingTaskGroup(of: (Int, ArchiveReceipt).self) { group in
            for (i, message) in messages.enumerated() {
                group.addTask { (contents.count - 1 - i, try await store.commit(message)) }
            }
            messages.removeAll()
            var receipts = [ArchiveReceipt?](repeating: nil, count: contents.count)
            for try await (i, receipt) in group { receipts[i] = receipt }
            return receipts.compactMap { $0 }
        }
    }

    /// A record spilled at any point (before its header, inside the body, inside the
    /// metadata) is the record it would have been in memory: same checksums, same
    /// original, and the spool's copy written a block at a time decodes too.
    @Test(arguments: [0, 5_000, 13_000, 40_000, 100_000])
    func aRecordSpilledAnywhereDecodes(limit: Int) async throws {
        try await withTempDirectory { dir in
            let spill = dir + "/drafts"
            try InflightBudget.prepareSpillDirectory(spill)
            let budget = InflightBudget(limit: limit, spillDirectory: spill, metrics: nil)
            let content = Corpus.synthetic(1, bodyLines: 2_000) + randomBytes(60_000, seed: 7)
            var sameID = envelope(3)
            sameID.suggestedID = "spilled"
            let message = try finished(content, envelope: sameID, budget: budget)
            let unlimited = try finished(content, envelope: sameID)

            #expect(try message.encodedRecord == unlimited.encodedRecord)
            #expect(try RecordCodec.decode(message.encodedRecord[...]).original() == content)
            let path = dir + "/copy.rec"
            let file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
            defer { file.close() }
            try message.writeStandaloneRecord(to: file)
            #expect(try RecordCodec.decodeStandalone(readFile(path)[...]).original() == content)
            #expect(message.encoded.spill != nil || limit >= 100_000)
        }
    }

    /// A spill file is this user's alone and has no name left to find it by; a draft let
    /// go gives its memory and its file back; spill files a crash left are removed at open.
    @Test func spillFilesArePrivateNamelessAndCleared() async throws {
        try await withTempDirectory { dir in
            let stale = ArchiveLayout(dataDirectory: dir).draftsDirectory + "/draft-left-by-a-crash"
            try FileManager.default.createDirectory(atPath: ArchiveLayout(dataDirectory: dir).draftsDirectory, withIntermediateDirectories: true)
            try writeFile(stale, [1, 2, 3])
            var options = ArchiveStoreOptions()
            options.maxInflightBytes = 64 << 10
            let store = try await openStore(dir, options: options)
            #expect(!FileManager.default.fileExists(atPath: stale))
            do {
                var draft = try store.makeDraft(envelope: envelope(1))
                try draft.append(bytes: randomBytes(300_000, seed: 3))
                let message = try (consume draft).finish()
                let file = try #require(message.encoded.spill)
                var info = stat()
                #expect(fstat(file.descriptor, &info) == 0)
                #expect(info.st_mode & 0o777 == 0o600)
                #expect(info.st_nlink == 0, "the spill file still has a name")
                #expect(try FileManager.default.contentsOfDirectory(atPath: store.layout.draftsDirectory).isEmpty)
                #expect(store.inflight.usage.spilled > 0)
            }
            #expect(store.inflight.usage.held == 0 && store.inflight.usage.spilled == 0, "\(store.inflight.usage)")
            try await store.close()
        }
    }

    /// A draft that can neither have memory nor a spill file fails (the session answers
    /// 451 4.3.0) instead of holding the bytes anyway or losing them.
    @Test func aDraftThatCannotSpillFails() async throws {
        try await withTempDirectory { dir in
            let budget = InflightBudget(limit: 0, spillDirectory: dir + "/missing", metrics: nil)
            #expect(throws: FileIOError.self) { try finished(Corpus.synthetic(1), envelope: envelope(1), budget: budget) }
            #expect(budget.usage == InflightBudget.Usage())
        }
    }

    /// The checksum of a record whose body was checksummed before its header existed.
    @Test func checksumsCombine() {
        let bytes = randomBytes(5_000, seed: 11)
        for split in [0, 1, 7, 8, 24, 1_000, 4_999, 5_000] {
            let a = CRC32C.checksum(bytes[..<split]), b = CRC32C.checksum(bytes[split...])
            #expect(CRC32C.combine(a, b, lengthOfB: bytes.count - split) == CRC32C.checksum(bytes), "split at \(split)")
        }
    }
}
