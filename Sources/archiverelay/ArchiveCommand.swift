import ArchiveStore
import ArchiveTier
import ArgumentParser
import DurableFiles
import Foundation
import OperatorText
import RelayConfiguration

/// `archiverelay archive …`: the archive operator tools. All but `reindex` are read-only
/// and safe to run while a node is serving from the same data directory. Those that hand
/// out archived mail (list, search, show, get, export) record it in the audit log first.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Inspect and verify the archive.",
        subcommands: [List.self, Search.self, Show.self, Get.self, Export.self, Verify.self, Stats.self, Reindex.self, Digest.self, Restore.self,
                      Audit.self, Hold.self, Expire.self, Expired.self]
    )
}

/// Options every archive subcommand takes: where the archive is, and with `--config` the
/// keys its encrypted segments need (`[archive] encryption_keys_file`) and the bucket its
/// evicted segments are read from (`[archive.remote]`).
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The node's data directory (default: the configuration's data_dir, else ./data).")
    var explicitDataDirectory: String?
    @Option(help: "The node's configuration file: its data_dir, encryption key file (needed to read encrypted segments) and [archive.remote] (to read evicted ones).")
    var config: String?

    func validate() throws { _ = try access() }

    var dataDirectory: String { explicitDataDirectory ?? (try? access())?.dataDirectory ?? "./data" }

    /// The keys of the configuration's key file; none without `--config`.
    var keys: SegmentKeyRing { (try? access())?.keys ?? .none }

    /// Reads evicted segments from the configuration's bucket; nil without `--config` or
    /// `[archive.remote]`. Connects (and reads the credentials) at its first read only.
    var remote: (any RemoteSegmentSource)? {
        (try? access())?.remote.map { BucketSegmentSource(configuration: $0.bucket) }
    }

    private func access() throws -> ArchiveAccess? {
        guard let config else { return nil }
        switch ArchiveAccess.load(configPath: config) {
        case .success(let access): return access
        case .failure(let problems):
            throw ValidationError(TerminalText(lines: ConfigurationError(path: config, problems: problems.errors).description).description)
        }
    }
}

/// Filters shared by list and export. Times are `CommandLineTime`'s two forms.
struct FilterOptions: ParsableArguments {
    @Option(help: "Only messages received at or after this time (\(CommandLineTime.forms)).") var since: String?
    @Option(help: "Only messages received before this time.") var until: String?
    @Option(help: ArgumentHelp("A real sender of any arrival (exact, case-insensitive).",
                               discussion: "MAIL FROM for plain mail; Sender or On-Behalf-Of for a journal report."))
    var sender: String?
    @Option(help: ArgumentHelp("A recipient of any arrival (exact, case-insensitive).",
                               discussion: "RCPT TO of every arrival, and every recipient a journal report names (To, Cc, Bcc, expanded list members) with the lists and mailboxes they came through."))
    var recipient: String?
    @Option(name: .customLong("message-id"), help: "Message-ID header (with or without <>).") var messageID: String?

    func filter() throws -> ArchiveFilter {
        ArchiveFilter(since: try since.map(commandLineTime), until: try until.map(commandLineTime),
                      sender: sender, recipient: recipient, messageID: messageID)
    }
}

/// A `--since`/`--until` value, or a usage error naming the accepted forms.
func commandLineTime(_ text: String) throws -> Date {
    do {
        return try CommandLineTime.parse(text)
    } catch {
        throw ValidationError(error.description)
    }
}

/// Runs a subcommand body, turning any error into a message on stderr and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        writeStderr("archiverelay: \(describe(error))\n")
        throw ExitCode.failure
    }
}

func describe(_ error: any Error) -> String {
    switch error {
    case ArchiveStoreError.notFound(let what): return "not found: \(what)"
    case ArchiveStoreError.locked(let path): return "the archive is in use by a running node (lock \(path)); stop it first"
    case ArchiveStoreError.unrecoverable(let what): return "damaged record: \(what)"
    case ArchiveStoreError.ambiguous(let key, let ids):
        return "\(ids.count) messages have the Message-ID \(key): \(ids.joined(separator: ", ")); get one by its archive id"
    case ExportRefusal.insideDataDirectory(let path, let dataDirectory):
        return "will not export to \(path): it is inside the data directory \(dataDirectory)"
    case ExportRefusal.exists(let path): return "\(path) exists; add --force to replace it"
    default: return "\(error)"
    }
}

/// Human-readable output: every interpolated value is escaped (`TerminalText`).
func writeStdout(_ text: TerminalText) { FileHandle.standardOutput.write(Data(text.description.utf8)) }

func writeStderr(_ text: TerminalText) { FileHandle.standardError.write(Data(text.description.utf8)) }

/// One line of JSON output, DEL and C1 escaped too (`TerminalText.escapeJSON`).
func writeJSONLine(_ json: String) { FileHandle.standardOutput.write(Data((TerminalText.escapeJSON(json) + "\n").utf8)) }

extension ArchiveCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List archived originals, one line each: id, received-at, sender, size, arrivals, Message-ID.",
            discussion: "An original is listed once however many arrivals brought it; sender and recipient filters match any arrival."
        )
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var filters: FilterOptions
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            try reportingErrors {
                let entries = try ArchiveReader(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote).list(try filters.filter())
                try AuditedRead.record("archive.list", dataDirectory: data.dataDirectory, arguments: filters.auditArguments, resultCount: entries.count)
                for e in entries {
                    if json {
                        writeJSONLine(try JSONLine.entry(e))
                    } else {
                        writeStdout(ListLine.text(e))
                    }
                }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the exact bytes of one original (or, with --as-received, of one arrival) to stdout.",
            discussion: "The original is the message as its sender sent it (for a journal report, the message it wraps). Not to a terminal unless --raw: the bytes are the sender's, escape sequences included. Redirect to a file or pipe to less."
        )
        @OptionGroup var data: DataDirectoryOption
        @Argument(help: "An archive id, an arrival id, a Message-ID, or sha256:HEX (with --as-received: an arrival id).") var key: String
        @Flag(name: .customLong("as-received"), help: "The arrival's bytes exactly as received (a journal report whole), not its original.")
        var asReceived = false
        @Flag(help: "Write the bytes even when stdout is a terminal.") var raw = false

        func run() async throws {
            try reportingErrors {
                guard raw || isatty(STDOUT_FILENO) == 0 else {
                    writeStderr("archiverelay: stdout is a terminal and a message may hold escape sequences that drive it; redirect it (> file, | less) or add --raw\n")
                    throw ExitCode.failure
                }
                let reader = try ArchiveReader(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote)
                let bytes: [UInt8]
                if asReceived {
                    guard let row = try reader.arrival(id: key) ?? reader.arrival(id: key.uppercased()) else {
                        throw ArchiveStoreError.notFound("no arrival \(key) (archive show lists an original's arrivals)")
                    }
                    bytes = try reader.asReceived(row)
                } else {
                    bytes = try reader.original(reader.lookup(key))
                }
                try AuditedRead.record("archive.get", dataDirectory: data.dataDirectory,
                                       arguments: asReceived ? ["id": key, "as_received": "true"] : ["id": key], resultCount: 1)
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export messages as an mboxrd file or a directory of .eml files.")
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "mbox or eml.") var format: String
        @Option(help: "Output file (mbox) or directory (eml), outside the data directory.") var out: String
        @Flag(help: "Replace files that exist (by rename: a symlink there is replaced, never written through).") var force = false
        @Flag(name: .customLong("with-envelope"),
              help: "Write one X-Archiverelay-Arrival header field per arrival before each original (who sent and received it).")
        var withEnvelope = false
        @OptionGroup var filters: FilterOptions
        @Option(help: ArgumentHelp("Only the originals this search query finds (archive search's language), all of them.",
                                   discussion: "With other filters: the hits that also match them. In received order, as without."))
        var query: String?

        func run() async throws {
            guard let exportFormat = ExportFormat(rawValue: format) else {
                throw ValidationError("--format must be mbox or eml")
            }
            FilePermissions.restrictProcessUmask()
            try reportingQueryErrors {
                let reader = try ArchiveReader(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote)
                let filter = try filters.filter()
                let entries: [ArchiveIndexEntry]
                if let query {
                    let search = try ArchiveSearch(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote)
                    entries = try search.entries(try search.hits(query, limit: Int.max)).filter(filter.matches)
                        .sorted { ($0.receivedAt, $0.id) < ($1.receivedAt, $1.id) }
                } else {
                    entries = try reader.list(filter)
                }
                var arguments = filters.auditArguments.merging(["format": format, "out": out]) { $1 }
                arguments["query"] = query
                if withEnvelope { arguments["with_envelope"] = "true" }
                try AuditedRead.record("archive.export", dataDirectory: data.dataDirectory, arguments: arguments, resultCount: entries.count)
                let count = try reader.export(entries, format: exportFormat, to: out, overwrite: force, withEnvelope: withEnvelope)
                writeStderr("exported \(count) messages to \(out)\n")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every checksum, digest and the segment hash chain.",
            discussion: "With --remote (and --config): instead, check the bucket of [archive.remote] against remote.sqlite and the local sealed segments."
        )
        @OptionGroup var data: DataDirectoryOption
        @Flag(help: "Check the object-storage bucket: every recorded upload there as recorded, local sealed segments not uploaded listed as pending.")
        var remote = false

        func run() async throws {
            if remote { return try await verifyRemote() }
            var clean = true
            try reportingErrors {
                let report = try ArchiveReader(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote).verify()
                for note in report.notes { writeStdout("note: \(note)\n") }
                if report.removedRecords > 0 {
                    let rules = report.removedByRule.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                    writeStdout("expiry removed \(report.removedRecords) records (\(rules)); `archive expired` lists them\n")
                }
                for fault in report.faults + report.indexFaults { writeStderr("FAULT \(fault)\n") }
                if !report.indexFaults.isEmpty {
                    // The index is derived: rebuilding it from the segments loses nothing.
                    writeStderr("the index does not match the segments: stop the node and run `archiverelay archive reindex --data-dir \(data.dataDirectory)`\n")
                }
                if report.evictedSegments > 0 {
                    writeStdout("\(report.evictedSegments) segments evicted to the bucket, \(report.evictedUnread) of them not read (chain checked from their stubs)\n")
                }
                writeStdout("\(report.segments) segments, \(report.records) records, \(report.faults.count + report.indexFaults.count) faults\n")
                clean = report.isClean
            }
            if !clean { throw ExitCode(2) }
        }
    }

    /// What expiry removed, from the segments' expiry lists (docs/FORMAT.md, "Expiry").
    struct Expired: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every record expiry removed: its id, original's SHA-256, rule, when its retention ran out and when it left.")
        @OptionGroup var data: DataDirectoryOption
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            try reportingAuditedErrors {
                let expired = try ArchiveReader(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote).expiredRecords()
                try CommandAudit(dataDirectory: data.dataDirectory).record("archive.expired", json ? ["format": "json"] : [:], count: expired.count)
                for e in expired {
                    let r = e.record
                    let kind = r.kind == .message ? "message" : "arrival"
                    if json {
                        writeJSONLine(try JSONLine.encode([
                            "segment": Int(e.segment), "offset": r.offset, "kind": kind, "id": r.id, "sha256": Hex.encode(r.originalSHA256),
                            "rule": r.rule, "expired_at": CommandLineTime.format(r.expiredAt), "removed_at": CommandLineTime.format(r.removedAt),
                        ]))
                    } else {
                        writeStdout("\(r.id)  \(kind)  \(r.rule)  expired \(CommandLineTime.format(r.expiredAt))  removed \(CommandLineTime.format(r.removedAt))  \(SegmentName.file(e.segment))@\(r.offset)  sha256:\(Hex.encode(r.originalSHA256))\n")
                    }
                }
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Message and byte totals.")
        @OptionGroup var data: DataDirectoryOption
        @Flag(help: "Print a JSON object.") var json = false

        func run() async throws {
            try reportingErrors {
                let s = try ArchiveReader(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote).stats()
                if json {
                    writeJSONLine(try JSONLine.stats(s))
                } else {
                    writeStdout("""
                        messages: \(s.messages)
                        raw bytes: \(s.rawBytes)
                        stored bytes: \(s.storedBytes)
                        ratio: \(String(format: "%.3f", s.ratio))
                        segments: \(s.segments)
                        oldest: \(s.oldest.map(CommandLineTime.format) ?? "-")
                        newest: \(s.newest.map(CommandLineTime.format) ?? "-")

                        """)
                }
            }
        }
    }

    struct Reindex: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rebuild the index from the segments (node must be stopped).")
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            FilePermissions.restrictProcessUmask()
            try reportingErrors {
                let count = try ArchiveReader.reindex(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote)
                writeStdout("indexed \(count) messages\n")
            }
        }
    }

    struct Digest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per UTC day: message count and SHA-256 over the sorted message digests (compare nodes line by line)."
        )
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "Only messages received at or after this time (\(CommandLineTime.forms)).") var since: String?
        @Option(help: "Only messages received before this time.") var until: String?

        func run() async throws {
            try reportingErrors {
                let filter = ArchiveFilter(since: try since.map(commandLineTime), until: try until.map(commandLineTime))
                for day in try ArchiveReader(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote).digest(filter) {
                    writeStdout("\(day.day) \(day.messages) \(day.sha256)\n")
                }
            }
        }
    }
}

/// JSON output with stable snake_case keys.
/// One original as `list` and `search` print it: id, received-at, sender, size, arrivals,
/// Message-ID.
enum ListLine {
    static func text(_ e: ArchiveIndexEntry) -> TerminalText {
        let arrivals: TerminalText = e.journal ? "arrivals=\(e.arrivals),journal" : "arrivals=\(e.arrivals)"
        return "\(e.id)  \(CommandLineTime.format(e.receivedAt))  \(e.sender.isEmpty ? "<>" : e.sender)  \(e.size)  \(arrivals)  \(e.messageID ?? "-")\n"
    }
}

enum JSONLine {
    static func entry(_ e: ArchiveIndexEntry) throws -> String {
        try encode(entryFields(e))
    }

    static func entryFields(_ e: ArchiveIndexEntry) -> [String: Any] {
        [
            "id": e.id, "sha256": e.sha256, "message_id": e.messageID ?? NSNull(), "received_at": CommandLineTime.format(e.receivedAt),
            "sender": e.sender, "senders": e.senders, "recipients": e.recipients, "arrivals": e.arrivals, "journal": e.journal,
            "subject": e.subject ?? NSNull(), "size": e.size,
            "stored_size": e.storedSize, "segment": e.segment, "offset": e.offset,
        ]
    }

    static func stats(_ s: ArchiveStats) throws -> String {
        try encode([
            "messages": s.messages, "raw_bytes": s.rawBytes, "stored_bytes": s.storedBytes, "ratio": s.ratio,
            "segments": s.segments, "oldest": s.oldest.map(CommandLineTime.format) ?? NSNull(), "newest": s.newest.map(CommandLineTime.format) ?? NSNull(),
        ])
    }

    static func encode(_ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
