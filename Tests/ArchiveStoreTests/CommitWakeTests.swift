import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing
@testable import ArchiveStore

/// Commits made with `CommitWake.afterTick` wake the writer once, when their event loop
/// has run its current tasks, and are synced together.
struct CommitWakeTests {
    /// Completed commits, counted from the committing tasks.
    final class Tally: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }

    enum Attempt {
        case batched([ArchiveReceipt])
        /// The writer's idle timeout (`freeSpaceRecheckInterval`, 1 s) came while the
        /// loop was held and committed the queued messages itself: no finding either way.
        case disturbedByIdleTimeout
    }

    /// Holds `loop` (its tick cannot end), commits `count` messages from tasks with
    /// `.afterTick(of: loop)`, checks that none is committed while they wait, then lets the
    /// loop go.
    static func attempt(_ store: ArchiveStore, loop: any EventLoop, count: Int, first: Int) async throws -> Attempt {
        let gate = DispatchSemaphore(value: 0)
        loop.execute { gate.wait() }
        defer { gate.signal() }
        let tally = Tally()
        return try await withThrowingTaskGroup(of: ArchiveReceipt.self) { tasks in
            for n in first..<(first + count) {
                let message = try finished(Corpus.synthetic(n), envelope: envelope(n))
                tasks.addTask {
                    let receipt = try await store.commit(message, wake: .afterTick(of: loop))
                    tally.add()
                    return receipt
                }
            }
            // All of them queued, and the writer left asleep: it would have taken the
            // first alone (the others queue behind its sync).
            let queued = try await eventually { store.committer.queuedCount == count || tally.value > 0 }
            #expect(queued)
            guard tally.value == 0 else {
                for try await _ in tasks {}
                return .disturbedByIdleTimeout
            }
            try await Task.sleep(for: .milliseconds(100))
            guard tally.value == 0 else {
                for try await _ in tasks {}
                return .disturbedByIdleTimeout
            }
            gate.signal()  // the tick ends: its wake runs
            var receipts: [ArchiveReceipt] = []
            for try await receipt in tasks { receipts.append(receipt) }
            return .batched(receipts)
        }
    }

    /// Tries before the test gives up on telling: each starts right after the writer's idle
    /// wake, so only an attempt that takes the whole 1 s tick (a very loaded machine) is
    /// disturbed. A writer woken at the first commit would disturb every one.
    static let tries = 10

    @Test(.timeLimit(.minutes(3)))
    func commitsOfOneTickShareOneSync() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        try await withTempDirectory { dir in
            let wakes = WriterWakes()
            var options = ArchiveStoreOptions()
            options.freeSpaceProbe = wakes.probe
            let store = try await openStore(dir, options: options)
            try await commit(store, Corpus.synthetic(0), 0)
            let count = 6
            var outcome: [ArchiveReceipt]?
            for round in 0..<Self.tries where outcome == nil {
                // Once the idle writer has finished topping up its zeros (it looks at the
                // queue between steps and would take the messages early) and just woken.
                #expect(try await wakes.next())
                if case .batched(let receipts) = try await Self.attempt(store, loop: group.next(), count: count, first: 1 + round * count) {
                    outcome = receipts
                }
            }
            let receipts = try #require(outcome, "in every try, commits completed while their loop was held: the writer was woken before the tick ended")
            #expect(receipts.count == count)
            #expect(receipts.allSatisfy { $0.batchSize == count && !$0.isDuplicate })
            try await store.close()
        }
        try await group.shutdownGracefully()
    }
}
