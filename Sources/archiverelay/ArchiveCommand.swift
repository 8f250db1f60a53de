import ArchiveStore
import ArgumentParser
import Foundation

/// `archiverelay archive …`: the archive operator tools. All but `reindex` are read-only
/// and safe to run while a node is serving from the same data directory.
struct ArchiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive",
        abstract: "Inspect and verify the archive.",
        subcommands: [List.self, Get.self, Export.self, Verify.self, Stats.self, Reindex.self, Digest.self]
    )
}

/// Options every archive subcommand takes.
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The node's data directory.")
    var dataDirectory: String = "./data"
}

/// Filters shared by list and export. Times are ISO 8601 (`2024-05-01T12:00:00Z`) or a
/// UTC day (`2024-05-01`).
struct FilterOptions: ParsableArguments {
    @Option(help: "Only messages received at or after this time.") var since: String?
    @Option(help: "Only messages received before this time.") var until: String?
    @Option(help: "Envelope sender (exact, case-insensitive).") var sender: String?
    @Option(help: "Envelope recipient (exact, case-insensitive).") var recipient: String?
    @Option(name: .customLong("message-id"), help: "Message-ID header (with or without <>).") var messageID: String?

    func filter() throws -> ArchiveFilter {
        ArchiveFilter(since: try since.map(CLITime.parse), until: try until.map(CLITime.parse),
                      sender: sender, recipient: recipient, messageID: messageID)
    }
}

enum CLITime {
    static func parse(_ text: String) throws -> Date {
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = fractional.date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        if let date = day.date(from: text) { return date }
        throw ValidationError("'\(text)' is not an ISO 8601 time (2024-05-01T12:00:00Z) or day (2024-05-01)")
    }

    static func format(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
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
        FileHandle.standardError.write(Data("archiverelay: \(describe(error))\n".utf8))
        throw ExitCode.failure
    }
}

func describe(_ error: any Error) -> String {
    switch error {
    case ArchiveStoreError.notFound(let what): return "not found: \(what)"
    case ArchiveStoreError.locked(let path): return "the archive is in use by a running node (lock \(path)); stop it first"
    case ArchiveStoreError.unrecoverable(let what): return "damaged record: \(what)"
    default: return "\(error)"
    }
}

func writeStdout(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

extension ArchiveCommand {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List archived messages.")
        @OptionGroup var data: DataDirectoryOption
        @OptionGroup var filters: FilterOptions
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            try reportingErrors {
                let entries = try ArchiveReader(dataDirectory: data.dataDirectory).list(try filters.filter())
                for e in entries {
                    if json {
                        writeStdout(try JSONLine.entry(e) + "\n")
                    } else {
                        writeStdout("\(e.id)  \(CLITime.format(e.receivedAt))  \(e.sender.isEmpty ? "<>" : e.sender)  \(e.size)  \(e.messageID ?? "-")\n")
                    }
                }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the exact original bytes of one message to stdout.")
        @OptionGroup var data: DataDirectoryOption
        @Argument(help: "An archive id, a Message-ID, or sha256:HEX.") var key: String

        func run() async throws {
            try reportingErrors {
                let reader = try ArchiveReader(dataDirectory: data.dataDirectory)
                let bytes = try reader.original(reader.lookup(key))
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export messages as an mboxrd file or a directory of .eml files.")
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "mbox or eml.") var format: String
        @Option(help: "Output file (mbox) or directory (eml).") var out: String
        @OptionGroup var filters: FilterOptions

        func run() async throws {
            guard let exportFormat = ExportFormat(rawValue: format) else {
                throw ValidationError("--format must be mbox or eml")
            }
            try reportingErrors {
                let count = try ArchiveReader(dataDirectory: data.dataDirectory).export(try filters.filter(), format: exportFormat, to: out)
                FileHandle.standardError.write(Data("exported \(count) messages to \(out)\n".utf8))
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every checksum, digest and the segment hash chain.")
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            var clean = true
            try reportingErrors {
                let report = try ArchiveReader(dataDirectory: data.dataDirectory).verify()
                for note in report.notes { writeStdout("note: \(note)\n") }
                for fault in report.faults + report.indexFaults { FileHandle.standardError.write(Data("FAULT \(fault)\n".utf8)) }
                if !report.indexFaults.isEmpty {
                    // The index is derived: rebuilding it from the segments loses nothing.
                    FileHandle.standardError.write(Data("the index does not match the segments: stop the node and run `archiverelay archive reindex --data-dir \(data.dataDirectory)`\n".utf8))
                }
                writeStdout("\(report.segments) segments, \(report.records) records, \(report.faults.count + report.indexFaults.count) faults\n")
                clean = report.isClean
            }
            if !clean { throw ExitCode(2) }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Message and byte totals.")
        @OptionGroup var data: DataDirectoryOption
        @Flag(help: "Print a JSON object.") var json = false

        func run() async throws {
            try reportingErrors {
                let s = try ArchiveReader(dataDirectory: data.dataDirectory).stats()
                if json {
                    writeStdout(try JSONLine.stats(s) + "\n")
                } else {
                    writeStdout("""
                        messages: \(s.messages)
                        raw bytes: \(s.rawBytes)
                        stored bytes: \(s.storedBytes)
                        ratio: \(String(format: "%.3f", s.ratio))
                        segments: \(s.segments)
                        oldest: \(s.oldest.map(CLITime.format) ?? "-")
                        newest: \(s.newest.map(CLITime.format) ?? "-")

                        """)
                }
            }
        }
    }

    struct Reindex: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rebuild the index from the segments (node must be stopped).")
        @OptionGroup var data: DataDirectoryOption

        func run() async throws {
            try reportingErrors {
                let count = try ArchiveReader.reindex(dataDirectory: data.dataDirectory)
                writeStdout("indexed \(count) messages\n")
            }
        }
    }

    struct Digest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per UTC day: message count and SHA-256 over the sorted message digests (compare nodes line by line)."
        )
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "Only messages received at or after this time.") var since: String?
        @Option(help: "Only messages received before this time.") var until: String?

        func run() async throws {
            try reportingErrors {
                let filter = ArchiveFilter(since: try since.map(CLITime.parse), until: try until.map(CLITime.parse))
                for day in try ArchiveReader(dataDirectory: data.dataDirectory).digest(filter) {
                    writeStdout("\(day.day) \(day.messages) \(day.sha256)\n")
                }
            }
        }
    }
}

/// JSON output with stable snake_case keys.
enum JSONLine {
    static func entry(_ e: ArchiveIndexEntry) throws -> String {
        try encode([
            "id": e.id, "sha256": e.sha256, "message_id": e.messageID ?? NSNull(), "received_at": CLITime.format(e.receivedAt),
            "sender": e.sender, "recipients": e.recipients, "subject": e.subject ?? NSNull(), "size": e.size,
            "stored_size": e.storedSize, "segment": e.segment, "offset": e.offset,
        ])
    }

    static func stats(_ s: ArchiveStats) throws -> String {
        try encode([
            "messages": s.messages, "raw_bytes": s.rawBytes, "stored_bytes": s.storedBytes, "ratio": s.ratio,
            "segments": s.segments, "oldest": s.oldest.map(CLITime.format) ?? NSNull(), "newest": s.newest.map(CLITime.format) ?? NSNull(),
        ])
    }

    private static func encode(_ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
