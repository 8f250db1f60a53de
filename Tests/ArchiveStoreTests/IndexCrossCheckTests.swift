import Foundation
import MetricsTestKit
import TestSupport
import Testing
@testable import ArchiveStore

/// The index is derived, but `list`, `digest` and dedupe believe it: `verify` must name
/// every row that disagrees with the segments, and a running store must report an index
/// it cannot use (issue 22, finding 12).
@Suite struct IndexCrossCheckTests {
    private func editIndex(_ dir: String, _ sql: String) throws {
        try SQLiteConnection(path: ArchiveLayout(dataDirectory: dir).indexPath, readOnly: false).execute(sql)
    }

    enum Damage: String, CaseIterable {
        case deletedRow, editedArrivalSender, editedDigest, editedTime, movedRow, forgedRow, deletedAddressRow
    }

    /// The SQL that does `damage` to the rows of `r`, and the faults verify must report.
    private func apply(_ damage: Damage, to r: ArchiveReceipt) -> (sql: String, faults: [ArchiveFault]) {
        let at = { (offset: Int, reason: String) in ArchiveFault(segment: SegmentName.file(r.segment), offset: offset, reason: reason) }
        let arrivalAt = { (reason: String) in
            ArchiveFault(segment: SegmentName.file(r.arrivalPosition.segment), offset: r.arrivalPosition.offset, reason: reason)
        }
        let row = "WHERE id = '\(r.id)'"
        switch damage {
        case .deletedRow:
            return ("DELETE FROM messages \(row)", [at(r.offset, "index: no row for message \(r.id) (sha256 \(r.sha256))")])
        case .editedArrivalSender:
            return ("UPDATE arrivals SET sender = 'someone@else.example' WHERE id = '\(r.arrivalID)'",
                    [arrivalAt("index: row of arrival \(r.arrivalID) differs from the record in sender")])
        case .editedDigest:
            let forged = String(repeating: "0", count: 64)
            return ("UPDATE messages SET sha256 = '\(forged)' \(row)",
                    [at(r.offset, "index: row of message \(r.id) differs from the record in sha256")])
        case .editedTime:
            return ("UPDATE messages SET received_at = received_at + 86400000, size = size + 1 \(row)",
                    [at(r.offset, "index: row of message \(r.id) differs from the record in received_at, size")])
        case .movedRow:
            return ("UPDATE messages SET offset = offset + 8 \(row)",
                    [at(r.offset, "index: no row for message \(r.id) (sha256 \(r.sha256))"),
                     at(r.offset + 8, "index: row of message \(r.id) (sha256 \(r.sha256)) has no valid record here")])
        case .forgedRow:
            let forged = String(repeating: "ab", count: 32)
            return ("""
                INSERT INTO messages(\(ArchiveIndex.columns))
                SELECT 'FORGED', '\(forged)', NULL, received_at, subject, size, stored_size, segment, offset + 16
                FROM messages \(row)
                """, [at(r.offset + 16, "index: row of message FORGED (sha256 \(forged)) has no valid record here")])
        case .deletedAddressRow:
            // The first recipient of the arrival (envelope(7): r7@example.test).
            return ("DELETE FROM addresses WHERE rowid = (SELECT min(rowid) FROM addresses WHERE message = '\(r.sha256)' AND role = 1)",
                    [arrivalAt("index: address r7@example.test of arrival \(r.arrivalID) is missing")])
        }
    }

    @Test(arguments: Damage.allCases)
    func verifyNamesEveryIndexRowThatDisagreesAndReindexRepairs(_ damage: Damage) async throws {
        try await withTempDirectory { dir in
            let receipts = try await rotatedArchive(dir)
            #expect(try ArchiveReader(dataDirectory: dir).verify().isClean)
            let target = receipts[7]
            let (sql, expected) = apply(damage, to: target)
            try editIndex(dir, sql)
            let report = try ArchiveReader(dataDirectory: dir).verify()
            #expect(report.faults.isEmpty, "\(report.faults)")
            #expect(report.indexFaults == expected)
            #expect(!report.isClean)
            #expect(try ArchiveReader.reindex(dataDirectory: dir) == receipts.count)
            let repaired = try ArchiveReader(dataDirectory: dir)
            #expect(try repaired.verify().isClean)
            #expect(try repaired.lookup(target.id).sha256 == target.sha256)
        }
    }

    /// A running node indexes in batches: records after the checkpoint are not faults, and
    /// a second copy stored while dedupe was off is not one either (its digest's row is
    /// the first copy's).
    @Test func anIndexThatIsBehindOrSkipsLaterCopiesIsSound() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            for n in 0..<3 { try await commit(store, Corpus.messages[n], n) }
            #expect(try ArchiveReader(dataDirectory: dir).verify().isClean)
            try await store.close()
            let again = try await openStore(dir)
            try editIndex(dir, "DROP TABLE messages")  // lookups fail: dedupe is off
            let copy = try await commit(again, Corpus.messages[0], 0)
            #expect(!copy.isDuplicate)
            try await again.close()
            let rebuilt = try await openStore(dir)
            #expect(rebuilt.recoveryReport.indexRebuilt)
            try await rebuilt.close()
            let report = try ArchiveReader(dataDirectory: dir).verify()
            #expect(report.isClean, "\(report.faults + report.indexFaults)")
            #expect(report.notes.contains { $0.contains("1 records are second copies") }, "\(report.notes)")
        }
    }

    /// An index unusable under a running store (here its table of messages is gone) makes
    /// every lookup fail: messages are still archived, and the store reports the fault for
    /// `/readyz` and counts it until a restart repairs the index.
    @Test func aFailedLookupIsAFaultUntilARestart() async throws {
        try await withTempDirectory { dir in
            let metrics = TestMetrics()
            var options = ArchiveStoreOptions()
            options.metricsFactory = metrics
            let store = try await openStore(dir, options: options)
            try await commit(store, Corpus.messages[0], 0)
            #expect(store.indexFault() == nil)
            try editIndex(dir, "DROP TABLE messages")
            for n in 1...3 { #expect(try await commit(store, Corpus.messages[n], n).isDuplicate == false) }
            let fault = try #require(store.indexFault())
            #expect(fault.contains("index lookup failed"), "\(fault)")
            // One per failed lookup (a failed insert, retried every 2 s, may add one).
            #expect(try metrics.expectCounter("archive_index_faults_total").totalValue >= 3)
            try await store.close()

            // Open audits the index and builds it again from the segments.
            let reopened = try await openStore(dir)
            #expect(reopened.indexFault() == nil)
            #expect(try await commit(reopened, Corpus.messages[1], 1).isDuplicate)
            try await reopened.close()
            #expect(try ArchiveReader(dataDirectory: dir).verify().isClean)
        }
    }

    /// A failed insert (here the addresses table is gone) is retried with its entries: the
    /// fault shows until a retry succeeds, and then nothing is missing from the index.
    @Test func aFailedUpdateIsAFaultUntilARetrySucceeds() async throws {
        try await withTempDirectory { dir in
            var options = ArchiveStoreOptions()
            options.freeSpaceRecheckInterval = 0.05  // the idle tick that flushes the index
            let store = try await openStore(dir, options: options)
            try editIndex(dir, "DROP TABLE addresses")
            let receipt = try await commit(store, Corpus.messages[0], 0)
            let failed = try await eventually { store.indexFault() != nil }
            #expect(failed, "the failed insert was not reported")
            #expect(store.indexFault()?.contains("index update failed") == true)
            try editIndex(dir, "CREATE TABLE addresses(message TEXT NOT NULL, role INTEGER NOT NULL, address TEXT NOT NULL COLLATE NOCASE, UNIQUE(message, role, address))")
            let recovered = try await eventually { store.indexFault() == nil }
            #expect(recovered, "the fault stayed after the retry could succeed")
            try await store.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            #expect(try reader.verify().isClean)
            #expect(try reader.list(ArchiveFilter(recipient: "r0@example.test")).map(\.id) == [receipt.id])
        }
    }
}
