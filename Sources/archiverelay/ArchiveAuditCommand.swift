import ArchiveStore
import ArgumentParser
import AuditTrail
import Foundation
import OperatorText

extension ArchiveCommand {
    /// `archive audit`: the audit log (docs/OPERATIONS.md, "Audit trail").
    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the audit log (who read or changed what, when) or verify its hash chain.",
            subcommands: [Entries.self, Verify.self],
            defaultSubcommand: Entries.self
        )

        struct Entries: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list",
                abstract: "Print the audit entries, oldest first: seq, time, actor, action, arguments, result count.",
                discussion: "Reading the audit log is itself recorded (audit.read), after the entries are read."
            )
            @OptionGroup var data: DataDirectoryOption
            @Option(help: "Only entries at or after this time (\(CommandLineTime.forms)).") var since: String?
            @Flag(help: "Each entry as the log stores it: one JSON object per line, with seq, prev and hash.") var json = false

            func run() async throws {
                let since = try since.map(commandLineTime)
                try reportingErrors {
                    try AuditedRead.requireDataDirectory(data.dataDirectory)
                    let records = try AuditLog(dataDirectory: URL(fileURLWithPath: data.dataDirectory)).entries(since: since)
                    var arguments: [String: String] = [:]
                    if let text = self.since { arguments["since"] = text }
                    if json { arguments["format"] = "json" }
                    try AuditedRead.record("audit.read", dataDirectory: data.dataDirectory, arguments: arguments, resultCount: records.count)
                    for record in records {
                        if json {
                            writeJSONLine(String(record.line.dropLast()))
                        } else {
                            writeStdout(AuditedRead.text(record))
                        }
                    }
                }
            }
        }

        struct Verify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check every entry's hash, every link, the sequence and the log's end against its head.",
                discussion: "Exit 0 with a summary line when the chain is sound; exit 1 with a line for each problem."
            )
            @OptionGroup var data: DataDirectoryOption

            func run() async throws {
                var sound = true
                try reportingErrors {
                    try AuditedRead.requireDataDirectory(data.dataDirectory)
                    let log = try AuditLog(dataDirectory: URL(fileURLWithPath: data.dataDirectory))
                    let result = log.verify()
                    for note in result.notes { writeStdout("note: \(note)\n") }
                    for problem in result.problems { writeStdout("PROBLEM \(problem.description)\n") }
                    let head = result.head.map { "head seq \($0.sequence)" } ?? "no head"
                    writeStdout("\(log.logPath): \(result.entries) entries, \(head), \(result.problems.count) problems\n")
                    sound = result.isSound
                }
                if !sound { throw ExitCode.failure }
            }
        }
    }
}

/// Every archive read of the CLIs goes through here: recorded as the OS user after its
/// result is computed and before any of it is written out. When the log cannot take the
/// entry the command exits 75 (EX_TEMPFAIL) naming the log and prints nothing of the
/// result; no flag skips it.
enum AuditedRead {
    static func record(_ action: String, dataDirectory: String, arguments: [String: String], resultCount: Int?) throws {
        do {
            let log = try AuditLog(dataDirectory: URL(fileURLWithPath: dataDirectory))
            try log.record(AuditEntry(actor: AuditActor.operatingSystemUser(), action: action, arguments: arguments, resultCount: resultCount))
        } catch {
            writeStderr("archiverelay: the read was not recorded, so nothing of it is shown: \(String(describing: error))\n")
            throw ExitCode(75)
        }
    }

    /// The audit commands read an existing data directory; a mistyped path must not get a
    /// new one with an empty log.
    static func requireDataDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ArchiveStoreError.notFound("no data directory \(path)")
        }
    }

    /// `seq  time  actor  action  key=value …  count=N`; a value with a space or a quote in
    /// it quoted, every control character escaped by `TerminalText`.
    static func text(_ record: AuditRecord) -> TerminalText {
        let arguments = record.entry.arguments.sorted { $0.key < $1.key }.map { "\($0.key)=\(quoted($0.value))" }.joined(separator: " ")
        let count = record.entry.resultCount.map { "count=\($0)" } ?? "count=-"
        return "\(String(record.sequence))  \(record.timeText)  \(record.entry.actor)  \(record.entry.action)  \(arguments.isEmpty ? "-" : arguments)  \(count)\n"
    }

    private static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}

extension FilterOptions {
    /// The filters given, as audit arguments.
    var auditArguments: [String: String] {
        var arguments: [String: String] = [:]
        arguments["since"] = since
        arguments["until"] = until
        arguments["sender"] = sender
        arguments["recipient"] = recipient
        arguments["message_id"] = messageID
        return arguments
    }
}
