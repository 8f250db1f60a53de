import ArchiveStore
import Foundation
import Governance
import Logging
import Metrics
import ObjectStorage
import RelayConfiguration

/// Uploads what the archive settled to the bucket (docs/OPERATIONS.md, "Object storage"):
/// each sealed segment with its seal and expiry list, oldest first, then the audit log and
/// head and a copy of the legal holds. A file is uploaded when `remote.sqlite` has no record
/// of it, or it changed since (expiry compacted the segment: a new version of the same key),
/// and recorded only once the server echoed its SHA-256. Nothing here is on the 250 path:
/// the node's tier service calls `pass()` on its own schedule and backs off when it throws.
public actor RemoteUploader {
    public let dataDirectory: String
    public let client: S3Client
    public let keys: RemoteKeys
    let state: RemoteState
    private let logger: Logger
    /// Object Lock on the segment objects (`object_lock`), kept in step by each plan.
    private var keeper: RemoteLockKeeper
    /// The last plan `applyLocks` was given: new uploads of the segments it names get its lock.
    private var plan: SegmentLockPlan?
    /// The shortest retention any mail can have (`RetentionFloor`): a segment the plan does not
    /// name yet is uploaded locked that long from its start, never longer than its mail needs.
    private var floor = RetentionFloor(periods: [])

    private let pendingSegments = Gauge(label: "archive_remote_pending_segments")
    private let pendingBytes = Gauge(label: "archive_remote_pending_bytes")
    private let oldestPending = Gauge(label: "archive_remote_oldest_pending_age_seconds")
    private let lastUpload = Gauge(label: "archive_remote_last_upload_timestamp_seconds")
    private let uploadedBytes = Counter(label: "archive_remote_uploaded_bytes_total")
    private let uploadedObjects = Counter(label: "archive_remote_uploaded_objects_total")
    private let localBytes = Gauge(label: "archive_remote_local_segment_bytes")
    private let overBudget = Gauge(label: "archive_remote_over_budget_bytes")
    private let evictedSegments = Counter(label: "archive_remote_evicted_segments_total")

    public init(dataDirectory: String, client: S3Client, keys: RemoteKeys, lock: ObjectLockPolicy = .off, logger: Logger) throws {
        self.dataDirectory = dataDirectory
        self.client = client
        self.keys = keys
        guard let state = try RemoteState.open(dataDirectory: dataDirectory, create: true) else {
            throw RemoteTierError.state("cannot create \(RemoteState.path(dataDirectory: dataDirectory))")
        }
        self.state = state
        self.logger = logger
        keeper = RemoteLockKeeper(client: client, keys: keys, state: state, policy: lock, logger: logger)
    }

    /// The retention rules' shortest period, for segments uploaded before a plan names them.
    public func setRetentionFloor(_ floor: RetentionFloor) { self.floor = floor }

    /// Brings the bucket's locks to `plan` (and deletes superseded versions S3 no longer
    /// keeps); later uploads take their lock from it. Never throws (`LockOutcome.failures`).
    public func applyLocks(_ plan: SegmentLockPlan, now: Date = Date()) async -> LockOutcome {
        self.plan = plan
        return await keeper.apply(plan, now: now)
    }

    /// The lock segment `sequence`, started at `createdAt`, is uploaded with.
    func lock(for sequence: UInt64, createdAt: Date?, now: Date) -> ObjectLockRequest {
        if let plan, plan[sequence] != nil { return keeper.lock(for: sequence, in: plan, now: now) }
        guard let mode = keeper.mode else { return ObjectLockRequest() }
        guard let start = createdAt, let until = floor.until(forSegmentStartedAt: start, now: now) else { return ObjectLockRequest() }
        return ObjectLockRequest(retention: ObjectRetention(mode: mode, retainUntil: until))
    }

    /// One file the pass looks at, and where it stands.
    struct Candidate {
        var object: RemoteObject
        var path: String
        var fingerprint: FileFingerprint
        var record: UploadRecord?
        /// The segment's start, for its lock.
        var createdAt: Date?
        var size: Int64 { fingerprint.size }
    }

    /// Uploads everything not yet in the bucket. Throws on the first failure that says the
    /// endpoint or the credentials are at fault (the rest waits for the next pass, after the
    /// caller's backoff); a file that changed while it was sent is left for the next pass.
    @discardableResult
    public func pass(now: @Sendable () -> Date = Date.init) async throws -> RemoteUploadPass {
        var work = try segmentCandidates()
        publishBacklog(work, now: now())
        var outcome = RemoteUploadPass()
        while !work.isEmpty {
            let candidate = work.removeFirst()
            if try await upload(candidate, now: now()) {
                outcome.objects += 1
                outcome.bytes += candidate.size
            }
            publishBacklog(work, now: now())
        }
        for candidate in try sideCandidates() where try await upload(candidate, now: now()) {
            outcome.objects += 1
            outcome.bytes += candidate.size
        }
        return outcome
    }

    /// The sealed segments' files the bucket lacks (or has an older version of), oldest first;
    /// within a segment its expiry list and seal before the segment, so a restore never
    /// finds a compacted segment whose list is older than it.
    func segmentCandidates() throws -> [Candidate] {
        var result: [Candidate] = []
        for segment in try SealedSegmentFiles.list(dataDirectory: dataDirectory) {
            let files: [(RemoteObject, String?)] = [(.expiryList(segment.sequence), segment.expiryList),
                                                    (.seal(segment.sequence), segment.seal),
                                                    (.segment(segment.sequence), segment.segment)]
            for case let (object, path?) in files {
                if var candidate = try candidate(object, path: path) {
                    candidate.createdAt = segment.createdAt
                    result.append(candidate)
                }
            }
        }
        return result
    }

    /// Every segment file on local disk, in sequence order, each with its upload record
    /// when the bucket holds it as it is (`EvictionPolicy`).
    func localSegments() throws -> [LocalSegment] {
        let directory = ArchiveLayout(dataDirectory: dataDirectory).archiveDirectory
        let settled = Dictionary(try SealedSegmentFiles.list(dataDirectory: dataDirectory).map { ($0.sequence, $0) },
                                 uniquingKeysWith: { first, _ in first })
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var result: [LocalSegment] = []
        for sequence in names.compactMap(SegmentName.sequence(of:)).sorted() {
            guard let size = FileFingerprint(path: directory + "/" + SegmentName.file(sequence))?.size else { continue }
            var uploaded: UploadRecord?
            if let files = settled[sequence] {
                let parts: [(RemoteObject, String?)] = [(.expiryList(sequence), files.expiryList), (.seal(sequence), files.seal),
                                                        (.segment(sequence), files.segment)]
                let pending = try parts.contains { object, path in try path.map { try candidate(object, path: $0) != nil } ?? false }
                if !pending { uploaded = try state.record(for: keys.segment(sequence)) }
            }
            result.append(LocalSegment(sequence: sequence, size: size, uploaded: uploaded))
        }
        return result
    }

    /// Evicts the oldest segments the bucket holds as they are until the segments on local
    /// disk fit `budget` (`EvictionPolicy`), each through `evict` (the store's
    /// `ArchiveStore.evict`, which hashes the file again and refuses one that differs from
    /// the upload). A refusal or failure leaves that segment local and goes on.
    public func evict(beyond budget: UInt64, using evict: @Sendable (EvictedSegment) async throws -> Void) async -> EvictionOutcome {
        var outcome = EvictionOutcome()
        let segments: [LocalSegment]
        do {
            segments = try localSegments()
        } catch {
            outcome.failures.append("listing the local segments: \(error)")
            return outcome
        }
        let choice = EvictionPolicy.choose(segments, budget: budget)
        var local = segments.reduce(Int64(0)) { $0 + $1.size }
        for segment in choice.evict {
            guard let record = segment.uploaded else { continue }
            do {
                try await evict(EvictedSegment(sequence: segment.sequence, key: record.key, versionID: record.versionID,
                                               sha256: record.sha256, size: Int(record.size)))
                outcome.segments += 1
                outcome.bytes += segment.size
                local -= segment.size
                evictedSegments.increment()
            } catch {
                outcome.failures.append("segment \(segment.sequence): \(error)")
            }
        }
        outcome.localBytes = local
        outcome.overBudget = max(0, local - Int64(clamping: budget))
        localBytes.record(local)
        overBudget.record(outcome.overBudget)
        return outcome
    }

    /// The audit log and head, then the holds (a consistent copy), when they changed.
    private func sideCandidates() throws -> [Candidate] {
        var result: [Candidate] = []
        for (object, path) in [(RemoteObject.auditLog, dataDirectory + "/audit/audit.log"),
                               (.auditHead, dataDirectory + "/audit/audit.head")] {
            if let candidate = try candidate(object, path: path) { result.append(candidate) }
        }
        if let holds = try holdsCandidate() { result.append(holds) }
        return result
    }

    /// nil when the file is gone or unchanged since its recorded upload.
    private func candidate(_ object: RemoteObject, path: String) throws -> Candidate? {
        guard let fingerprint = FileFingerprint(path: path) else { return nil }
        let record = try state.record(for: keys.key(of: object))
        if let record, record.fingerprint == fingerprint.description { return nil }
        return Candidate(object: object, path: path, fingerprint: fingerprint, record: record)
    }

    /// Uploads one file unless the bucket already holds its bytes (a restore recorded it
    /// without a fingerprint, or only its timestamps changed). True when it was sent.
    private func upload(_ candidate: Candidate, now: Date) async throws -> Bool {
        let key = keys.key(of: candidate.object)
        let digest: FileDigest
        do {
            digest = try await FileDigest.of(candidate.path)
        } catch {
            // Gone since it was listed (expiry replaced it, eviction removed it): the next pass sees.
            guard FileManager.default.fileExists(atPath: candidate.path) else { return false }
            throw RemoteTierError.local("cannot read \(candidate.path): \(error)")
        }
        let unchanged = FileFingerprint(path: candidate.path) == candidate.fingerprint && digest.size == candidate.size
        if let record = candidate.record, record.sha256 == digest.sha256Base64, record.size == digest.size {
            if unchanged { try state.setFingerprint(key: key, candidate.fingerprint.description) }
            return false
        }
        var lock = ObjectLockRequest()
        if case .segment(let sequence) = candidate.object { lock = self.lock(for: sequence, createdAt: candidate.createdAt, now: now) }
        let result: PutObjectResult
        do {
            result = try await client.putObject(key: key, fromFile: candidate.path, lock: lock, digest: digest)
        } catch S3IntegrityError.bodyChanged {
            logger.debug("file changed while uploaded; next pass", metadata: ["file": "\(candidate.path)"])
            return false
        } catch {
            throw RemoteUploadFailure(key: key, path: candidate.path, error: error)
        }
        // The fingerprint is kept only if the file is still what was hashed: a log that grew
        // meanwhile is hashed and sent again next pass.
        let still = unchanged && FileFingerprint(path: candidate.path) == candidate.fingerprint
        try state.record(UploadRecord(object: candidate.object, key: key, versionID: result.versionID, sha256: result.checksumSHA256,
                                      size: result.size, uploadedAt: now, retainUntil: lock.retention?.retainUntil,
                                      legalHold: lock.legalHold, fingerprint: still ? candidate.fingerprint.description : nil))
        uploadedBytes.increment(by: Int64(result.size))
        uploadedObjects.increment()
        lastUpload.record(now.timeIntervalSince1970)
        logger.debug("uploaded", metadata: ["key": "\(key)", "bytes": "\(result.size)", "version": "\(result.versionID ?? "-")"])
        return true
    }

    /// A consistent copy of `holds/holds.sqlite` (VACUUM INTO), made when the database or its
    /// WAL changed since the last upload; nil without holds.
    private func holdsCandidate() throws -> Candidate? {
        let source = dataDirectory + "/holds/holds.sqlite"
        guard let main = FileFingerprint(path: source) else { return nil }
        let combined = "\(main)|\(FileFingerprint(path: source + "-wal")?.description ?? "-")"
        let record = try state.record(for: keys.holds)
        if record?.fingerprint == combined { return nil }
        let copy = dataDirectory + "/remote/holds.snapshot.sqlite"
        try? FileManager.default.removeItem(atPath: copy)
        do {
            let connection = try SQLiteConnection(path: source, readOnly: true)
            try connection.execute("VACUUM INTO '\(copy.replacingOccurrences(of: "'", with: "''"))'")
        } catch {
            throw RemoteTierError.local("cannot copy the holds database \(source): \(error)")
        }
        guard var candidate = try candidate(.holds, path: copy) else { return nil }
        candidate.record = record
        return candidate
    }

    /// What the bucket still lacks, as gauges: the segments (and bytes) waiting, and the age
    /// of the oldest of them (how far behind the bucket is).
    private func publishBacklog(_ work: [Candidate], now: Date) {
        let segments = Set(work.compactMap { $0.object.sequence })
        pendingSegments.record(segments.count)
        pendingBytes.record(work.reduce(0) { $0 + $1.size })
        let oldest = work.map { Double($0.fingerprint.modifiedNanoseconds) / 1e9 }.min()
        oldestPending.record(oldest.map { max(0, now.timeIntervalSince1970 - $0) } ?? 0)
    }
}

/// What one eviction did.
public struct EvictionOutcome: Sendable, Equatable {
    public var segments = 0
    public var bytes: Int64 = 0
    /// Segment bytes left on local disk, and how far that is over the budget: segments
    /// the bucket does not hold yet are never evicted, so a backlog can exceed it.
    public var localBytes: Int64 = 0
    public var overBudget: Int64 = 0
    /// Segments that stayed local, each with why.
    public var failures: [String] = []
}

/// What one pass uploaded.
public struct RemoteUploadPass: Sendable, Equatable {
    public var objects = 0
    public var bytes: Int64 = 0
}

/// An upload that failed, with the key and file it was for.
public struct RemoteUploadFailure: Error, CustomStringConvertible {
    public var key: String
    public var path: String
    public var error: any Error

    /// How `archive_remote_upload_failures_total` counts it: the endpoint could not be
    /// reached (`transport`), S3 refused (`refused`: credentials, bucket, policy), or the
    /// bytes did not check (`integrity`).
    public var kind: String {
        switch error {
        case is S3TransportError: return "transport"
        case is S3ServiceError: return "refused"
        case is S3IntegrityError: return "integrity"
        default: return "other"
        }
    }

    public var description: String { "upload of \(path) to \(key) failed: \(error)" }
}

/// The tier's own failures: its state database, or a local file it could not read.
public enum RemoteTierError: Error, CustomStringConvertible {
    case state(String)
    case local(String)

    public var description: String {
        switch self {
        case .state(let why), .local(let why): return why
        }
    }
}
