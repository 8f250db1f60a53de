import ArchiveStore
import Foundation
import Synchronization
import TestSupport
import Testing
@testable import ForwardQueue

/// Nothing in the queue polls: a delivery waiter is resumed by the 250, by its deadline or
/// by its task's cancellation; an idle worker by an entry for its connection. Each test
/// waits for the outcome; the only limit is `patience`, which only a hang reaches.
@Suite(.serialized, .timeLimit(.minutes(5))) struct WakeTests {
    static let peers = [PeerSettings(name: "peer-a", host: "127.0.0.1")]

    /// How a raced wait ended.
    enum Ending: Equatable {
        case returned(Bool)
        case limitPassed
    }

    /// `task`'s value, or `.limitPassed` if it takes longer than `seconds`. Does not wait
    /// for the loser: a waiter that ignores its cancellation must fail the test, not hang it.
    static func outcome(of task: Task<Bool, Never>, within seconds: Double = Double(patience)) async -> Ending {
        let pending = Mutex<CheckedContinuation<Ending, Never>?>(nil)
        let finish = { @Sendable (ending: Ending) in pending.withLock { $0.take() }?.resume(returning: ending) }
        return await withCheckedContinuation { continuation in
            pending.withLock { $0 = continuation }
            Task { finish(.returned(await task.value)) }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                finish(.limitPassed)
            }
        }
    }

    static func sleepers(_ queue: ForwardQueue, _ reason: SleepReason) -> Int {
        queue.book.withLock { $0.sleepers.count(reason) }
    }

    /// A waiter for a copy nobody delivers (the queue does not run), waiting an hour:
    /// cancelled, it returns false without waiting for its deadline, and leaves nothing
    /// behind. One cancelled before it could sleep returns false too.
    @Test func aCancelledWaiterReturnsAtOnce() async throws {
        try await withTempDirectory { dir in
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: Self.peers, archive: nil, nodeID: "node-a", logger: quietLogger)
            let reference = item(1).reference
            try await queue.enqueue([item(1)])
            let waiter = Task { await queue.waitForDelivery(of: reference, timeout: .seconds(3600)) }
            #expect(try await eventually { Self.sleepers(queue, .delivery(reference)) == 1 })
            waiter.cancel()
            #expect(await Self.outcome(of: waiter) == .returned(false))
            #expect(queue.book.withLock { $0.sleepers.isEmpty })

            let early = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return await queue.waitForDelivery(of: reference, timeout: .seconds(3600))
            }
            #expect(await Self.outcome(of: early) == .returned(false))
            #expect(queue.book.withLock { $0.sleepers.isEmpty })
            await queue.close()
        }
    }

    /// Without a delivery the waiter ends at its timeout with false; a message of which no
    /// copy is queued answers true at once, and so does a waiter whose last copy an
    /// operator deletes.
    @Test func aWaiterEndsAtItsTimeoutOrWhenNoCopyIsLeft() async throws {
        try await withTempDirectory { dir in
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: Self.peers, archive: nil, nodeID: "node-a", logger: quietLogger)
            let reference = item(1).reference
            let ids = try await queue.enqueue([item(1)])
            #expect(await queue.waitForDelivery(of: reference, timeout: .milliseconds(200)) == false)
            #expect(await queue.waitForDelivery(of: item(2).reference, timeout: .seconds(3600)))

            let waiter = Task { await queue.waitForDelivery(of: reference, timeout: .seconds(3600)) }
            #expect(try await eventually { Self.sleepers(queue, .delivery(reference)) == 1 })
            for id in ids { try await queue.delete(id: id) }
            #expect(await Self.outcome(of: waiter) == .returned(true))
            #expect(queue.book.withLock { $0.sleepers.isEmpty })
            await queue.close()
        }
    }

    /// A waiter registered before the queue runs is resumed by the peer's 250; an entry
    /// for a connection whose worker has slept since it started (it never had one, so it
    /// has no deadline to wake at) is taken as soon as it is queued.
    @Test func aDeliveryResumesItsWaiterAndWakesAnIdleWorker() async throws {
        try await withTempDirectory { dir in
            let store = try await ArchiveStore.open(dataDirectory: dir, logger: quietLogger)
            let messages = try await Live.archive(store, count: 2, tag: "wake")
            let port = try freePort()
            let peer = try RecordingPeer(port: port, directory: dir + "/peer")
            defer { peer.stop() }
            try await peer.waitReady()
            var second = PeerSettings.fault(port: port)
            second.name = "peer-b"
            let queue = try await ForwardQueue.open(dataDirectory: dir, peers: [.fault(port: port), second], archive: store,
                                                    nodeID: "node-a", logger: quietLogger)
            func copy(_ n: Int, to connection: String) -> QueueItem {
                QueueItem(connection: connection, reference: messages[n].0, size: UInt64(messages[n].1.count),
                          sender: "journal@example.test", recipients: ["audit@example.test"])
            }
            try await queue.enqueue([copy(0, to: "peer-a")])
            let waiter = Task { await queue.waitForDelivery(of: messages[0].0, timeout: .seconds(3600)) }
            #expect(try await eventually { Self.sleepers(queue, .delivery(messages[0].0)) == 1 })
            try await whileDelivering(queue) {
                #expect(await Self.outcome(of: waiter) == .returned(true))

                #expect(try await eventually { Self.sleepers(queue, .work(connection: "peer-b")) == 1 })
                try await queue.enqueue([copy(1, to: "peer-b")])
                #expect(await queue.waitForDelivery(of: messages[1].0, timeout: .seconds(patience)))
                #expect(Set(peer.messages()) == Set(messages.map(\.1)))
            }
            try await store.close()
        }
    }
}
