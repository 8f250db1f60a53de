import Foundation
import Logging
import TestSupport
import Testing
@testable import ArchiveStore

/// The index thread: entries stay visible to dedupe from hand-over until their insert has
/// committed, and close inserts what is queued and closes the database before returning.
@Suite struct IndexWriterTests {
    private func entry(_ n: Int) -> ArchiveIndexEntry {
        ArchiveIndexEntry(id: "id-\(n)", sha256: String(repeating: String(n % 10), count: 64), messageID: "<\(n)@test>",
                          receivedAt: Date(timeIntervalSince1970: 1_700_000_000 + Double(n)), subject: "n \(n)", size: 100, storedSize: 80,
                          segment: 1, offset: 64 + 80 * n)
    }

    @Test func entriesArePendingUntilCommittedThenInTheIndex() async throws {
        try await withTempDirectory { dir in
            let path = dir + "/index.sqlite"
            let writer = IndexWriter(index: try ArchiveIndex.openWritable(path: path), logger: Logger(label: "test"))
            let lookup = try ArchiveIndex.openLookup(path: path)
            let entries = (0..<3).map(entry)
            writer.add(IndexRows(originals: entries), checkpoint: IndexCheckpoint(segment: 1, offset: 304))
            // Dedupe sees each entry at every moment: pending, or committed, or both.
            for e in entries {
                let pending = writer.pendingEntry(sha256: e.sha256)
                let indexed = try lookup.entry(sha256: e.sha256)
                #expect((pending ?? indexed) == e)
            }
            writer.flushSoon()
            #expect(try await eventually { entries.allSatisfy { writer.pendingEntry(sha256: $0.sha256) == nil } })
            for e in entries { #expect(try lookup.entry(sha256: e.sha256) == e) }
            #expect(try lookup.checkpoint() == IndexCheckpoint(segment: 1, offset: 304))
            writer.close()
        }
    }

    @Test func closeInsertsWhatIsQueuedAndClosesTheDatabase() async throws {
        try await withTempDirectory { dir in
            let path = dir + "/index.sqlite"
            let writer = IndexWriter(index: try ArchiveIndex.openWritable(path: path), logger: Logger(label: "test"))
            writer.add(IndexRows(originals: [entry(7)]), checkpoint: IndexCheckpoint(segment: 1, offset: 700))
            writer.close()
            let openFiles = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)
            }
            #expect(!openFiles.contains { $0.hasPrefix(path) })
            let index = try ArchiveIndex.openReadOnly(path: path)
            #expect(try index.entry(sha256: entry(7).sha256) == entry(7))
            #expect(try index.checkpoint() == IndexCheckpoint(segment: 1, offset: 700))
            writer.close()  // a second close returns at once
        }
    }

    /// Without an index (it could not be created) entries stay pending: dedupe still
    /// covers the run.
    @Test func withoutAnIndexEntriesStayPending() {
        let writer = IndexWriter(index: nil, logger: Logger(label: "test"))
        writer.add(IndexRows(originals: [entry(1)]), checkpoint: IndexCheckpoint(segment: 1, offset: 144))
        writer.flushSoon()
        #expect(writer.pendingEntry(sha256: entry(1).sha256) == entry(1))
        writer.close()
    }
}
