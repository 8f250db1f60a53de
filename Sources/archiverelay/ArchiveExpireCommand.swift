import ArchiveStore
import ArgumentParser
import Logging
import ForwardQueue
import ArchiveTier
import AuditTrail
import Foundation
import Governance
import OperatorText
import RelayConfiguration

extension ArchiveCommand {
    /// `archive expire --dry-run`: what expiry would remove now (docs/OPERATIONS.md, "Retention").
    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove (or with --dry-run, list) the originals whose retention has passed and that no open hold covers.",
            discussion: """
                Applies the configuration's [retention] rules (docs/CONFIG.md) and the open legal holds to every original. \
                With --dry-run: one line each (archive id, rule, expired-at), then the totals (expired, kept by hold). \
                Without: removes them from the archive (docs/OPERATIONS.md, "Retention"); the node must be stopped (a running \
                node expires by itself every [retention] expire_every_seconds).
                """
        )
        @Option(name: .customLong("data-dir"), help: "The node's data directory (default: the configuration's data_dir).")
        var dataDirectory: String?
        @Option(help: "The node's configuration file (its [retention] rules and routes).") var config: String
        @Option(name: .customLong("admin-ca"), help: "With a running node whose admin endpoint serves TLS: PEM file of the CA its certificate is checked against (default: the system's).")
        var adminCA: String?
        @Flag(name: .customLong("dry-run"), help: "Only list what would be removed.") var dryRun = false
        @Flag(help: "One JSON object per candidate, then one with the totals.") var json = false
        @Option(help: "With --dry-run: plan as if it were this time (\(CommandLineTime.forms)); default now.") var at: String?

        func validate() throws {
            // Removing as of another day than today would remove mail before its time.
            if at != nil && !dryRun { throw ValidationError("--at plans only: give it with --dry-run") }
        }

        func run() async throws {
            let validated: ValidatedConfiguration
            switch ConfigurationCheck.load(path: config) {
            case .success(let configuration): validated = configuration
            case .failure(let problems):
                throw ValidationError(TerminalText(lines: ConfigurationError(path: config, problems: problems.errors).description).description)
            }
            let directory = dataDirectory ?? validated.node.dataDirectory
            try DataDirectory.adoptOwner(directory)
            guard dryRun else { return try await remove(validated, dataDirectory: directory) }
            let now = try at.map(commandLineTime) ?? Date()
            try reportingAuditedErrors {
                let holds = try HoldStore.open(dataDirectory: directory, .read)?.open() ?? []
                var planner = RetentionPlanner(dataDirectory: directory, policy: validated.retention, holds: holds)
                planner.keys = validated.archive.keys.ring
                planner.remote = validated.remote.map { BucketSegmentSource(configuration: $0.bucket) }
                // The candidates wait in a file until the entry is recorded: nothing of a result goes out before.
                let spool = try CandidateSpool()
                let totals = try planner.plan(now: now) { candidate in try spool.write(Self.line(candidate, json: json)) }
                try CommandAudit(dataDirectory: directory).record(
                    "archive.expire", ["dry_run": "true", "config": config, "at": CommandLineTime.format(now)], count: totals.expired)
                try spool.copyToStandardOutput()
                if json {
                    writeJSONLine(try JSONLine.encode(["totals": ["expired": totals.expired, "kept_by_hold": totals.keptByHold]]))
                } else {
                    writeStdout("expired: \(totals.expired), kept by hold: \(totals.keptByHold), originals: \(totals.originals)\n")
                }
            }
        }

        /// Expiry with the node stopped: the store opened here (finishing any run a crash cut
        /// short), the queue's copies left where they are, every run recorded as this user.
        private func remove(_ validated: ValidatedConfiguration, dataDirectory directory: String) async throws {
            var logger = Logger(label: "archiverelay.expire")
            logger.logLevel = .warning
            var options = validated.archive
            options.remoteSegments = validated.remote.map { BucketSegmentSource(configuration: $0.bucket) }
            let audit = try CommandAudit(dataDirectory: directory)
            options.audit = audit
            options.expiryStepHook = ExpiryService.crashHook()
            let store: ArchiveStore
            do {
                store = try await ArchiveStore.open(dataDirectory: directory, options: options, logger: logger)
            } catch ArchiveStoreError.locked {
                return try await viaNode(validated, dataDirectory: directory)
            }
            let outcome: ExpiryRunner.Outcome
            do {
                let queued = try ForwardQueue.queuedArchivePositions(dataDirectory: directory)
                let now = ExpiryService.clock()
                outcome = try await ExpiryRunner(policy: validated.retention, dataDirectory: directory).run(
                    store: store, actor: AuditActor.operatingSystemUser(), now: now, isQueued: { queued.contains($0) }, logger: logger)
            } catch {
                try? await store.close()
                try reportingAuditedErrors { throw error }
                return
            }
            try await store.close()
            let rules = outcome.byRule.sorted { $0.key < $1.key }
            if json {
                writeJSONLine(try JSONLine.encode([
                    "removed": outcome.originals, "records": outcome.records, "deferred": outcome.deferred, "runs": outcome.runs,
                    "rules": Dictionary(uniqueKeysWithValues: rules), "segment_bytes": outcome.segmentBytes,
                    "compaction_seconds": outcome.compactionSeconds, "seconds": outcome.seconds,
                ]))
            } else {
                let perRule = rules.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                writeStdout("removed: \(outcome.originals) originals (\(outcome.records) records)\(perRule.isEmpty ? "" : "; " + perRule), deferred: \(outcome.deferred)\n")
            }
        }

        /// A node has the archive open: it runs the expiry (`POST /archive/expire` with the
        /// node's local token, recorded as this user), with its own rules.
        private func viaNode(_ validated: ValidatedConfiguration, dataDirectory directory: String) async throws {
            let admin = (validated.node.adminTLS == nil ? "http://" : "https://") + validated.node.adminAddress
            let client = try AdminClient(address: admin, token: LocalAdminToken.read(dataDirectory: directory), caFile: adminCA,
                                         timeout: 24 * 3600)
            switch try await client.request("POST", "/archive/expire") {
            case .answered(200, let body):
                if json {
                    writeJSONLine(body.trimmingCharacters(in: .whitespacesAndNewlines))
                } else {
                    let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
                    let rules = ((object["rules"] as? [String: Int]) ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                    let line = "removed: \(object["removed"] as? Int ?? 0) originals (\(object["records"] as? Int ?? 0) records)"
                        + (rules.isEmpty ? "" : "; " + rules.joined(separator: ", ")) + ", deferred: \(object["deferred"] as? Int ?? 0) (by the node at \(admin))"
                    writeStdout(TerminalText(lines: line + "\n"))
                }
            case .answered(let status, let body):
                writeStderr(TerminalText(lines: "archiverelay: the node at \(admin) answered \(status): \(QueueTarget.field("error", of: body))\n"))
                throw ExitCode(status == 401 || status == 403 ? 77 : 75)
            case .unreachable:
                writeStderr(TerminalText(lines: "archiverelay: a node has \(directory) open but nothing answers on its admin address \(admin)\n"))
                throw ExitCode(75)
            }
        }

        static func line(_ candidate: ExpiryCandidate, json: Bool) throws -> String {
            if json {
                return TerminalText.escapeJSON(try JSONLine.encode([
                    "id": candidate.archiveID, "sha256": candidate.sha256, "rule": candidate.rule,
                    "expired_at": CommandLineTime.format(candidate.expiredAt),
                ])) + "\n"
            }
            let text: TerminalText = "\(candidate.archiveID)  \(candidate.rule)  \(CommandLineTime.format(candidate.expiredAt))\n"
            return text.description
        }
    }
}

/// A temporary file the output waits in: unlinked at once, so nothing is left behind.
final class CandidateSpool {
    private let handle: FileHandle

    init() throws {
        let path = NSTemporaryDirectory() + "/archiverelay-expire-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ArchiveStoreError.notFound("cannot create a temporary file \(path): \(String(cString: strerror(errno)))") }
        unlink(path)
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    func write(_ text: String) throws { try handle.write(contentsOf: Data(text.utf8)) }

    func copyToStandardOutput() throws {
        try handle.seek(toOffset: 0)
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { FileHandle.standardOutput.write(chunk) }
    }
}
