import DurableFiles
import Foundation
import TestSupport
import Testing
import ArchiveStore
@testable import ForwardQueue

@Suite struct JournalTests {
    static let records: [JournalRecord] = [
        .sequence(nextID: 42),
        .enqueue(entry(7)),
        .enqueue(QueueEntry(id: 8, item: QueueItem(connection: "peer-ü", reference: .spool("ABC-1.rec"), size: 0,
                                                   sender: "", recipients: [], prefix: []), enqueuedAt: Date(timeIntervalSince1970: 0))),
        .delivered(id: 7),
        .held(id: 8, reason: "550 5.1.1 no such user"),
        .released(id: 8),
        .deleted(id: UInt64.max),
    ]

    @Test(arguments: records)
    func frameRoundTrips(_ record: JournalRecord) {
        let bytes = JournalFrame.encode(record)
        #expect(bytes.count % 8 == 0)
        #expect(JournalFrame.decode(bytes[...]) == .valid(record, length: bytes.count))
    }

    /// A frame of a kind this version does not know, with correct checksums (found by
    /// FuzzQueueJournal: such a frame at the end was cut off as a torn tail).
    static func unknownKindFrame(_ kind: UInt16) -> [UInt8] {
        var frame = JournalFrame.encode(.delivered(id: 99))
        frame[6] = UInt8(kind & 0xFF)
        frame[7] = UInt8(kind >> 8)
        func put(_ value: UInt32, at offset: Int) { for i in 0..<4 { frame[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) } }
        put(CRC32C.checksum(frame[0..<12]), at: 12)
        put(CRC32C.checksum(frame[0..<(frame.count - 8)]), at: frame.count - 8)
        return frame
    }

    @Test(arguments: [true, false])
    func aReadableFrameOfUnknownKindIsAFaultNotATornTail(atTheEnd: Bool) {
        let before = JournalFrame.encode(.enqueue(entry(1)))
        let after = atTheEnd ? [] : JournalFrame.encode(.enqueue(entry(2)))
        let (entries, report) = ForwardQueue.replayJournal(before + Self.unknownKindFrame(77) + after)
        #expect(report.truncatedAt == nil)
        #expect(report.faults.count == 1 && report.faults[0].contains("unknown record kind 77"), "\(report.faults)")
        #expect(entries.map(\.id) == (atTheEnd ? [1] : [1, 2]))
    }

    @Test func everyTruncationOfTheTailIsCutAndAppendingResumes() throws {
        let records: [JournalRecord] = [.enqueue(entry(1)), .enqueue(entry(2)), .held(id: 1, reason: "x"), .enqueue(entry(3))]
        let whole = records.flatMap { JournalFrame.encode($0) }
        let lastStart = whole.count - JournalFrame.encode(records[3]).count
        for cut in lastStart..<whole.count {
            let dir = try makeTempDirectory()
            defer { removeTempDirectory(dir) }
            let layout = QueueLayout(dataDirectory: dir)
            try writeJournal(layout, [])
            try writeFile(layout.journalPath, Array(whole[..<cut]))
            let (journal, report) = try QueueJournal.open(layout: layout, compactionThreshold: 1 << 30)
            #expect(journal.image.orderedEntries.map(\.id) == [1, 2], "cut at \(cut)")
            #expect(journal.image.entries[1]?.isHeld == true)
            if cut == lastStart {
                #expect(report.truncatedAt == nil)
            } else {
                #expect(report.truncatedAt == lastStart, "cut at \(cut)")
                #expect(report.bytesRemoved == cut - lastStart)
                #expect(readFile(report.brokenFile ?? "") == Array(whole[lastStart..<cut]))
            }
            #expect(readFile(layout.journalPath).count == lastStart)
            _ = try journal.commit([.enqueue(entry(4))])
            journal.close()
            let (image, again, _) = try QueueJournal.replay(layout: layout, repair: false)
            #expect(image.orderedEntries.map(\.id) == [1, 2, 4])
            #expect(again.truncatedAt == nil && again.faults.isEmpty)
        }
    }

    @Test func aFlippedByteInTheMiddleIsReportedNotTruncated() throws {
        try withTempLayout { layout in
            let offsets = try writeJournal(layout, [.enqueue(entry(1)), .enqueue(entry(2)), .enqueue(entry(3))])
            var bytes = readFile(layout.journalPath)
            bytes[offsets[1] + 30] ^= 0x40
            try writeFile(layout.journalPath, bytes)
            let (journal, report) = try QueueJournal.open(layout: layout, compactionThreshold: 1 << 30)
            #expect(journal.image.orderedEntries.map(\.id) == [1, 3])
            #expect(report.faults.count == 1)
            #expect(report.faults.first?.contains("offset \(offsets[1])") == true)
            #expect(report.truncatedAt == nil)
            #expect(readFile(layout.journalPath).count == bytes.count)
        }
    }

    @Test func aFlippedByteInTheLastFrameIsATornTail() throws {
        try withTempLayout { layout in
            let offsets = try writeJournal(layout, [.enqueue(entry(1)), .enqueue(entry(2))])
            var bytes = readFile(layout.journalPath)
            bytes[bytes.count - 9] ^= 0x01
            try writeFile(layout.journalPath, bytes)
            let (journal, report) = try QueueJournal.open(layout: layout, compactionThreshold: 1 << 30)
            #expect(journal.image.orderedEntries.map(\.id) == [1])
            #expect(report.truncatedAt == offsets[1])
            #expect(report.faults.isEmpty)
        }
    }

    @Test func compactionKeepsLiveEntriesHeldStateAndTheSequence() throws {
        try withTempLayout { layout in
            try writeJournal(layout, [])
            let (journal, _) = try QueueJournal.open(layout: layout, compactionThreshold: 4096)
            for id in 1...200 as ClosedRange<UInt64> { _ = try journal.commit([.enqueue(entry(id))]) }
            for id in 1...190 as ClosedRange<UInt64> { _ = try journal.commit([.delivered(id: id)]) }
            _ = try journal.commit([.held(id: 195, reason: "operator")])
            #expect(journal.isMostlyDead)
            let before = journal.size
            try journal.compact()
            #expect(journal.size < before / 4)
            _ = try journal.commit([.enqueue(entry(201))])
            journal.close()
            let (image, report, _) = try QueueJournal.replay(layout: layout, repair: false)
            #expect(image.orderedEntries.map(\.id) == Array(191...201))
            #expect(image.entries[195]?.isHeld == true && image.entries[195]?.lastError == "operator")
            #expect(image.nextID == 202)
            #expect(report.faults.isEmpty)
        }
    }

    @Test func spoolFilesGoWhenTheirLastEntryGoes() throws {
        try withTempLayout { layout in
            try writeJournal(layout, [])
            let (journal, _) = try QueueJournal.open(layout: layout, compactionThreshold: 1 << 30)
            try writeFile(layout.spoolPath("m1.rec"), [1, 2, 3])
            var a = entry(1), b = entry(2, connection: "peer-b")
            a.item.reference = .spool("m1.rec")
            b.item.reference = .spool("m1.rec")
            _ = try journal.commit([.enqueue(a), .enqueue(b)])
            #expect(try journal.commit([.delivered(id: 1)]).isEmpty)
            #expect(FileManager.default.fileExists(atPath: layout.spoolPath("m1.rec")))
            #expect(try journal.commit([.deleted(id: 2)]) == ["m1.rec"])
            #expect(!FileManager.default.fileExists(atPath: layout.spoolPath("m1.rec")))
        }
    }

    /// Deliveries are written without a sync of their own: they count (in the image, and
    /// for deleting spool files) only once a later sync covers them, and a rewrite after a
    /// failure keeps the entry they would have removed (it is delivered again).
    @Test func unsyncedDeliveriesCountOnlyOnceSynced() throws {
        try withTempLayout { layout in
            try writeJournal(layout, [])
            let (journal, _) = try QueueJournal.open(layout: layout, compactionThreshold: 1 << 30)
            try writeFile(layout.spoolPath("m1.rec"), [1, 2, 3])
            try writeFile(layout.spoolPath("m2.rec"), [4, 5, 6])
            var a = entry(1), b = entry(2)
            a.item.reference = .spool("m1.rec")
            b.item.reference = .spool("m2.rec")
            try journal.commit([.enqueue(a), .enqueue(b)])
            #expect(!journal.needsSync)

            #expect(try journal.commit([.delivered(id: 1)], sync: false).isEmpty)
            #expect(journal.needsSync)
            #expect(journal.image.entries[1] != nil)
            #expect(FileManager.default.fileExists(atPath: layout.spoolPath("m1.rec")))
            #expect(try journal.sync() == ["m1.rec"])
            #expect(!journal.needsSync && journal.image.entries[1] == nil)
            #expect(!FileManager.default.fileExists(atPath: layout.spoolPath("m1.rec")))

            // Not synced, then the file is rewritten (as after a failed write): entry 2 stays.
            try journal.commit([.delivered(id: 2)], sync: false)
            try journal.compact()
            #expect(!journal.needsSync)
            journal.close()
            let (image, _, _) = try QueueJournal.replay(layout: layout, repair: false)
            #expect(image.orderedEntries.map(\.id) == [2])
            #expect(FileManager.default.fileExists(atPath: layout.spoolPath("m2.rec")))
        }
    }

    /// A rewrite after a failure keeps what was written without a sync and is owed anyway
    /// (entries, which may stand for promises in the archive, and `archivedThrough`, which
    /// would otherwise move back), and drops unsynced removals (delivered again). Then
    /// `archivedThrough` survives compaction.
    @Test func compactionKeepsUnsyncedEntriesAndArchivedThrough() throws {
        try withTempLayout { layout in
            try writeJournal(layout, [])
            let (journal, _) = try QueueJournal.open(layout: layout, compactionThreshold: 1 << 30)
            let through = ArchivePosition(segment: 3, offset: 4096)
            try journal.commit([.enqueue(entry(1)), .archivedThrough(ArchivePosition(segment: 3, offset: 72))])
            try journal.commit([.enqueue(entry(2)), .archivedThrough(through), .delivered(id: 1)], sync: false)
            try journal.compact()
            #expect(!journal.needsSync)
            journal.close()
            let (image, _, _) = try QueueJournal.replay(layout: layout, repair: false)
            #expect(image.orderedEntries.map(\.id) == [1, 2])
            #expect(image.archivedThrough == through)
            #expect(image.compactedRecords.last == .archivedThrough(through))
        }
    }

    /// A delivery written without a sync is in the file at once (replay after a restart
    /// without a crash sees it; only a crash before the next sync can lose it).
    @Test func deliveriesWrittenWithoutASyncAreInTheFile() throws {
        try withTempLayout { layout in
            try writeJournal(layout, [])
            let (journal, _) = try QueueJournal.open(layout: layout, compactionThreshold: 1 << 30)
            try journal.commit([.enqueue(entry(1)), .enqueue(entry(2))])
            try journal.commit([.delivered(id: 1)], sync: false)
            journal.close()
            let (image, _, _) = try QueueJournal.replay(layout: layout, repair: false)
            #expect(image.orderedEntries.map(\.id) == [2])
        }
    }

    @Test func garbageNeverTraps() {
        var bytes = JournalFrame.encode(.enqueue(entry(1)))
        for i in 0..<bytes.count {
            let saved = bytes[i]
            bytes[i] = saved ^ 0xFF
            if case .valid = JournalFrame.decode(bytes[...]) { Issue.record("flipped byte \(i) still decodes") }
            bytes[i] = saved
        }
        #expect(JournalFrame.decode([UInt8](repeating: 0, count: 5)[...]) == .incomplete("5 bytes, short of a frame header"))
    }
}

func withTempLayout(_ body: (QueueLayout) throws -> Void) throws {
    let dir = try makeTempDirectory()
    defer { removeTempDirectory(dir) }
    try body(QueueLayout(dataDirectory: dir))
}
