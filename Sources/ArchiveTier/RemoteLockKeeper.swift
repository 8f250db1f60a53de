import Foundation
import Governance
import Logging
import Metrics
import ObjectStorage
import RelayConfiguration

/// Keeps S3 Object Lock on the bucket's segment objects in step with the archive's
/// retention and holds (docs/OPERATIONS.md, "Object Lock"). Each segment version gets the
/// retain-until of its `SegmentLockPlan` entry, only ever later (compliance refuses to
/// shorten, and a governance lock is not shortened either), and the legal hold flag while
/// a hold covers a message in it. What it set is recorded in `RemoteState`; a request that
/// fails is logged with its key, counted, and tried again at the next `apply`, with the
/// state left as it was.
///
/// The uploader plans once per run (`SegmentLockPlanner`, after each expiry run and at
/// start), asks `lock(for:in:)` for each segment it uploads (and records what it got),
/// then calls `apply`.
public struct RemoteLockKeeper {
    public let client: S3Client
    public let keys: RemoteKeys
    public let state: RemoteState
    /// Nil: `object_lock = "off"`; nothing is locked, superseded versions are still deleted.
    public let mode: ObjectLockMode?
    public var logger: Logger

    /// A segment kept forever is locked this far ahead, and locked again that far once
    /// its date comes within `foreverRenewal` of now: S3 has no retention without a date.
    public static let forever: TimeInterval = 100 * 365.25 * 86_400
    public static let foreverRenewal: TimeInterval = 365.25 * 86_400

    private let failures = Counter(label: "archive_remote_lock_failures_total")

    public init(client: S3Client, keys: RemoteKeys, state: RemoteState, policy: ObjectLockPolicy,
                logger: Logger = Logger(label: "archiverelay.remote")) {
        self.client = client
        self.keys = keys
        self.state = state
        self.mode = switch policy {
        case .off: nil
        case .governance: .governance
        case .compliance: .compliance
        }
        self.logger = logger
    }

    /// The lock to upload segment `sequence` with: the plan's date (when still ahead) and
    /// hold flag. Record what it asks for in the upload's `UploadRecord` (`retainUntil`,
    /// `legalHold`), so `apply` does not set it again. A segment the plan does not name
    /// (sealed after it was made) goes up unlocked: the next plan's `apply` locks it.
    public func lock(for sequence: UInt64, in plan: SegmentLockPlan, now: Date = Date()) -> ObjectLockRequest {
        guard let mode, let lock = plan[sequence] else { return ObjectLockRequest() }
        let retention = Self.target(of: lock.retention, now: now).map { ObjectRetention(mode: mode, retainUntil: $0.retainUntil) }
        return ObjectLockRequest(retention: retention, legalHold: lock.held)
    }

    /// Brings every recorded segment version's lock to `plan`, then deletes the superseded
    /// versions whose retain-until has passed and that no hold covers. Never throws: what
    /// fails is in the outcome's `failures`, the log and the metric.
    public nonisolated(nonsending) func apply(_ plan: SegmentLockPlan, now: Date = Date()) async -> LockOutcome {
        var outcome = LockOutcome()
        let records: [UploadRecord]
        do {
            records = try state.all()
        } catch {
            fail(&outcome, "reading the upload records", key: "remote/remote.sqlite", error)
            return outcome
        }
        if mode != nil {
            for record in records {
                guard case .segment(let sequence) = record.object else { continue }
                guard let lock = plan[sequence] else {
                    outcome.unplanned += 1
                    continue
                }
                await keep(record, at: lock, now: now, &outcome)
            }
        }
        await deleteSuperseded(plan, now: now, &outcome)
        return outcome
    }

    /// Extends the retention and sets the hold flag of one segment version where they differ
    /// from the plan; records each change the server took.
    private nonisolated(nonsending) func keep(_ record: UploadRecord, at lock: SegmentLock, now: Date, _ outcome: inout LockOutcome) async {
        guard let mode else { return }
        var retainUntil = record.retainUntil, legalHold = record.legalHold
        if let target = Self.target(of: lock.retention, now: now), retainUntil.map({ $0 < target.atLeast }) ?? true {
            do {
                try await client.putObjectRetention(key: record.key, ObjectRetention(mode: mode, retainUntil: target.retainUntil),
                                                    versionID: record.versionID)
                retainUntil = target.retainUntil
                outcome.extended += 1
            } catch {
                fail(&outcome, "setting the retention", key: record.key, error)
            }
        }
        if lock.held != legalHold {
            do {
                try await client.putObjectLegalHold(key: record.key, on: lock.held, versionID: record.versionID)
                legalHold = lock.held
                if lock.held { outcome.holdsSet += 1 } else { outcome.holdsCleared += 1 }
            } catch {
                fail(&outcome, "setting the legal hold", key: record.key, error)
            }
        }
        guard retainUntil != record.retainUntil || legalHold != record.legalHold else { return }
        do {
            try state.setLock(key: record.key, retainUntil: retainUntil, legalHold: legalHold)
        } catch {
            fail(&outcome, "recording the lock", key: record.key, error)
        }
    }

    /// Deletes the superseded versions S3 no longer keeps (their retain-until passed) and no
    /// hold covers (the plan's flag for their segment), clearing a legal hold flag left on
    /// one first; forgets each only once the server took the delete.
    private nonisolated(nonsending) func deleteSuperseded(_ plan: SegmentLockPlan, now: Date, _ outcome: inout LockOutcome) async {
        let versions: [SupersededVersion]
        do {
            versions = try state.superseded()
        } catch {
            fail(&outcome, "reading the superseded versions", key: "remote/remote.sqlite", error)
            return
        }
        for version in versions {
            if let until = version.retainUntil, now < until { continue }
            if let sequence = keys.object(at: version.key)?.sequence, plan[sequence]?.held == true {
                outcome.keptByHold += 1
                continue
            }
            do {
                if version.legalHold { try await client.putObjectLegalHold(key: version.key, on: false, versionID: version.versionID) }
                try await client.deleteObject(key: version.key, versionID: version.versionID)
                try state.forget(version)
                outcome.versionsDeleted += 1
            } catch {
                fail(&outcome, "deleting superseded version \(version.versionID)", key: version.key, error)
            }
        }
    }

    private func fail(_ outcome: inout LockOutcome, _ what: String, key: String, _ error: any Error) {
        outcome.failures += 1
        failures.increment()
        logger.warning("object lock: \(what) failed; tried again at the next run", metadata: ["key": "\(key)", "error": "\(error)"])
    }

    /// The date to set for `retention`, and the date below which the set one is too early.
    /// Nil when the retention has already ended (S3 takes no date in the past; expiry will
    /// remove the mail) or there is nothing to date.
    struct Target: Equatable {
        var retainUntil: Date
        var atLeast: Date
    }

    static func target(of retention: Retention, now: Date) -> Target? {
        guard let until = retention.until else {
            // Whole seconds, as S3 keeps it: what is recorded is what the server holds.
            let date = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + forever).rounded(.down))
            return Target(retainUntil: date, atLeast: date - foreverRenewal)
        }
        // Rounded up: a lock never ends before the retention does.
        let date = Date(timeIntervalSince1970: until.timeIntervalSince1970.rounded(.up))
        return date > now ? Target(retainUntil: date, atLeast: date) : nil
    }
}

/// What one `apply` did.
public struct LockOutcome: Sendable, Equatable {
    /// Segment versions whose retain-until was set later (or set for the first time).
    public var extended = 0
    public var holdsSet = 0
    public var holdsCleared = 0
    /// Recorded segments the plan does not name (sealed after it): left as they are.
    public var unplanned = 0
    public var versionsDeleted = 0
    /// Superseded versions past their date kept because a hold covers their segment.
    public var keptByHold = 0
    /// Requests that failed: logged, counted in `archive_remote_lock_failures_total`, tried again next run.
    public var failures = 0

    public init() {}
}
