import ArchiveStore
import DurableFiles

/// The messages queued most recently, kept in memory (compressed, as their records) so a
/// peer that keeps up gets each copy without a read of the archive or spool and without a
/// hop to the thread pool: the delivery decodes it on its event loop and checks its
/// SHA-256 as a read from disk would. Bounded by `budget` bytes of records; a message
/// that is not here (evicted, too large, or queued before a restart) is read from disk.
final class RecentMessages: Sendable {
    /// Only messages up to this size: decoding one must stay short on an event loop.
    static let largestOriginal: UInt64 = 256 << 10

    private struct State {
        var messages: [UInt64: ArchiveRecord] = [:]
        var order: [UInt64] = []
        var orderStart = 0
        var bytes = 0
    }

    private let budget: Int
    private let state = LockedValue(State())

    init(budget: Int) { self.budget = budget }

    /// Keeps a committed message for `ids` if it is small enough; the body of a larger one
    /// is not even copied out of its record.
    func keep(_ message: FinishedMessage, for ids: [UInt64]) {
        guard message.originalSize <= Self.largestOriginal, budget > 0, let record = message.record else { return }
        keep(record, for: ids)
    }

    /// Keeps `message` for the entries `ids` (one per peer it is queued for).
    func keep(_ message: ArchiveRecord, for ids: [UInt64]) {
        guard message.metadata.originalSize <= Self.largestOriginal, budget > 0 else { return }
        state.withLock { state in
            for id in ids {
                state.messages[id] = message
                state.order.append(id)
                state.bytes += message.compressedBody.count
            }
            while state.bytes > budget, state.orderStart < state.order.count {
                let oldest = state.order[state.orderStart]
                state.orderStart += 1
                if let gone = state.messages.removeValue(forKey: oldest) { state.bytes -= gone.compressedBody.count }
            }
            if state.orderStart > 4096 && state.orderStart * 2 > state.order.count {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
        }
    }

    func message(for id: UInt64) -> ArchiveRecord? {
        state.withLock { $0.messages[id] }
    }

    /// The entry is settled (delivered or held): its copy is not needed any more.
    func forget(_ id: UInt64) {
        state.withLock { state in
            if let gone = state.messages.removeValue(forKey: id) { state.bytes -= gone.compressedBody.count }
        }
    }

    var count: Int { state.withLock { $0.messages.count } }
}
