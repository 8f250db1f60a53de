import DurableFiles
import NIOCore
import SessionTransport

/// Starts each accepted connection's session task once the channel is active, on the
/// channel's own event loop, and keeps count of the tasks so the listener can wait for the
/// last one at shutdown.
///
/// Each session's `SessionInbox` calls `start` from `channelActive` (not from the channel
/// initializer: NIO registers an accepted channel in a task it queues after the
/// initializer, and the session's greeting must not be written before that).
///
/// Not an accept loop over `NIOAsyncChannel`'s stream of connections with a child task per
/// connection: with a connection per message, that stream, its producer and the loop's
/// resumptions are a large share of the event loop's work (bench/README.md, "Figures behind
/// the code").
final class SessionLauncher: Sendable {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = LockedValue(State())
    private let session: @Sendable (SessionLauncher.Connection) async -> Void

    /// One task executor per event loop of the group, made once: a session's task prefers
    /// its channel's.
    private let executors: [ObjectIdentifier: EventLoopTaskExecutor]

    /// What a session needs of its connection.
    struct Connection: Sendable {
        let channel: any Channel
        let inbox: SessionInbox
        let expectsProxyHeader: Bool
    }

    init(group: any EventLoopGroup, session: @escaping @Sendable (SessionLauncher.Connection) async -> Void) {
        self.session = session
        var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
        for loop in group.makeIterator() { executors[ObjectIdentifier(loop)] = EventLoopTaskExecutor(loop) }
        self.executors = executors
    }

    func start(_ connection: Connection) {
        state.withLock { $0.running += 1 }
        let loop = connection.channel.eventLoop
        let executor = executors[ObjectIdentifier(loop)] ?? EventLoopTaskExecutor(loop)
        Task(executorPreference: executor) {
            await self.session(connection)
            self.ended()
        }
    }

    private func ended() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when no session is running.
    func allEnded() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
