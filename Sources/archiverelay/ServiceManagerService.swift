import ArchiveStore
import NIOCore
import ServiceLifecycle
import ServiceNotify

/// The node's side of systemd's `Type=notify`: READY=1 when it runs (every listener is
/// bound and accepting, the archive open and the admin endpoint up: all happen before the
/// service group starts), WATCHDOG=1 pings while `WatchdogSec=` is set, and STOPPING=1 as
/// soon as graceful shutdown starts. Last in the service group, so it is the first told.
struct ServiceManagerService: Service {
    let notifier: ServiceNotifier
    let watchdog: WatchdogSettings?
    let liveness: NodeLiveness
    let readyStatus: String

    func run() async throws {
        notifier.ready(status: readyStatus)
        try await withGracefulShutdownHandler {
            guard let watchdog else {
                try await gracefulShutdown()
                return
            }
            try await cancelWhenGracefulShutdown { try await pingWatchdog(every: watchdog.pingInterval) }
        } onGracefulShutdown: {
            notifier.stopping(status: "stopping: draining sessions")
        }
    }

    /// A ping only after a round through the node: if it hangs, pings stop and systemd
    /// restarts the node after `WatchdogSec`.
    private func pingWatchdog(every interval: Duration) async throws {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let next = clock.now + interval
            try await liveness.check()
            notifier.watchdog()
            try await Task.sleep(until: next, clock: clock)
        }
    }
}

/// What must move for mail to be accepted, checked in one round: an empty task on each
/// event loop (they accept connections and run every SMTP session), then an empty job on
/// the archive writer's queue (behind the batch it is syncing). A loop stuck in a blocking
/// call or a busy loop, or a writer stuck in fdatasync or a deadlock, stops the round,
/// and with it the watchdog pings; so does a starved Swift concurrency pool.
struct NodeLiveness: Sendable {
    let loops: any EventLoopGroup
    let store: ArchiveStore

    func check() async throws {
        for loop in loops.makeIterator() {
            try await loop.submit {}.get()
        }
        try await store.writerRoundTrip()
    }
}
