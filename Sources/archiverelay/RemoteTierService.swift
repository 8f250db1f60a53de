import ArchiveStore
import ArchiveTier
import Foundation
import Governance
import Logging
import Metrics
import ObjectStorage
import RelayConfiguration
import ServiceLifecycle

/// The node's object-storage tier (docs/OPERATIONS.md, "Object storage"): a pass of the
/// uploader shortly after start and every `upload_every_seconds`, then what follows an
/// upload (Object Lock dates, eviction past the local budget). The lock plan is made at
/// start and hourly (it reads the whole index). Nothing here is on the 250
/// path and `/readyz` does not look at it: a failing endpoint is retried with a backoff
/// (1 s doubling to 5 minutes), logged at each failure with how much waits, counted in
/// `archive_remote_upload_failures_total`, and the backlog is in the gauges the uploader sets.
final class RemoteTierService: Service, Sendable {
    private let settings: RemoteTierSettings
    private let dataDirectory: String
    private let store: ArchiveStore
    private let expiry: ExpiryService
    private let logger: Logger
    static let longestBackoff: Duration = .seconds(300)
    /// How often the lock plan is made again: new segments carry the retention floor
    /// (`RetentionFloor`) until then, and a hold on new mail reaches the bucket by then.
    static let lockPlanEvery: Duration = .seconds(3600)

    init(settings: RemoteTierSettings, dataDirectory: String, store: ArchiveStore, expiry: ExpiryService, logger: Logger) {
        self.settings = settings
        self.dataDirectory = dataDirectory
        self.store = store
        self.expiry = expiry
        var logger = logger
        logger[metadataKey: "bucket"] = "\(settings.bucket.bucket)"
        self.logger = logger
    }

    func run() async throws {
        var delay: Duration = .seconds(1)
        var failures = 0
        var tier: Tier?
        defer { if let tier { Task { try? await tier.uploader.client.shutdown() } } }
        var lastPlan: ContinuousClock.Instant?
        while true {
            let wait = delay
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
            do {
                if tier == nil { tier = try Tier(settings: settings, dataDirectory: dataDirectory, logger: logger) }
                guard let uploader = tier?.uploader else { continue }
                await uploader.setRetentionFloor(RetentionFloor(expiry.currentPolicy))
                let outcome = try await cancelWhenGracefulShutdown { try await uploader.pass() }
                if lastPlan.map({ $0.duration(to: .now) >= Self.lockPlanEvery }) ?? true {
                    lastPlan = .now
                    await keepLocks(uploader)
                }
                if let budget = settings.localMaxBytes { await evict(uploader, beyond: budget) }
                if failures > 0 || outcome.objects > 0 {
                    logger.notice(failures > 0 ? "uploads to the bucket caught up" : "uploaded to the bucket", metadata: [
                        "objects": "\(outcome.objects)", "bytes": "\(outcome.bytes)", "failed_attempts": "\(failures)",
                    ])
                }
                failures = 0
                delay = settings.uploadEvery
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                delay = min(Self.longestBackoff, .seconds(1 << min(failures - 1, 9)))
                let kind = (error as? RemoteUploadFailure)?.kind ?? "other"
                Counter(label: "archive_remote_upload_failures_total", dimensions: [("kind", kind)]).increment()
                logger.error("upload to the bucket failed; mail is still archived locally, uploads retried", metadata: [
                    "error": "\(error)", "kind": "\(kind)", "attempt": "\(failures)", "retry_in": "\(delay)",
                    "endpoint": "\(settings.bucket.endpoint.url)",
                ])
            }
        }
    }

    /// Makes the lock plan and brings the bucket to it (with `object_lock = "off"` only the
    /// superseded versions are deleted). A plan that cannot be made is logged and tried
    /// again at the next hour; the uploads go on meanwhile with the floor.
    private func keepLocks(_ uploader: RemoteUploader) async {
        var plan = SegmentLockPlan()
        if settings.objectLock != .off {
            _ = await store.waitForSearchIndex(timeout: 300)
            let directory = dataDirectory, policy = expiry.currentPolicy, logger = logger
            do {
                plan = try await Task.detached {
                    let holds = try HoldStore.open(dataDirectory: directory, .read)?.open() ?? []
                    var planner = SegmentLockPlanner(dataDirectory: directory, policy: policy, holds: holds)
                    planner.retention.feedsSearch = false  // the node's indexer feeds it; waited for above
                    return try planner.plan(logger: logger)
                }.value
            } catch {
                logger.error("object lock plan failed; uploads keep the retention floor, tried again in an hour", metadata: ["error": "\(error)"])
                return
            }
        }
        let outcome = await uploader.applyLocks(plan)
        if outcome.extended + outcome.holdsSet + outcome.holdsCleared + outcome.versionsDeleted > 0 {
            logger.notice("object lock brought to the plan", metadata: [
                "extended": "\(outcome.extended)", "holds_set": "\(outcome.holdsSet)", "holds_cleared": "\(outcome.holdsCleared)",
                "versions_deleted": "\(outcome.versionsDeleted)", "failures": "\(outcome.failures)",
            ])
        }
    }

    /// Evicts what the budget asks for; says so when the disk stays over it because the
    /// bucket lacks what would have to go (a warning each pass, with how much).
    private func evict(_ uploader: RemoteUploader, beyond budget: UInt64) async {
        let store = self.store
        let outcome = await uploader.evict(beyond: budget) { try await store.evict(sequence: $0.sequence, to: $0) }
        if outcome.segments > 0 {
            logger.info("segments evicted to the bucket", metadata: ["segments": "\(outcome.segments)", "bytes": "\(outcome.bytes)",
                                                                    "local_bytes": "\(outcome.localBytes)"])
        }
        for failure in outcome.failures {
            logger.warning("segment not evicted; tried again at the next pass", metadata: ["reason": "\(failure)"])
        }
        if outcome.overBudget > 0 {
            logger.warning("local segments over local_max_bytes: what would have to go is not in the bucket yet", metadata: [
                "local_bytes": "\(outcome.localBytes)", "local_max_bytes": "\(budget)", "over": "\(outcome.overBudget)",
            ])
        }
    }

    /// The client and uploader, made on the first pass: credentials that cannot be read
    /// are a failure like any other, retried, not a reason to refuse mail.
    private struct Tier: Sendable {
        let uploader: RemoteUploader

        init(settings: RemoteTierSettings, dataDirectory: String, logger: Logger) throws {
            let client = try S3Client(configuration: settings.bucket)
            do {
                uploader = try RemoteUploader(dataDirectory: dataDirectory, client: client, keys: RemoteKeys(prefix: settings.prefix),
                                              lock: settings.objectLock, logger: logger)
            } catch {
                Task { try? await client.shutdown() }
                throw error
            }
        }
    }
}
