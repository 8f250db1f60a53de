import ArchiveStore
import ArgumentParser
import Foundation
import Governance
import OperatorText
import RelayConfiguration

extension ArchiveCommand {
    /// `archive expire --dry-run`: what expiry would remove now (docs/OPERATIONS.md, "Retention").
    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the originals whose retention has passed and that no open hold covers.",
            discussion: """
                Applies the configuration's [retention] rules (docs/CONFIG.md) and the open legal holds to every original: one \
                line each (archive id, rule, expired-at), then the totals (expired, kept by hold). Only --dry-run is available.
                """
        )
        @Option(name: .customLong("data-dir"), help: "The node's data directory (default: the configuration's data_dir).")
        var dataDirectory: String?
        @Option(help: "The node's configuration file (its [retention] rules and routes).") var config: String
        @Flag(name: .customLong("dry-run"), help: "Only list what would be removed (required for now).") var dryRun = false
        @Flag(help: "One JSON object per candidate, then one with the totals.") var json = false
        @Option(help: "Plan as if it were this time (\(CommandLineTime.forms)); default now.") var at: String?

        func validate() throws {
            guard dryRun else {
                throw ValidationError("archive expire removes nothing yet: give --dry-run to list what retention would remove")
            }
        }

        func run() async throws {
            let validated: ValidatedConfiguration
            switch ConfigurationCheck.load(path: config) {
            case .success(let configuration): validated = configuration
            case .failure(let problems):
                throw ValidationError(TerminalText(lines: ConfigurationError(path: config, problems: problems.errors).description).description)
            }
            let directory = dataDirectory ?? validated.node.dataDirectory
            let now = try at.map(commandLineTime) ?? Date()
            try reportingAuditedErrors {
                let holds = try HoldStore.open(dataDirectory: directory, .read)?.open() ?? []
                let planner = RetentionPlanner(dataDirectory: directory, policy: validated.retention, holds: holds)
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
