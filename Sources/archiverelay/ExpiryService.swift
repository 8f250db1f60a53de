import ArchiveStore
import AuditTrail
import DurableFiles
import ForwardQueue
import Foundation
import Governance
import Logging
import Metrics
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The node's expiry job (docs/OPERATIONS.md, "Retention"): every `expire_every_seconds`
/// (a day by default; the first run a few minutes after start, so a node restarted daily
/// still expires), what the `[retention]` rules and the open holds let go is removed,
/// while mail keeps flowing. Copies still queued for a peer stay until delivered. A run
/// that fails is logged and counted, and tried again at the next interval; an expiry a
/// crash cut short is finished when the archive next opens.
final class ExpiryService: Service, Sendable {
    private let store: ArchiveStore
    private let queue: ForwardQueue?
    private let dataDirectory: String
    private let policy: LockedValue<RetentionPolicy>
    private let logger: Logger
    private let removed = Counter(label: "archive_expired_originals_total")
    private let failures = Counter(label: "archive_expiry_failures_total")
    private let lastRun = Gauge(label: "archive_expiry_last_run_timestamp_seconds")

    init(store: ArchiveStore, queue: ForwardQueue?, dataDirectory: String, policy: RetentionPolicy, logger: Logger) {
        self.store = store
        self.queue = queue
        self.dataDirectory = dataDirectory
        self.policy = LockedValue(policy)
        self.logger = logger
    }

    /// The rules as they are now (the tier's lock plans judge by them too).
    var currentPolicy: RetentionPolicy { policy.withLock { $0 } }

    /// A reload's rules apply from the next run on.
    func replace(_ policy: RetentionPolicy) {
        self.policy.withLock { $0 = policy }
    }

    func run() async throws {
        if let skew = ProcessInfo.processInfo.environment["ARCHIVERELAY_EXPIRY_SKEW_DAYS"] {
            logger.warning("expiry judges retention with the clock moved (a test hook): ARCHIVERELAY_EXPIRY_SKEW_DAYS", metadata: ["days": "\(skew)"])
        }
        var delay = min(300, policy.withLock { $0.expireEvery })
        while true {
            // A shutdown ends the wait; a run under way is finished first (it is bounded).
            let wait = delay
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(wait)) }
            } catch {
                return
            }
            await runOnce()
            delay = policy.withLock { $0.expireEvery }
        }
    }

    /// One expiry of the daily job: as many runs as it takes; logged and counted.
    func runOnce() async {
        do {
            let outcome = try await run(actor: AuditActor.node)
            if outcome.originals > 0 || outcome.deferred > 0 {
                logger.notice("archive expiry", metadata: [
                    "originals": "\(outcome.originals)", "records": "\(outcome.records)", "deferred": "\(outcome.deferred)",
                    "rules": "\(outcome.byRule.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                ])
            }
        } catch {
            failures.increment()
            logger.error("archive expiry failed; tried again at the next interval", metadata: ["error": "\(error)"])
        }
    }

    /// One expiry, on behalf of `actor` (the job, or an admin API caller: `POST /archive/expire`).
    func run(actor: String) async throws -> ExpiryRunner.Outcome {
        let policy = self.policy.withLock { $0 }
        let queue = self.queue
        let outcome = try await ExpiryRunner(policy: policy, dataDirectory: dataDirectory).run(
            store: store, actor: actor, now: Self.clock(), isQueued: { queue?.holdsCopy(at: $0) ?? false }, logger: logger)
        removed.increment(by: Int64(outcome.originals))
        lastRun.record(Date().timeIntervalSince1970)
        return outcome
    }

    /// The time expiry judges retention by: now, or for the tests, now moved by
    /// `ARCHIVERELAY_EXPIRY_SKEW_DAYS` (mail cannot be made old any other way).
    static func clock(environment: [String: String] = ProcessInfo.processInfo.environment) -> @Sendable () -> Date {
        let days = environment["ARCHIVERELAY_EXPIRY_SKEW_DAYS"].flatMap(Double.init) ?? 0
        return { Date().addingTimeInterval(days * 86_400) }
    }

    /// `ARCHIVERELAY_EXPIRY_CRASH_AT=<step>` (`ExpiryStep`): the node kills itself with
    /// SIGKILL when an expiry reaches that step. For the crash tests only.
    static func crashHook(environment: [String: String] = ProcessInfo.processInfo.environment) -> (@Sendable (ExpiryStep) throws -> Void)? {
        guard let name = environment["ARCHIVERELAY_EXPIRY_CRASH_AT"], let stop = ExpiryStep(rawValue: name) else { return nil }
        return { step in
            if step == stop { kill(getpid(), SIGKILL) }
        }
    }
}
