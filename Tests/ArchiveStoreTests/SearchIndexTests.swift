import Foundation
import MetricsTestKit
import TestSupport
import Testing
@testable import ArchiveStore

/// The search index follows the durable records off the commit path, resumes from its
/// progress, catches up an archive that never had one, and is rebuilt when it claims more
/// than the archive holds (docs/ARCHITECTURE.md, "Search").
@Suite struct SearchIndexTests {
    static var searching: ArchiveStoreOptions {
        var options = ArchiveStoreOptions()
        options.searchIndex = true
        return options
    }

    /// Counts and arrival matches read straight from the database.
    struct Contents: Equatable {
        var docs: Int
        var arrivals: Int
        var distinctDocs: Int
    }

    static func contents(_ dir: String) throws -> Contents {
        let index = try SearchIndex.openReadOnly(path: ArchiveLayout(dataDirectory: dir).searchPath)
        let distinct = try index.connection.withStatement("SELECT count(DISTINCT sha256) FROM docs") { s in try s.step() ? Int(s.int(0)) : 0 }
        return Contents(docs: try index.count(.docs), arrivals: try index.count(.arrivals), distinctDocs: distinct)
    }

    /// The ids of the originals whose arrivals match `match` in `arrival_text`.
    static func arrivalMatches(_ dir: String, _ match: String) throws -> Set<String> {
        let index = try SearchIndex.openReadOnly(path: ArchiveLayout(dataDirectory: dir).searchPath)
        return try index.connection.withStatement("""
            SELECT DISTINCT d.id FROM arrival_text JOIN arrivals a ON a.rowid = arrival_text.rowid JOIN docs d ON d.docid = a.docid
            WHERE arrival_text MATCH ?
            """) { s in
            try s.bind([.text(match)])
            var ids: Set<String> = []
            while try s.step() { ids.insert(s.text(0) ?? "") }
            return ids
        }
    }

    @Test func everyDurableRecordBecomesSearchableOffTheCommitPath() async throws {
        try await withTempDirectory { dir in
            let metrics = TestMetrics()
            var options = Self.searching
            options.metricsFactory = metrics
            options.maxSegmentBytes = 64 << 10  // several segments, sealed while indexing follows
            let store = try await openStore(dir, options: options)
            let messages = Array(Corpus.messages.prefix(40))
            for (n, message) in messages.enumerated() { try await commit(store, message, n) }
            // A second arrival of an original: one doc, two arrivals.
            try await commit(store, messages[0], 100)
            #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
            #expect(store.searchLag == 0)
            let lag = try metrics.expectGauge("archive_search_index_lag_messages")
            #expect(lag.lastValue == 0)
            try await store.close()
            let distinct = Set(messages.map { $0 }).count
            #expect(try Self.contents(dir) == Contents(docs: distinct, arrivals: messages.count + 1, distinctDocs: distinct))
        }
    }

    @Test func aBccOfAJournalReportIsSearchableAsARecipientOfItsArrival() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir, options: Self.searching)
            let plain = try await store.commit(finished(ArrivalTests.original, envelope: ArrivalTests.plain(["bob@corp.example"], id: "A1")))
            _ = try await store.commit(ArrivalTests.report(ArrivalTests.original, bcc: "carol.secret@corp.example", id: "A2"))
            try await commit(store, Corpus.messages[1], 1)
            #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
            try await store.close()
            #expect(try Self.arrivalMatches(dir, "bcc : \"carol secret\"") == [plain.id])
            #expect(try Self.arrivalMatches(dir, "recipients : \"carol secret\"").isEmpty)
            #expect(try Self.arrivalMatches(dir, "recipients : \"bob\"") == [plain.id])
            #expect(try Self.contents(dir).arrivals == 3)
        }
    }

    @Test func anArchiveWithoutSearchIsIndexedAtTheFirstStartWithIt() async throws {
        try await withTempDirectory { dir in
            var plain = ArchiveStoreOptions()
            plain.maxSegmentBytes = 64 << 10
            let before = try await openStore(dir, options: plain)
            for n in 0..<30 { try await commit(before, Corpus.messages[n], n) }
            try await before.close()
            #expect(!FileManager.default.fileExists(atPath: ArchiveLayout(dataDirectory: dir).searchPath))

            var options = Self.searching
            options.maxSegmentBytes = 64 << 10
            let store = try await openStore(dir, options: options)
            for n in 30..<35 { try await commit(store, Corpus.messages[n], n) }
            #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
            try await store.close()
            let distinct = Set(Corpus.messages.prefix(35)).count
            #expect(try Self.contents(dir) == Contents(docs: distinct, arrivals: 35, distinctDocs: distinct))
        }
    }

    @Test func indexingResumesFromItsProgressAndAddsNothingTwice() async throws {
        try await withTempDirectory { dir in
            let first = try await openStore(dir, options: Self.searching)
            for n in 0..<10 { try await commit(first, Corpus.messages[n], n) }
            #expect(await first.waitForSearchIndex(timeout: TimeInterval(patience)))
            try await first.close()
            // Records the search index has not seen: written while it was off.
            let off = try await openStore(dir)
            for n in 10..<20 { try await commit(off, Corpus.messages[n], n) }
            try await off.close()
            let progress = try SearchIndex.openReadOnly(path: ArchiveLayout(dataDirectory: dir).searchPath).progress()

            let again = try await openStore(dir, options: Self.searching)
            #expect(await again.waitForSearchIndex(timeout: TimeInterval(patience)))
            try await again.close()
            let after = try SearchIndex.openReadOnly(path: ArchiveLayout(dataDirectory: dir).searchPath).progress()
            #expect(progress != nil && after != nil && (after!.segment, after!.offset) > (progress!.segment, progress!.offset))
            let distinct = Set(Corpus.messages.prefix(20)).count
            #expect(try Self.contents(dir) == Contents(docs: distinct, arrivals: 20, distinctDocs: distinct))
        }
    }

    @Test func anIndexAheadOfTheArchiveIsRebuilt() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir, options: Self.searching)
            for n in 0..<5 { try await commit(store, Corpus.messages[n], n) }
            #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
            try await store.close()
            // As after a power loss that took records the index had already taken in (or a
            // restore of an older archive): progress beyond the durable end.
            do {
                let index = try SearchIndex.openWritable(path: ArchiveLayout(dataDirectory: dir).searchPath)
                try index.connection.transaction {
                    try index.setProgress(IndexCheckpoint(segment: 99, offset: SegmentHeader.size))
                    try index.connection.execute("INSERT INTO docs(id, sha256, date, received_at, size, has_attachment) VALUES ('GHOST', 'ghost', 0, 0, 1, 0)")
                }
            }
            let reopened = try await openStore(dir, options: Self.searching)
            #expect(await reopened.waitForSearchIndex(timeout: TimeInterval(patience)))
            try await reopened.close()
            let distinct = Set(Corpus.messages.prefix(5)).count
            #expect(try Self.contents(dir) == Contents(docs: distinct, arrivals: 5, distinctDocs: distinct))
        }
    }

    @Test func aSearchFeedsWhatTheNodeHasNotIndexed() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir, options: Self.searching)
            try await commit(store, Corpus.messages[0], 0)
            #expect(await store.waitForSearchIndex(timeout: TimeInterval(patience)))
            try await store.close()
            let off = try await openStore(dir)
            for n in 1..<8 { try await commit(off, Corpus.messages[n], n) }
            // While the (non-searching) store still has the archive open.
            let search = try ArchiveSearch(dataDirectory: dir, logger: testLogger)
            #expect(search.unindexedArrivals == 0)
            try await off.close()
            let distinct = Set(Corpus.messages.prefix(8)).count
            #expect(try Self.contents(dir) == Contents(docs: distinct, arrivals: 8, distinctDocs: distinct))
        }
    }

    @Test func reindexRebuildsTheSearchIndex() async throws {
        try await withTempDirectory { dir in
            _ = try await rotatedArchive(dir)
            #expect(try ArchiveReader.reindex(dataDirectory: dir) == Set(Corpus.messages.prefix(20)).count)
            let distinct = Set(Corpus.messages.prefix(20)).count
            #expect(try Self.contents(dir) == Contents(docs: distinct, arrivals: 20, distinctDocs: distinct))
        }
    }

    /// The active segment grows past the size the feeder last read of it (the writer
    /// preallocates ahead in steps): a record that runs past that old size is the file
    /// having grown, not damage, and everything after it is indexed too.
    @Test func aSegmentThatGrewSinceTheFeederLookedIsReadToItsNewEnd() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            let layout = ArchiveLayout(dataDirectory: dir)
            let feeder = SearchFeeder(index: try SearchIndex.openWritable(path: layout.searchPath), archiveDirectory: layout.archiveDirectory,
                                      logger: testLogger)
            // Incompressible bodies, so the records outgrow the first preallocated megabyte.
            for n in 0..<3 { try await commit(store, Array("Subject: first \(n)\r\n\r\n".utf8) + randomBytes(100_000, seed: UInt64(n)), n) }
            while !(try feeder.step(until: nil).caughtUp) {}
            for n in 3..<30 { try await commit(store, Array("Subject: later \(n)\r\n\r\n".utf8) + randomBytes(100_000, seed: UInt64(n)), n) }
            while !(try feeder.step(until: nil).caughtUp) {}
            #expect(try feeder.index.count(.docs) == 30)
            try await store.close()
        }
    }

    /// A batch asked to stop commits the records it has done and nothing more, and the
    /// next batch goes on from there: a node's shutdown waits for one record, not a batch.
    @Test func aStoppedBatchKeepsWhatItDidAndTheNextGoesOn() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            for n in 0..<5 { try await commit(store, Corpus.messages[n], n) }
            let layout = ArchiveLayout(dataDirectory: dir)
            let feeder = SearchFeeder(index: try SearchIndex.openWritable(path: layout.searchPath), archiveDirectory: layout.archiveDirectory,
                                      logger: testLogger)
            var asked = 0
            let first = try feeder.step(until: nil, stop: { asked += 1; return asked > 2 })
            #expect(first == SearchFeeder.Batch(records: 2, caughtUp: false))
            #expect(try feeder.index.count(.docs) == 2)
            while !(try feeder.step(until: nil).caughtUp) {}
            #expect(try feeder.index.count(.docs) == Set(Corpus.messages.prefix(5)).count)
            #expect(try feeder.index.count(.arrivals) == 5)
            try await store.close()
        }
    }
}
