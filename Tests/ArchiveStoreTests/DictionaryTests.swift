import DurableFiles
import Foundation
import NIOCore
import TestSupport
import Testing
@testable import ArchiveStore

/// Mail-like messages that share header boilerplate, as journal traffic does.
private func journalMessage(_ n: Int) -> [UInt8] {
    let words = ["invoice", "meeting", "quarterly", "report", "shipment", "contract", "review", "budget"]
    var text = """
    Received: from mail\(n % 7).corp.example.test (mail\(n % 7).corp.example.test [198.51.100.\(n % 200)])\r
    \tby mx.example.test (Postfix) with ESMTPS id \(UUID().uuidString.prefix(12));\r
    \tMon, \(n % 28 + 1) Nov 2026 10:\(10 + n % 50):00 +0000\r
    Message-ID: <\(UUID().uuidString)@corp.example.test>\r
    From: "User \(n % 13)" <user\(n % 13)@corp.example.test>\r
    To: archive@example.test\r
    Subject: \(words[n % words.count]) \(n)\r
    MIME-Version: 1.0\r
    Content-Type: text/plain; charset="utf-8"\r
    Content-Transfer-Encoding: quoted-printable\r
    X-Mailer: Microsoft Outlook 16.0\r
    \r\n
    """
    for line in 0..<(20 + n % 30) {
        text += "Dear team, the \(words[(n + line) % words.count]) for week \(line) is attached as discussed. Regards, user \(n % 13)\r\n"
    }
    return Array(text.utf8)
}

private func finished(_ message: [UInt8], dictionary: ZstdDictionary) throws -> FinishedMessage {
    var draft = try MessageDraft(envelope: envelope(1), dictionary: dictionary)
    try draft.append(bytes: message)
    return try draft.finish()
}

private func commitThroughStore(_ store: ArchiveStore, _ bytes: [UInt8], _ n: Int) async throws -> ArchiveReceipt {
    var draft = try store.makeDraft(envelope: envelope(n))
    var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
    buffer.writeBytes(bytes)
    try draft.append(buffer)
    return try await store.commit(draft.finish())
}

/// Seconds a store's training may wait: it runs at niceness 10 while the parallel suite
/// keeps both CPUs busy, and behind `coverTrainingsInParallel`'s sixteen (one COVER
/// training at a time in the process), about a minute of CPU on an idle machine.
private let trainingPatience = 600

private func waitForDictionary(_ store: ArchiveStore, otherThan previous: UInt32? = nil) async throws -> UInt32 {
    var trained: UInt32?
    let found = try await eventually(within: trainingPatience) {
        trained = store.compressionDictionaryID.flatMap { $0 == previous ? nil : $0 }
        return trained != nil
    }
    if !found { Issue.record("no dictionary was trained") }
    return trained ?? 0
}

/// Longer than `trainingPatience`: only a hang reaches it.
@Suite(.timeLimit(.minutes(15))) struct DictionaryTests {
    /// Below `exactTrainingLimit` of samples the dictionary comes from COVER, above it from
    /// fastCOVER; either must shrink a message it never saw, and give it back exactly.
    @Test(arguments: [120, 900])
    func bothTrainersMakeDictionariesThatPay(sampleCount: Int) throws {
        let samples = (0..<sampleCount).map { journalMessage($0) }
        let sampleBytes = samples.reduce(0) { $0 + $1.count }
        #expect((sampleBytes <= ZstdDictionary.exactTrainingLimit) == (sampleCount == 120))
        let dictionary = try #require(ZstdDictionary.train(samples: samples, capacity: 32 << 10, compressionLevel: 3))
        let message = journalMessage(5000)
        let compact = try finished(message, dictionary: dictionary)
        let plain = try finished(message, envelope: envelope(1))
        #expect(Double(compact.storedSize) < 0.8 * Double(plain.storedSize))
        #expect(try RecordCodec.decodeStandalone(compact.standaloneRecordBytes[...]).original() == message)
    }

    /// COVER in libzstd 1.5.4 is not reentrant (a global sort context): trainings in
    /// parallel must be serialized inside `ZstdDictionary.train`. Without that this test
    /// crashed the test process in one run of three here.
    @Test func coverTrainingsInParallel() async throws {
        let trained = LockedValue(0)
        let threads = (0..<4).map { round in
            Thread {
                // Sample sets of different sizes: with equal ones a training that sorts
                // with the other's context may stay in bounds and only train badly.
                for size in [30, 240, 60, 120] {
                    let samples = (0..<(size << (round % 2))).map { journalMessage($0 + 1000 * round) }
                    if ZstdDictionary.train(samples: samples, capacity: 16 << 10, compressionLevel: 3) != nil {
                        trained.withLock { $0 += 1 }
                    }
                }
            }
        }
        threads.forEach { $0.start() }
        // Until every thread has finished, however long the shared machine takes (the
        // suite's time limit stops a hang). Polled with Task.sleep: a blocked test would
        // hold one of the few threads of Swift's cooperative pool (one per core), and every
        // other async test waits meanwhile.
        while !threads.allSatisfy(\.isFinished) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(trained.withLock { $0 } == 16)
    }

    @Test func recordWithDictionaryNeedsItsDictionary() throws {
        let samples = (0..<200).map { journalMessage($0) }
        let dictionary = try #require(ZstdDictionary.train(samples: samples, capacity: 16 << 10, compressionLevel: 3))
        let message = journalMessage(1000)
        let compact = try finished(message, dictionary: dictionary)
        let plain = try finished(message, envelope: envelope(1))
        #expect(compact.storedSize < plain.storedSize)

        var dictionaries = SegmentDictionaries()
        #expect(throws: RecordCodecError.missingDictionary(dictionary.id)) { try RecordCodec.decode(compact.encodedRecord[...]) }
        let dictionaryRecord = RecordCodec.encodeDictionary(dictionary)
        let header = try RecordCodec.validate(dictionaryRecord[...])
        #expect(header.kind == .dictionary && header.dictionaryID == dictionary.id)
        let registered = dictionaries.register(header, dictionaryRecord[...])
        #expect(registered)
        let record = try RecordCodec.decode(compact.encodedRecord[...], dictionaries: dictionaries)
        #expect(try record.original() == message)
        #expect(record.metadata == compact.metadata)
        #expect(throws: RecordCodecError.notAMessage) { try RecordCodec.decode(dictionaryRecord[...], dictionaries: dictionaries) }

        // The spool's self-contained form carries its dictionary; a cut or appended byte fails.
        let standalone = try compact.standaloneRecordBytes
        #expect(try standalone.count == dictionaryRecord.count + compact.encodedRecord.count)
        #expect(try RecordCodec.decodeStandalone(standalone[...]).original() == message)
        #expect(try RecordCodec.decodeStandalone(plain.standaloneRecordBytes[...]).original() == message)
        #expect(throws: (any Error).self) { try RecordCodec.decodeStandalone(standalone.dropLast(8)) }
        #expect(throws: (any Error).self) { try RecordCodec.decodeStandalone((standalone + [0])[...]) }
        #expect(throws: (any Error).self) { try RecordCodec.decodeStandalone(compact.encodedRecord[...]) }
    }

    @Test func storeTrainsFromItsTrafficAndEverythingStaysReadable() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            var sent: [(ArchiveReceipt, [UInt8])] = []
            var n = 0
            // Past the first training threshold (256 KiB of samples).
            while sent.reduce(0, { $0 + $1.1.count }) < 320 << 10 {
                let m = journalMessage(n)
                sent.append((try await commitThroughStore(store, m, n), m))
                n += 1
            }
            let first = try await waitForDictionary(store)
            for _ in 0..<50 {
                let m = journalMessage(n)
                sent.append((try await commitThroughStore(store, m, n), m))
                n += 1
            }
            // By location, as the forward queue reads them: records before and after the
            // dictionary, through the store's cache and without a store.
            for (receipt, message) in sent where receipt.segment == sent.last!.0.segment || receipt.id == sent[0].0.id {
                #expect(try store.readAsReceived(segment: receipt.segment, offset: receipt.offset) == message)
                let record = try ArchiveStore.readRecord(archiveDirectory: store.layout.archiveDirectory,
                                                         segment: receipt.segment, offset: receipt.offset)
                #expect(try record.original() == message)
            }
            #expect(sent.last!.0.segment != sent[0].0.segment, "the dictionary opened a new segment")
            try await store.close()

            // A restart keeps the dictionary: no new segment is needed for it.
            let reopened = try await openStore(dir)
            #expect(reopened.compressionDictionaryID == first)
            let segmentsBefore = segmentPaths(dir).count
            let m = journalMessage(n)
            sent.append((try await commitThroughStore(reopened, m, n), m))
            #expect(segmentPaths(dir).count == segmentsBefore)
            try await reopened.close()

            let reader = try ArchiveReader(dataDirectory: dir)
            for (receipt, message) in sent {
                #expect(try reader.original(reader.lookup(receipt.id)) == message)
            }
            #expect(try reader.list().count == sent.count)
            let report = try reader.verify()
            #expect(report.isClean, "\(report.faults)")
            // The dictionary's segment stores later messages smaller than the first segment.
            let stats = try reader.stats()
            #expect(stats.messages == sent.count)
            #expect(try ArchiveReader.reindex(dataDirectory: dir) == sent.count)
            let reindexed = try ArchiveReader(dataDirectory: dir)
            #expect(try reindexed.original(reindexed.lookup(sent.last!.0.id)) == sent.last!.1)
        }
    }

    @Test func tornTailAfterADictionarySegmentIsRepaired() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            var n = 0
            var total = 0
            while total < 320 << 10 {
                let m = journalMessage(n)
                _ = try await commitThroughStore(store, m, n)
                total += m.count
                n += 1
            }
            _ = try await waitForDictionary(store)
            let last = journalMessage(n)
            let receipt = try await commitThroughStore(store, last, n)
            try await store.close()
            // Tear the last record in half, as a crash mid-write would.
            let path = try #require(segmentPaths(dir).last)
            let bytes = readFile(path)
            try writeFile(path, Array(bytes[0..<(receipt.offset + (bytes.count - receipt.offset) / 2)]))
            let reopened = try await openStore(dir)
            #expect(reopened.recoveryReport.truncatedTails.count == 1)
            let again = try await commitThroughStore(reopened, last, n)
            #expect(!again.isDuplicate)
            try await reopened.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(try reader.original(reader.lookup(again.id)) == last)
            #expect(try reader.verify().isClean)
        }
    }
}
