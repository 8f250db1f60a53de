import NIOCore

/// Runs a session's task on the event loop that owns its channel: the listener's sessions
/// and the forwarding client's alike.
///
/// Without it every read and every reply crosses threads twice (event loop to Swift's
/// global executor and back), and under load the futex wake-ups and context switches cost
/// more than the SMTP work itself. With the task on its channel's loop, a read resumes the
/// session on the same thread and a reply is written from it. The session does no blocking
/// I/O: archive commits suspend on a continuation resumed by the writer thread, and the
/// forwarding client reads stored messages on the thread pool.
public final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
