import Crypto
import Foundation
import JournalReport
import MetricsTestKit
import TestSupport
import Testing
@testable import ArchiveStore

/// Originals are stored once, arrivals always (docs/FORMAT.md, "Arrival record"): a second
/// delivery of the same bytes keeps its recipients, a journal report's envelope and bytes
/// as received are kept around the original it wraps, and a retry is one arrival.
@Suite struct ArrivalTests {
    static let original = Array("From: alice@corp.example\r\nTo: bob@corp.example\r\nSubject: plans\r\nMessage-ID: <p1@corp.example>\r\n\r\nThe merger is on.\r\n".utf8)

    static func plain(_ recipients: [String], id: String, at seconds: Double = 0) -> ArchiveEnvelope {
        ArchiveEnvelope(receivedAt: Date(timeIntervalSince1970: 1_765_000_000 + seconds), listener: "journal", clientAddress: "192.0.2.1",
                        helo: "mx.corp.example", tls: nil, sender: "alice@corp.example", recipients: recipients, suggestedID: id,
                        node: "node-a")
    }

    /// A journal report of `original` naming `bcc` as a Bcc recipient, with its envelope.
    static func report(_ original: [UInt8], bcc: String, id: String) throws -> FinishedMessage {
        let head = Array("X-MS-Journal-Report:\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSender: alice@corp.example\r\nBcc: \(bcc)\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n".utf8)
        let tail = Array("\r\n--b--\r\n".utf8)
        let received = head + original + tail
        let envelope = ArchiveEnvelope(receivedAt: Date(timeIntervalSince1970: 1_765_000_100), listener: "journal", clientAddress: "192.0.2.9",
                                       helo: "exchange.corp.example", tls: "TLSv1.3", sender: "journaling@corp.example",
                                       recipients: ["journal@archive.example"], suggestedID: id, node: "node-a")
        var draft = try MessageDraft(envelope: envelope)
        try draft.append(bytes: original)
        let form = ReceivedForm(size: UInt64(received.count), sha256: Array(SHA256.hash(data: received)),
                                report: ReportEnvelope(format: .exchange2007, sender: "alice@corp.example",
                                                       recipients: [.init(address: bcc, kind: .bcc)]),
                                wrapper: WrapperRecipe(head: head, encoding: .identity, tail: tail))
        return try draft.finish(received: form)
    }

    @Test func everyArrivalIsKeptAndARetryIsOne() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            var first = try MessageDraft(envelope: Self.plain(["bob@corp.example"], id: "A1"))
            try first.append(bytes: Self.original)
            let one = try await store.commit(first.finish())
            var second = try MessageDraft(envelope: Self.plain(["carol@corp.example"], id: "A2", at: 60))
            try second.append(bytes: Self.original)
            let two = try await store.commit(second.finish())
            // The same transaction again an hour later (its 250 was lost): the same arrival.
            var retry = try MessageDraft(envelope: Self.plain(["carol@corp.example"], id: "A3", at: 3660))
            try retry.append(bytes: Self.original)
            let three = try await store.commit(retry.finish())
            let fourth = try await store.commit(try Self.report(Self.original, bcc: "dave@corp.example", id: "A4"))
            try await store.close()

            #expect(!one.isDuplicate && one.arrivalRecorded)
            #expect(two.isDuplicate && two.arrivalRecorded && two.id == one.id && two.arrivalID == "A2")
            #expect(!three.arrivalRecorded && three.arrivalID == "A2" && three.arrivalPosition == two.arrivalPosition)
            #expect(fourth.isDuplicate && fourth.arrivalRecorded)

            for rebuild in [false, true] {
                if rebuild { #expect(try ArchiveReader.reindex(dataDirectory: dir) == 1) }
                let reader = try ArchiveReader(dataDirectory: dir)
                let all = try reader.list()
                #expect(all.count == 1)
                let entry = try #require(all.first)
                #expect(entry.arrivals == 3 && entry.journal)
                #expect(Set(entry.recipients) == ["bob@corp.example", "carol@corp.example", "journal@archive.example", "dave@corp.example"])
                #expect(try reader.list(ArchiveFilter(recipient: "DAVE@corp.example")).map(\.id) == [one.id])
                #expect(try reader.list(ArchiveFilter(sender: "alice@corp.example")).count == 1)
                // The journaling address is the report's MAIL FROM, not a sender of the message.
                #expect(try reader.list(ArchiveFilter(sender: "journaling@corp.example")).isEmpty)
                #expect(try reader.original(entry) == Self.original)
                let arrivals = try reader.arrivals(of: entry)
                #expect(arrivals.map(\.id) == ["A1", "A2", "A4"])
                #expect(arrivals[2].report?.recipients.first?.kind == .bcc)
                let report = try #require(try reader.arrival(id: "A4"))
                let asReceived = try reader.asReceived(report)
                #expect(asReceived.count > Self.original.count)
                #expect(Array(SHA256.hash(data: asReceived)) == arrivals[2].receivedSHA256)
                #expect(try reader.asReceived(#require(try reader.arrival(id: "A1"))) == Self.original)
                #expect(try reader.lookup("A4").id == one.id)
                let verify = try reader.verify()
                #expect(verify.isClean, "\(verify.faults + verify.indexFaults)")
                #expect(try reader.digest().reduce(0) { $0 + $1.messages } == 3)
            }
        }
    }

    /// `archive_bytes_stored_total` counts each record written once: the original's record
    /// (which holds its first arrival) and a later arrival's record of its own.
    @Test func storedBytesCountEachRecordOnce() async throws {
        try await withTempDirectory { dir in
            let metrics = TestMetrics()
            var options = ArchiveStoreOptions()
            options.metricsFactory = metrics
            let store = try await openStore(dir, options: options)
            var first = try MessageDraft(envelope: Self.plain(["bob@corp.example"], id: "B1"))
            try first.append(bytes: Self.original)
            try await store.commit(first.finish())
            var second = try MessageDraft(envelope: Self.plain(["carol@corp.example"], id: "B2", at: 60))
            try second.append(bytes: Self.original)
            try await store.commit(second.finish())
            try await store.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            let entry = try #require(try reader.list().first)
            let later = try #require(try reader.arrival(id: "B2"))
            #expect(try metrics.expectCounter("archive_bytes_stored_total").totalValue == Int64(entry.storedSize + later.storedSize))
        }
    }

    /// Ten reports of one 100 KB original cost at most 1.3 times the original stored once
    /// (issue 24): the original is deduplicated, each report adds its wrapper and envelope
    /// (under 1 KB beyond the first). The original is what such mail mostly is: a short
    /// text and an attachment (70 KB of base64 of incompressible bytes).
    @Test func tenReportsOfOneOriginalStoreItOnce() async throws {
        try await withTempDirectory { dir in
            var body = "From: alice@corp.example\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
                + "Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\n"
            var n = 0
            while body.utf8.count < 30_000 {
                body += "Line \(n) of a long memo, \(n * 7919 % 104_729) and more text.\r\n"
                n += 1
            }
            body += "--m\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            let attachment = Data(randomBytes(52_000, seed: 24)).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            body += attachment + "\r\n--m--\r\n"
            let original = Array(body.utf8)
            let store = try await openStore(dir)
            var receipts: [ArchiveReceipt] = []
            for i in 0..<10 { receipts.append(try await store.commit(try Self.report(original, bcc: "r\(i)@corp.example", id: "R\(i)"))) }
            try await store.close()
            let reader = try ArchiveReader(dataDirectory: dir)
            let entry = try #require(try reader.list().first)
            #expect(entry.arrivals == 10)
            let arrivals = try (0..<10).map { try #require(try reader.arrival(id: "R\($0)")) }
            // The first arrival is in the original's record; the others have their own.
            let total = entry.storedSize + arrivals.filter { $0.position != entry.position }.reduce(0) { $0 + $1.storedSize }
            #expect(arrivals.filter { $0.position == entry.position }.count == 1)
            #expect(Double(total) <= 1.3 * Double(entry.storedSize), "stored \(total) bytes against \(entry.storedSize) for the original")
            for arrival in arrivals where arrival.position != entry.position { #expect(arrival.storedSize < 1024, "\(arrival.storedSize)") }
        }
    }
}

/// An archive written before arrivals had records of their own (message records of
/// version 3, each holding its one arrival) opens, lists, verifies and takes new arrivals
/// of its originals.
@Suite struct OldArchiveTests {
    @Test func versionThreeRecordsAreReadAndTakeNewArrivals() async throws {
        try await withTempDirectory { dir in
            let archive = dir + "/archive"
            try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
            let writer = try SegmentWriter.create(directory: archive, sequence: 1, previousSealHash: [UInt8](repeating: 0, count: 32),
                                                  now: Date(), key: nil, faults: nil)
            var originals: [[UInt8]] = []
            for n in 0..<3 {
                let bytes = Corpus.synthetic(n, bodyLines: 30)
                originals.append(bytes)
                let message = try finished(bytes, envelope: envelope(n))
                var record = try RecordCodec.decode(message.encodedRecord[...])
                record.arrival = message.arrival  // the layout of versions 1 to 3
                let legacy = try RecordCodec.encode(record, version: 3)
                #expect(legacy[4] == 3)
                _ = try writer.append(legacy)
            }
            try writer.sync(extending: false)
            writer.close()

            let store = try await openStore(dir)
            #expect(store.recoveryReport.recordsIndexed == 3)
            // A second delivery of the first original, to someone else: a new arrival of it.
            var again = envelope(0)
            again.recipients = ["late@example.test"]
            let receipt = try await store.commit(finished(originals[0], envelope: again))
            try await store.close()
            #expect(receipt.isDuplicate && receipt.arrivalRecorded)

            let reader = try ArchiveReader(dataDirectory: dir)
            let listed = try reader.list()
            #expect(listed.count == 3)
            #expect(listed.map(\.arrivals).sorted() == [1, 1, 2])
            #expect(try reader.list(ArchiveFilter(recipient: "r1@example.test")).count == 1)
            #expect(try reader.list(ArchiveFilter(recipient: "late@example.test")).map(\.sha256) == [receipt.sha256])
            for (entry, bytes) in zip(listed.sorted { $0.receivedAt < $1.receivedAt }, originals) {
                #expect(try reader.original(entry) == bytes)
            }
            let late = try #require(try reader.arrival(id: receipt.arrivalID))
            #expect(try reader.asReceived(late) == originals[0])
            let verify = try reader.verify()
            #expect(verify.isClean, "\(verify.faults + verify.indexFaults)")
            #expect(try reader.digest().reduce(0) { $0 + $1.messages } == 4)
        }
    }
}
