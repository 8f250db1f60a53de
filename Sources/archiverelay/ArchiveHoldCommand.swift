import ArchiveStore
import ArgumentParser
import AuditTrail
import Foundation
import Governance
import OperatorText

extension ArchiveCommand {
    /// `archive hold …`: legal holds (docs/OPERATIONS.md, "Legal holds"). Every subcommand
    /// records an audit entry before it prints or changes anything.
    struct Hold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list, show and release legal holds: what an open hold's query matches is never expired.",
            subcommands: [Create.self, List.self, Show.self, Release.self]
        )

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Open a hold on every original its query matches, now and arriving later.",
                discussion: "The query is `archive search`'s language; one that does not parse exits 64 and names the column.")
            @OptionGroup var data: DataDirectoryOption
            @Argument(help: "The hold's name: 1 to 64 of A-Z a-z 0-9 . _ -, unique among open holds.") var name: String
            @Option(help: "The search query whose matches the hold keeps.") var query: String
            @Option(help: "Why (a matter, a request): kept with the hold.") var reason: String

            func run() async throws {
                try reportingAuditedErrors {
                    let audit = try CommandAudit(dataDirectory: data.dataDirectory)
                    guard let store = try HoldStore.open(dataDirectory: data.dataDirectory, .create) else { return }
                    let hold = LegalHold(name: name, query: query, reason: reason, createdAt: Date(),
                                         createdBy: AuditActor.operatingSystemUser())
                    try store.create(hold, audit: audit)
                    writeStdout("hold \(name) created\n")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Every hold, open and released, oldest first.")
            @OptionGroup var data: DataDirectoryOption
            @Flag(help: "One JSON object per hold.") var json = false

            func run() async throws {
                try reportingAuditedErrors {
                    let holds = try HoldStore.open(dataDirectory: data.dataDirectory, .read)?.all() ?? []
                    try CommandAudit(dataDirectory: data.dataDirectory).record("hold.list", [:], count: holds.count)
                    for hold in holds {
                        if json {
                            writeJSONLine(try JSONLine.encode(HoldText.fields(hold)))
                        } else {
                            writeStdout(HoldText.line(hold))
                        }
                    }
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "A hold's query, reason, who opened (and released) it when, and the originals it covers now.")
            @OptionGroup var data: DataDirectoryOption
            @Argument(help: "The hold's name (the open one, else the last released one).") var name: String
            @Option(help: "At most this many archive ids, newest first (the count is of all).") var limit = 1000
            @Flag(help: "One JSON object: the hold's fields, count and ids.") var json = false

            func validate() throws {
                guard limit >= 0 else { throw ValidationError("--limit must be 0 or more") }
            }

            func run() async throws {
                try reportingAuditedErrors {
                    guard let hold = try HoldStore.open(dataDirectory: data.dataDirectory, .read)?.hold(named: name) else {
                        throw ArchiveStoreError.notFound("no hold named \(name)")
                    }
                    let search = try ArchiveSearch(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote)
                    let count = try search.count(hold.query)
                    let ids = try search.hits(hold.query, limit: limit).map(\.id)
                    try CommandAudit(dataDirectory: data.dataDirectory).record("hold.show", ["hold": name], count: count)
                    if json {
                        writeJSONLine(try JSONLine.encode(HoldText.fields(hold).merging(["count": count, "ids": ids]) { _, new in new }))
                    } else {
                        writeStdout(HoldText.details(hold, count: count, ids: ids))
                    }
                }
            }
        }

        struct Release: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Release an open hold: what it kept expires when its retention says (the hold stays listed).")
            @OptionGroup var data: DataDirectoryOption
            @Argument(help: "The open hold's name.") var name: String
            @Flag(help: "Confirm: releasing lets expiry remove what only this hold kept.") var yes = false

            func validate() throws {
                guard yes else { throw ValidationError("releasing a hold lets expiry remove what it kept: add --yes to confirm") }
            }

            func run() async throws {
                try reportingAuditedErrors {
                    let audit = try CommandAudit(dataDirectory: data.dataDirectory)
                    guard let store = try HoldStore.open(dataDirectory: data.dataDirectory, .change) else {
                        throw HoldError.noOpenHold(name)
                    }
                    try store.release(name, by: AuditActor.operatingSystemUser(), audit: audit)
                    writeStdout("hold \(name) released\n")
                }
            }
        }
    }
}

/// How the hold commands print a hold.
enum HoldText {
    static func fields(_ hold: LegalHold) -> [String: Any] {
        [
            "name": hold.name, "query": hold.query, "reason": hold.reason, "state": hold.isOpen ? "open" : "released",
            "created_at": CommandLineTime.format(hold.createdAt), "created_by": hold.createdBy,
            "released_at": hold.releasedAt.map(CommandLineTime.format) ?? NSNull(), "released_by": hold.releasedBy ?? NSNull(),
        ]
    }

    /// `NAME  open  CREATED-AT  BY  QUERY`, released holds with when and by whom.
    static func line(_ hold: LegalHold) -> TerminalText {
        let state = hold.releasedAt.map { "released \(CommandLineTime.format($0)) by \(hold.releasedBy ?? "")" } ?? "open"
        return "\(hold.name)  \(state)  created \(CommandLineTime.format(hold.createdAt)) by \(hold.createdBy)  \(hold.query)\n"
    }

    static func details(_ hold: LegalHold, count: Int, ids: [String]) -> TerminalText {
        var text: TerminalText = """
            name: \(hold.name)
            state: \(hold.isOpen ? "open" : "released")
            query: \(hold.query)
            reason: \(hold.reason)
            created: \(CommandLineTime.format(hold.createdAt)) by \(hold.createdBy)

            """
        if let released = hold.releasedAt {
            text += "released: \(CommandLineTime.format(released)) by \(hold.releasedBy ?? "")\n"
        }
        text += "covers: \(count)\n"
        for id in ids { text += "\(id)\n" }
        return text
    }
}
