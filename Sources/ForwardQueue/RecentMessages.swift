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

    /// A queued copy as kept: the original's record, and the arrival whose bytes as
    /// received the copy carries (nil: the original is what was received, as spooled).
    struct Copy: Sendable {
        var record: ArchiveRecord
        var arrival: Arrival?

        /// The bytes to send, decompressed and checked as a read from disk would be.
        func bytes() throws -> [UInt8] {
            let original = try record.original()
            return try arrival?.asReceived(original: original, originalSHA256: record.metadata.sha256) ?? original
        }
    }

    private struct State {
        var messages: [UInt64: Copy] = [:]
        var order: [UInt64] = []
        var orderStart = 0
        var bytes = 0
    }

    private let budget: Int
    private let state = LockedValue(State())

    init(budget: Int) { self.budget = budget }

    /// Keeps a committed message for `ids` if it is small enough; the body of a larger one
    /// is not even copied out of its record. `asArrival`: the copies carry the message as
    /// that arrival received it; else the original as it is (a spooled message).
    func keep(_ message: FinishedMessage, asArrival: Bool, for ids: [UInt64]) {
        guard message.originalSize <= Self.largestOriginal, budget > 0, let record = message.record else { return }
        keep(Copy(record: record, arrival: asArrival ? message.arrival : nil), for: ids)
    }

    /// Keeps `message` for the entries `ids` (one per peer it is queued for).
    func keep(_ message: Copy, for ids: [UInt64]) {
        guard message.record.metadata.originalSize <= Self.largestOriginal, budget > 0 else { return }
        state.withLock { state in
            for id in ids {
                state.messages[id] = message
                state.order.append(id)
                state.bytes += message.record.compressedBody.count
            }
            while state.bytes > budget, state.orderStart < state.order.count {
                let oldest = state.order[state.orderStart]
                state.orderStart += 1
                if let gone = state.messages.removeValue(forKey: oldest) { state.bytes -= gone.record.compressedBody.count }
            }
            if state.orderStart > 4096 && state.orderStart * 2 > state.order.count {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
        }
    }

    func message(for id: UInt64) -> Copy? {
        state.withLock { $0.messages[id] }
    }

    /// The entry is settled (delivered or held): its copy is not needed any more.
    func forget(_ id: UInt64) {
        state.withLock { state in
            if let gone = state.messages.removeValue(forKey: id) { state.bytes -= gone.record.compressedBody.count }
        }
    }

    var count: Int { state.withLock { $0.messages.count } }
}
