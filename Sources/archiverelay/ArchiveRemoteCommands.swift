import ArchiveStore
import ArchiveTier
import ArgumentParser
import DurableFiles
import Foundation
import ObjectStorage
import OperatorText
import RelayConfiguration

extension ArchiveCommand {
    /// `archive restore --from-remote DIR`: a data directory rebuilt from the bucket
    /// (docs/OPERATIONS.md, "Restoring from the bucket").
    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild a data directory from the object-storage bucket ([archive.remote]) after a node's disk is lost.",
            discussion: """
                Downloads every segment, seal, expiry list, the audit log and head and the holds under the prefix into DIR \
                (which must not exist or be empty), each checked against the SHA-256 the server stored; rebuilds the index \
                and search database, verifies the archive, and records the objects as uploaded. Encrypted segments need the \
                configuration's encryption_keys_file: keys are never in the bucket. Until it succeeded DIR holds \
                RESTORE-INCOMPLETE and a node refuses to start on it. Exit 0: restored and verified; 2: restored, verify \
                found faults; 1: failed.
                """
        )
        @Option(name: .customLong("from-remote"), help: ArgumentHelp("The data directory to create (new, or empty).", valueName: "DIR"))
        var directory: String
        @Option(help: "The configuration whose [archive.remote] names the bucket (and [archive] encryption_keys_file the keys).")
        var config: String
        @Option(help: ArgumentHelp("Restore this prefix instead of the configuration's (another node's, e.g. \"node-b/\").", valueName: "PREFIX"))
        var prefix: String?

        func validate() throws {
            // The rule [archive.remote] prefix is checked by: no key under it starts so.
            if let prefix, prefix.hasPrefix("/") || prefix.contains("//") {
                throw ValidationError("--prefix \"\(prefix)\" must not start with / or hold //")
            }
        }

        func run() async throws {
            FilePermissions.restrictProcessUmask()
            let target = try RemoteCommandTarget(config: config)
            let settings = target.remote
            let keys = RemoteKeys(prefix: prefix ?? settings.prefix)
            var report: RestoreReport?
            try await reportingRemoteErrors(directory: directory) {
                try await RemoteCommandTarget.withClient(settings) { client in
                    report = try await RemoteRestore(client: client, keys: keys, into: directory, segmentKeys: target.validated.archive.keys.ring).run()
                }
            }
            guard let report else { throw ExitCode.failure }
            let bucket = "s3://\(settings.bucket.bucket)/\(keys.prefix)"
            writeStdout("downloaded \(report.objects) objects (\(report.bytes) bytes, \(report.segments) segments) from \(bucket)\n")
            for key in report.skippedKeys { writeStdout("note: \(key) is not a file of the layout: not fetched\n") }
            writeStdout("indexed \(report.indexed) messages\n")
            if let verify = report.verify {
                for fault in verify.faults + verify.indexFaults { writeStderr("FAULT \(fault)\n") }
                writeStdout("verify: \(verify.segments) segments, \(verify.records) records, \(verify.faults.count + verify.indexFaults.count) faults\n")
            }
            if let audit = report.audit {
                for problem in audit.problems { writeStderr("audit log: \(problem)\n") }
                writeStdout("audit log: \(audit.entries) entries, \(audit.isSound ? "sound" : "\(audit.problems.count) problems (archive audit verify)")\n")
            }
            guard report.isComplete else {
                writeStderr("\(directory) is incomplete (\(RemoteRestore.markerName)): do not run a node on it\n")
                throw ExitCode(2)
            }
            writeStdout("restored into \(directory); its objects are recorded as uploaded under \(keys.prefix)\n")
        }
    }
}

extension ArchiveCommand.Verify {
    /// `--remote`: the bucket against `remote.sqlite` and the local sealed segments.
    func verifyRemote() async throws {
        guard let config = data.config else { throw ValidationError("--remote needs --config (its [archive.remote] names the bucket)") }
        let settings = try RemoteCommandTarget(config: config).remote
        let keys = RemoteKeys(prefix: settings.prefix)
        var report: RemoteVerifyReport?
        try await reportingRemoteErrors(directory: nil) {
            try await RemoteCommandTarget.withClient(settings) { client in
                report = try await RemoteVerifier(client: client, keys: keys, dataDirectory: data.dataDirectory).verify()
            }
        }
        guard let report else { throw ExitCode.failure }
        for pending in report.pending { writeStdout("pending: \(pending)\n") }
        for key in report.unrecorded { writeStdout("note: \(key) is in the bucket, not in remote.sqlite\n") }
        for fault in report.faults { writeStderr("FAULT \(fault)\n") }
        writeStdout("s3://\(settings.bucket.bucket)/\(keys.prefix): \(report.confirmed) objects confirmed, \(report.pending.count) pending, \(report.faults.count) faults\n")
        if !report.isClean { throw ExitCode(2) }
    }
}

/// The bucket a command reaches: `[archive.remote]` of the configuration, and a client for it.
struct RemoteCommandTarget {
    let validated: ValidatedConfiguration
    let remote: RemoteTierSettings

    init(config: String) throws {
        switch ConfigurationCheck.load(path: config) {
        case .success(let validated):
            guard let remote = validated.remote else { throw ValidationError("\(config) has no [archive.remote]: no bucket to reach") }
            self.validated = validated
            self.remote = remote
        case .failure(let problems):
            throw ValidationError(TerminalText(lines: ConfigurationError(path: config, problems: problems.errors).description).description)
        }
    }

    static func withClient(_ settings: RemoteTierSettings, _ body: (S3Client) async throws -> Void) async throws {
        try await S3Client.with(settings.bucket, body)
    }
}

/// Any error as one line on stderr and exit code 1; a refused signature names the credentials.
func reportingRemoteErrors(directory: String?, _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch {
        var line = "archiverelay: \(describe(error))"
        if let refusal = error as? S3ServiceError, refusal.status == 403 {
            line += " (check the credentials [archive.remote] names, and that they may read the bucket)"
        }
        writeStderr("\(line)\n")
        if let directory, FileManager.default.fileExists(atPath: RemoteRestore.markerPath(dataDirectory: directory)) {
            writeStderr("\(directory) is incomplete (\(RemoteRestore.markerName)): remove it and restore again\n")
        }
        throw ExitCode.failure
    }
}
