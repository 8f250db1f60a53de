import NIOConcurrencyHelpers
import NIOCore
import SessionTransport

/// Starts each accepted connection's session task once the channel is active, on the
/// channel's own event loop, and keeps count of the tasks so the listener can wait for the
/// last one at shutdown.
///
/// The listener's channel initializer puts one `SessionLauncher.Handler` in each session's
/// pipeline. Starting from `channelActive` (not from the initializer) matters: NIO
/// registers an accepted channel in a task it queues after the initializer, and the
/// session's greeting must not be written before that.
///
/// It replaces an accept loop that read `NIOAsyncChannel`'s stream of connections and added
/// a child task per connection: under `smtp-source` load (a connection per message) that
/// stream, its producer and the loop's resumptions cost a node with one event loop 12% of
/// its messages per second (bench/README.md).
final class SessionLauncher: Sendable {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())
    private let session: @Sendable (SessionLauncher.Connection) async -> Void

    /// What a session needs of its connection, made by the channel initializer.
    struct Connection: Sendable {
        let channel: any Channel
        let inbox: SessionInbox
        let deadline: SessionDeadline
        let expectsProxyHeader: Bool
    }

    init(session: @escaping @Sendable (SessionLauncher.Connection) async -> Void) {
        self.session = session
    }

    fileprivate func start(_ connection: Connection) {
        state.withLockedValue { $0.running += 1 }
        let executor = EventLoopTaskExecutor(connection.channel.eventLoop)
        Task(executorPreference: executor) {
            await self.session(connection)
            self.ended()
        }
    }

    private func ended() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
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
            let done = state.withLockedValue { state in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// The pipeline's hook: starts the session when the channel becomes active, then leaves
    /// the pipeline.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer

        private let launcher: SessionLauncher
        private var connection: Connection?

        init(launcher: SessionLauncher, connection: Connection) {
            self.launcher = launcher
            self.connection = connection
        }

        func channelActive(context: ChannelHandlerContext) {
            if let connection {
                self.connection = nil
                launcher.start(connection)
            }
            context.fireChannelActive()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}
