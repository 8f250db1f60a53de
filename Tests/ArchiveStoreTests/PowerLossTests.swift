import Foundation
import TestPowerLoss
import TestSupport
import Testing
@testable import ArchiveStore

/// The invariant under power loss (issue 22, finding 14): a SIGKILL keeps the page cache,
/// so only a disk that forgets every unsynced write (`PowerLossDisk`) shows a missing
/// sync. Each row commits messages, cuts the power at the acknowledgment of a batch
/// (before its replies could go out), reopens on what the disk holds, commits again and
/// cuts again, and then every acknowledged message must be there byte for byte, with
/// recovery and verify clean.
@Suite struct PowerLossTests {
    enum CutPoint: String, CaseIterable, CustomTestStringConvertible, Sendable {
        /// Right after the directory sync that made the first segment's name durable, in
        /// the first open (before any message).
        case freshArchive
        /// At a group commit of several messages at once.
        case batch
        /// At the first record of a segment that a rotation created: the seal of the old
        /// one and the new file with its directory entry.
        case segmentRoll
        /// After the index caught up with a checkpoint, which the reopened store trusts
        /// and scans on from.
        case indexCheckpoint
        /// After a failed sync, which seals the segment by a sidecar and opens a new one.
        case sidecarSeal

        var testDescription: String { rawValue }
    }

    /// A message whose commit returned (a 250 would have gone out), with its original.
    struct Acknowledged {
        var receipt: ArchiveReceipt
        var original: [UInt8]
    }

    /// A disk and a store on it whose power can be cut at an acknowledgment.
    struct Life {
        let disk: PowerLossDisk
        let store: ArchiveStore
        let trigger: PowerCutAtAcknowledgment

        init(_ directory: String, maxSegmentBytes: Int, cutAfterSyncOf path: String? = nil) async throws {
            disk = try PowerLossDisk(root: directory)
            if let path { disk.cut(afterSyncOf: path) }
            var options = ArchiveStoreOptions()
            options.faultInjector = disk
            options.maxSegmentBytes = maxSegmentBytes
            store = try await openStore(directory, options: options)
            trigger = PowerCutAtAcknowledgment(disk: disk)
            store.observeCommits(trigger)
        }
    }

    /// Small segments for the rotation row: a few messages each.
    static let smallSegment = 4096

    @Test(arguments: CutPoint.allCases)
    func everyAcknowledgedMessageSurvivesPowerCuts(_ cut: CutPoint) async throws {
        try await withTempDirectory { base in
            let first = base + "/1", second = base + "/2", third = base + "/3"
            try FileManager.default.createDirectory(atPath: first, withIntermediateDirectories: false)
            let maxSegmentBytes = cut == .segmentRoll ? Self.smallSegment : ArchiveStoreOptions().maxSegmentBytes

            let life = try await Life(first, maxSegmentBytes: maxSegmentBytes, cutAfterSyncOf: cut == .freshArchive ? first + "/archive" : nil)
            var acknowledged = try await Self.run(cut, life, savedIndex: base + "/index")
            #expect(!life.disk.isPowered, "the power was never cut")
            #expect(life.disk.problems.isEmpty, "\(life.disk.problems)")
            try await life.store.close()
            try life.disk.restore(to: second)
            if cut == .indexCheckpoint {
                // The index as it was at its checkpoint, so the reopened store scans on from there.
                for name in PowerLossDisk.untracked { try? FileManager.default.removeItem(atPath: second + "/archive/" + name) }
                for name in try FileManager.default.contentsOfDirectory(atPath: base + "/index") {
                    try FileManager.default.copyItem(atPath: base + "/index/" + name, toPath: second + "/archive/" + name)
                }
            }

            // The second life starts on what the first left, and loses power too.
            let again = try await Life(second, maxSegmentBytes: maxSegmentBytes)
            #expect(again.store.recoveryReport.faults.isEmpty, "\(again.store.recoveryReport.faults)")
            if cut == .indexCheckpoint {
                #expect(again.store.recoveryReport.indexRebuildReason == nil, "\(again.store.recoveryReport.indexRebuildReason ?? "")")
            }
            acknowledged += try await Self.commit(again.store, 100, 101)
            again.trigger.arm()
            acknowledged += try await Self.commit(again.store, 102, 103)
            #expect(!again.disk.isPowered, "the power was never cut")
            #expect(again.disk.problems.isEmpty, "\(again.disk.problems)")
            try await again.store.close()
            try again.disk.restore(to: third)

            try await Self.expectKept(acknowledged, in: third)
        }
    }

    /// Commits the messages of `cut`'s row, cutting the power on the way; returns those
    /// acknowledged.
    static func run(_ cut: CutPoint, _ life: Life, savedIndex: String) async throws -> [Acknowledged] {
        let store = life.store
        if cut == .freshArchive { return [] }  // cut at open
        var acknowledged = try await commit(store, 0, 4)
        switch cut {
        case .freshArchive:
            break
        case .batch:
            life.trigger.arm()
            acknowledged += await commitAtOnce(store, 4..<12)
        case .segmentRoll:
            life.trigger.arm { $0.segment >= 3 }
            for n in 4..<200 {
                guard let message = await commitOrNil(store, n) else { break }
                acknowledged.append(message)
            }
            #expect(acknowledged.last?.receipt.segment == 3, "the cut was not at the first record of segment 3")
        case .indexCheckpoint:
            let newest = try #require(acknowledged.last?.receipt)
            let indexed = try await eventually(within: 60) {
                ((try? ArchiveIndex.openReadOnly(path: store.layout.indexPath).entry(id: newest.id)) ?? nil) != nil
            }
            try #require(indexed, "the index never took the first messages")
            try FileManager.default.createDirectory(atPath: savedIndex, withIntermediateDirectories: false)
            for name in PowerLossDisk.untracked where FileManager.default.fileExists(atPath: store.layout.archiveDirectory + "/" + name) {
                try FileManager.default.copyItem(atPath: store.layout.archiveDirectory + "/" + name, toPath: savedIndex + "/" + name)
            }
            acknowledged += try await commit(store, 4, 6)
            life.trigger.arm()
            acknowledged += try await commit(store, 6, 7)
        case .sidecarSeal:
            life.disk.failCommitSyncs(1)
            let refused = message(4)
            #expect(await commitOrNil(store, 4, refused) == nil, "a commit whose sync failed was acknowledged")
            // The client's retry: stored anew, not taken for a duplicate of the failed write.
            let retried = try #require(await commitOrNil(store, 4, refused), "the retry was refused")
            #expect(!retried.receipt.isDuplicate, "the retry was taken for a duplicate of a write that failed")
            acknowledged += [retried]
            acknowledged += try await commit(store, 5, 6)
            #expect(acknowledged.last?.receipt.segment == 2, "no new segment after the failed sync")
            life.trigger.arm()
            acknowledged += try await commit(store, 6, 7)
        }
        return acknowledged
    }

    /// Reopens `directory` as after a reboot: recovery clean, every acknowledged message
    /// there byte for byte (by position and through the index), verify clean.
    static func expectKept(_ acknowledged: [Acknowledged], in directory: String) async throws {
        let store = try await openStore(directory)
        #expect(store.recoveryReport.faults.isEmpty, "\(store.recoveryReport.faults)")
        for message in acknowledged {
            let kept = (try? store.readAsReceived(segment: message.receipt.segment, offset: message.receipt.offset)) == message.original
            #expect(kept, "message \(message.receipt.id) at \(message.receipt.position) lost")
        }
        try await store.close()
        let reader = try ArchiveReader(dataDirectory: directory)
        for message in acknowledged {
            let found = (try? reader.original(reader.lookup(message.receipt.id))) == message.original
            #expect(found, "message \(message.receipt.id) not found by its id")
        }
        let report = try reader.verify()
        #expect(report.isClean, "\(report.faults)")
    }

    static func message(_ n: Int) -> [UInt8] { Corpus.synthetic(n, bodyLines: 40) }

    static func commitOrNil(_ store: ArchiveStore, _ n: Int, _ bytes: [UInt8]? = nil) async -> Acknowledged? {
        let original = bytes ?? message(n)
        guard let receipt = try? await store.commit(finished(original, envelope: envelope(n))) else { return nil }
        return Acknowledged(receipt: receipt, original: original)
    }

    /// Messages `first..<end`, one after the other; each must be acknowledged.
    static func commit(_ store: ArchiveStore, _ first: Int, _ end: Int) async throws -> [Acknowledged] {
        var acknowledged: [Acknowledged] = []
        for n in first..<end {
            acknowledged.append(try #require(await commitOrNil(store, n), "message \(n) refused"))
        }
        return acknowledged
    }

    /// Messages committed at once (one or a few group commits); those acknowledged.
    static func commitAtOnce(_ store: ArchiveStore, _ range: Range<Int>) async -> [Acknowledged] {
        await withTaskGroup(of: Acknowledged?.self) { group in
            for n in range { group.addTask { await commitOrNil(store, n) } }
            var acknowledged: [Acknowledged] = []
            for await message in group { if let message { acknowledged.append(message) } }
            return acknowledged
        }
    }
}
