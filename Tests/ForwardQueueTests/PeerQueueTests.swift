import ArchiveStore
import Foundation
import TestSupport
import Testing
@testable import ForwardQueue

@Suite struct PeerQueueTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func queue(limit: Int = 100, maxBytes: UInt64 = 10_000, onFull: PeerSettings.OnFull = .tempfail, maxRetries: Int = 0) -> PeerQueue {
        var settings = PeerSettings(name: "peer-a", host: "127.0.0.1")
        settings.queueLimit = limit
        settings.queueMaxBytes = maxBytes
        settings.onFull = onFull
        settings.maxRetries = maxRetries
        return PeerQueue(settings: settings)
    }

    static let admissions: [(limit: Int, maxBytes: UInt64, onFull: PeerSettings.OnFull, queued: Int, size: UInt64, expected: Admission)] = [
        (3, 10_000, .tempfail, 2, 100, .accept),
        (3, 10_000, .tempfail, 3, 100, .full),
        (3, 10_000, .dropForward, 3, 100, .dropForward),
        (100, 1_000, .tempfail, 9, 100, .accept),       // 900 + 100 fits exactly
        (100, 1_000, .tempfail, 9, 101, .full),
        (100, 1_000, .dropForward, 10, 1, .dropForward),
        (100, 1_000, .tempfail, 0, 5_000, .full),       // one message above the byte bound
    ]

    @Test(arguments: admissions)
    func admission(_ row: (limit: Int, maxBytes: UInt64, onFull: PeerSettings.OnFull, queued: Int, size: UInt64, expected: Admission)) {
        var q = queue(limit: row.limit, maxBytes: row.maxBytes, onFull: row.onFull)
        for id in 0..<row.queued { q.add(entry(UInt64(id + 1), size: 100)) }
        #expect(q.admit(size: row.size) == row.expected)
    }

    @Test func claimsInFIFOOrderAndSkipsEntriesBackingOff() {
        var q = queue()
        for id in 1...4 as ClosedRange<UInt64> { q.add(entry(id)) }
        guard case .deliver(let first) = q.claim(now: Self.t0, connected: false) else { Issue.record("nothing to claim"); return }
        #expect(first.id == 1)
        #expect(q.deferred(1, reason: "451", now: Self.t0, jitter: 0, backOff: true) == nil)
        let order = (0..<3).compactMap { _ -> UInt64? in
            if case .deliver(let e) = q.claim(now: Self.t0, connected: false) { return e.id } else { return nil }
        }
        #expect(order == [2, 3, 4])
        #expect(q.claim(now: Self.t0, connected: false) == .wait(until: Self.t0.addingTimeInterval(1)))
        guard case .deliver(let again) = q.claim(now: Self.t0.addingTimeInterval(1), connected: false) else { Issue.record("not due"); return }
        #expect(again.id == 1 && again.attempts == 1)
    }

    /// An operator's retry brings the probe of a down peer (and a deferred entry) forward,
    /// but never sooner than `min_backoff` after the last failure: 200 retries in a loop
    /// made 157 connection attempts in 3.6 s against `min_backoff_seconds = 60` (issue 22).
    @Test func retriesRespectTheBackoffFloor() {
        var settings = PeerSettings(name: "peer-a", host: "127.0.0.1")
        settings.minBackoff = 60
        settings.maxBackoff = 3600
        var q = PeerQueue(settings: settings)
        for id in 1...2 as ClosedRange<UInt64> { q.add(entry(id)) }
        guard case .deliver(let e) = q.claim(now: Self.t0, connected: false) else { Issue.record("nothing"); return }
        q.peerFailed(reason: "connection refused", now: Self.t0, jitter: 0)
        _ = q.deferred(e.id, reason: "connection refused", now: Self.t0, jitter: 0, backOff: true)
        // Probes back off past the floor after a few failures; a retry brings them to it.
        for failures in 1...4 { q.peerFailed(reason: "refused \(failures)", now: Self.t0, jitter: 0) }
        for second in [1.0, 2, 30, 59] {
            let now = Self.t0.addingTimeInterval(second)
            let retried = q.retryNow(1, now: now) && q.retryNow(2, now: now)
            #expect(retried)
            #expect(q.claim(now: now, connected: false) == .wait(until: Self.t0.addingTimeInterval(60)), "retry at +\(second) s")
        }
        // Once the floor has passed, a retry is due at once: the probe takes the first entry.
        let later = Self.t0.addingTimeInterval(61)
        let retried = q.retryNow(1, now: later)
        #expect(retried)
        guard case .deliver(let probe) = q.claim(now: later, connected: false) else { Issue.record("no probe after the floor"); return }
        #expect(probe.id == 1)
    }

    @Test func aDownPeerGetsOneProbeAtTheBackoffInterval() {
        var q = queue()
        for id in 1...3 as ClosedRange<UInt64> { q.add(entry(id)) }
        guard case .deliver(let e) = q.claim(now: Self.t0, connected: false) else { Issue.record("nothing"); return }
        q.peerFailed(reason: "connection refused", now: Self.t0, jitter: 0)
        _ = q.deferred(e.id, reason: "connection refused", now: Self.t0, jitter: 0, backOff: false)
        q.peerFailed(reason: "late failure of a session begun while up", now: Self.t0.addingTimeInterval(0.5), jitter: 0)
        #expect(q.peerFailures == 1 && q.lastPeerError == "late failure of a session begun while up")
        #expect(q.claim(now: Self.t0, connected: false) == .wait(until: Self.t0.addingTimeInterval(1)))
        guard case .deliver(let probe) = q.claim(now: Self.t0.addingTimeInterval(1), connected: false) else { Issue.record("no probe"); return }
        #expect(probe.id == 1)
        #expect(q.claim(now: Self.t0.addingTimeInterval(1), connected: false) == .wait(until: nil))
        q.peerFailed(reason: "connection refused", now: Self.t0.addingTimeInterval(1), jitter: 0)
        #expect(q.nextProbe == Self.t0.addingTimeInterval(2))   // second failure: [1, 2) s, jitter 0 → 1 s after
        q.peerUp()
        _ = q.deferred(probe.id, reason: "", now: Self.t0, jitter: 0, backOff: false)
        let all = (0..<3).compactMap { _ -> UInt64? in
            if case .deliver(let e) = q.claim(now: Self.t0.addingTimeInterval(2), connected: false) { return e.id } else { return nil }
        }
        #expect(all == [1, 2, 3])
    }

    @Test func exhaustedRetriesAndRejectionsGoToHold() {
        var q = queue(maxRetries: 2)
        q.add(entry(1))
        q.add(entry(2))
        for round in 0..<2 {
            _ = q.claim(now: Self.t0.addingTimeInterval(Double(round) * 1000), connected: false)
            #expect(q.deferred(1, reason: "451", now: Self.t0, jitter: 0, backOff: true) == nil)
        }
        _ = q.claim(now: Self.t0.addingTimeInterval(5000), connected: false)
        #expect(q.deferred(1, reason: "451", now: Self.t0, jitter: 0, backOff: true) == .held(id: 1, reason: "retries exhausted (3 attempts): 451"))
        _ = q.claim(now: Self.t0.addingTimeInterval(5000), connected: false)
        #expect(q.rejected(2, reason: "550") == .held(id: 2, reason: "550"))
        #expect(q.depth == 2 && q.heldCount == 2)
        #expect(q.claim(now: Self.t0.addingTimeInterval(9000), connected: false) == .wait(until: nil))
        #expect(q.release(2) == .released(id: 2))
        if case .deliver(let e) = q.claim(now: Self.t0.addingTimeInterval(9000), connected: false) { #expect(e.id == 2) } else { Issue.record("released entry not due") }
    }
}

@Suite struct ForwardQueueDurabilityTests {
    @Test func enqueuedEntriesAreBackAfterReopenWithoutDelivery() async throws {
        try await withTempDirectory { dir in
            let peers = [PeerSettings(name: "peer-a", host: "127.0.0.1"), PeerSettings(name: "peer-b", host: "127.0.0.1")]
            let first = try await ForwardQueue.open(dataDirectory: dir, peers: peers, archive: nil, nodeID: "node-a", logger: quietLogger)
            var ids: [UInt64] = []
            try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for n in 0..<50 {
                    group.addTask { try await first.enqueue([item(n), item(n, connection: "peer-b")]) }
                }
                for try await batch in group { ids += batch }
            }
            try await first.hold(id: ids.sorted()[3])
            // A second opener is refused while the first holds the lock.
            await #expect(throws: ForwardQueueError.locked(path: QueueLayout(dataDirectory: dir).lockPath)) {
                _ = try await ForwardQueue.open(dataDirectory: dir, peers: peers, archive: nil, nodeID: "node-a", logger: quietLogger)
            }
            let before = first.snapshot()
            await first.close()
            let offline = try ForwardQueue.readSnapshot(dataDirectory: dir)
            #expect(offline.entries.map(\.id) == ids.sorted())
            let second = try await ForwardQueue.open(dataDirectory: dir, peers: peers, archive: nil, nodeID: "node-a", logger: quietLogger)
            let after = second.snapshot()
            #expect(after.entries.count == 100)
            #expect(after.entries.map(\.id) == before.entries.map(\.id))
            #expect(after.entries.filter(\.held).map(\.id) == [ids.sorted()[3]])
            #expect(after.connections.map(\.depth) == [50, 50])
            let next = try await second.enqueue([item(99)])
            #expect(next.first.map { $0 > (ids.max() ?? 0) } == true)
            try await second.delete(id: ids.sorted()[0])
            #expect(try await second.release(id: nil) == 1)
            await second.close()
            #expect(try ForwardQueue.readSnapshot(dataDirectory: dir).entries.count == 100)
        }
    }
}

extension ForwardQueueDurabilityTests {
    /// A removal posted while the queue writer sleeps with nothing to do (a delivery after
    /// a quiet spell) is written and synced, and frees its spool file, without waiting for
    /// some later commit. Found: it waited for the next commit or for close.
    @Test func aPostToAnIdleWriterIsWrittenAndSynced() async throws {
        try await withTempDirectory { dir in
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [PeerSettings(name: "peer-a", host: "127.0.0.1")],
                                                    archive: nil, nodeID: "node-a", logger: quietLogger)
            let envelope = ArchiveEnvelope(receivedAt: Date(), listener: "l", clientAddress: "c", helo: "h", tls: nil,
                                           sender: "s@example.test", recipients: ["r@example.test"])
            var draft = try MessageDraft(envelope: envelope)
            try draft.append(bytes: Array("Subject: spooled\r\n\r\nbody\r\n".utf8))
            let reference = try await queue.spool(try draft.finish())
            guard case .spool(let name) = reference else {
                Issue.record("not spooled: \(reference)")
                return
            }
            let ids = try await queue.enqueue([QueueItem(connection: "peer-a", reference: reference, size: 10,
                                                         sender: "s@example.test", recipients: ["r@example.test"])])
            let path = queue.layout.spoolPath(name)
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(try await eventually { queue.writer.isIdle })
            for id in ids { queue.writer.post([.delivered(id: id)]) }
            #expect(try await eventually { !FileManager.default.fileExists(atPath: path) })
            await queue.close()
        }
    }
}

@Suite struct ForwardQueueAdmissionTests {
    @Test func admissionFollowsTheConnectionsBoundsAndPolicy() async throws {
        try await withTempDirectory { dir in
            var tight = PeerSettings(name: "tight", host: "127.0.0.1")
            tight.queueLimit = 2
            var lossy = PeerSettings(name: "lossy", host: "127.0.0.1")
            lossy.queueLimit = 1
            lossy.onFull = .dropForward
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [tight, lossy], archive: nil, nodeID: "node-a", logger: quietLogger)
            #expect(queue.admit(connection: "tight", size: 10) == .accept)
            try await queue.enqueue([item(1, connection: "tight"), item(2, connection: "tight"), item(3, connection: "lossy")])
            #expect(queue.admit(connection: "tight", size: 10) == .full)
            #expect(queue.admit(connection: "lossy", size: 10) == .dropForward)
            #expect(queue.admit(connection: "nowhere", size: 10) == .full)
            #expect(queue.snapshot().connections.first { $0.name == "lossy" }?.dropped == 1)
            await #expect(throws: ForwardQueueError.unknownConnection("nowhere")) {
                try await queue.enqueue([item(4, connection: "nowhere")])
            }
            await queue.close()
        }
    }

    @Test func invalidSettingsAreRefusedWithEveryProblem() async throws {
        try await withTempDirectory { dir in
            var bad = PeerSettings(name: "bad", host: "", port: 0)
            bad.maxConnections = 0
            await #expect(throws: ForwardQueueError.invalidSettings([
                "connection bad: host is empty", "connection bad: port 0 is not 1-65535", "connection bad: max_connections must be at least 1",
            ])) {
                _ = try await ForwardQueue.open(dataDirectory: dir, peers: [bad], archive: nil, nodeID: "n", logger: quietLogger)
            }
        }
    }
}

@Suite struct RecentMessagesTests {
    func record(_ n: Int, size: Int) -> RecentMessages.Copy {
        RecentMessages.Copy(record: ArchiveRecord(metadata: ArchiveMetadata(id: "m\(n)", receivedAt: Date(), originalSize: 100, sha256: [],
                                                                            messageID: nil, subject: nil),
                                                  compressedBody: [UInt8](repeating: UInt8(n), count: size), bodyFormat: .packed))
    }

    /// Oldest out first once the budget is passed; settled entries leave at once; large
    /// originals are never kept.
    @Test func keepsTheNewestWithinTheBudget() {
        let recent = RecentMessages(budget: 2500)
        recent.keep(record(1, size: 1000), for: [1])
        recent.keep(record(2, size: 1000), for: [2])
        #expect(recent.count == 2)
        recent.keep(record(3, size: 1000), for: [3])
        #expect(recent.message(for: 1) == nil)
        #expect(recent.message(for: 2)?.record.metadata.id == "m2" && recent.message(for: 3)?.record.metadata.id == "m3")
        recent.forget(2)
        recent.keep(record(4, size: 1000), for: [4])
        #expect(recent.message(for: 3) != nil && recent.message(for: 4) != nil)
        var large = record(5, size: 10)
        large.record.metadata.originalSize = RecentMessages.largestOriginal + 1
        recent.keep(large, for: [5])
        #expect(recent.message(for: 5) == nil)
        #expect(RecentMessages(budget: 0).count == 0)
    }
}
