import ArgumentParser
import ForwardQueue
import Foundation
import Logging
import OperatorText

/// `archiverelay queue …`: inspect and steer the forward queue. While the node runs these
/// act through its admin endpoint; when nothing answers there and the queue's lock is
/// free, they read (and, for changes, lock and write) the queue files directly.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Inspect and steer the forward queue.",
        subcommands: [Dump.self, Show.self, Retry.self, Hold.self, Release.self, Delete.self]
    )

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A summary per connection, then one line per entry.")
        @OptionGroup var target: QueueTarget
        @Option(help: "Only this connection.") var connection: String?
        @Flag(help: "Only held entries.") var held = false
        @Flag(help: "One JSON object per line.") var json = false

        func run() async throws {
            let snapshot = try await target.snapshot().filtered(connection: connection, heldOnly: held)
            if json {
                for line in try QueueFormat.jsonLines(snapshot) { writeJSONLine(line) }
            } else {
                writeStdout(QueueFormat.text(snapshot))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Everything about one entry.")
        @OptionGroup var target: QueueTarget
        @Argument(help: "The entry id.") var id: UInt64

        func run() async throws {
            guard let entry = try await target.snapshot().entries.first(where: { $0.id == id }) else {
                throw QueueCLIError("no queue entry \(id)")
            }
            writeStdout(QueueFormat.details(entry))
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an entry (or all) due now and probe its peer now.")
        @OptionGroup var target: QueueTarget
        @Argument(help: "The entry id.") var id: UInt64?
        @Flag(help: "Every waiting entry.") var all = false

        func run() async throws {
            let selector = try QueueSelector(id: id, all: all)
            try await target.change("retry", selector) { _ in
                "the node is stopped: every entry is due when it starts"
            }
        }
    }

    struct Hold: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop delivering an entry until it is released.")
        @OptionGroup var target: QueueTarget
        @Argument(help: "The entry id.") var id: UInt64

        func run() async throws {
            try await target.change("hold", .one(id)) { queue in
                try await queue.hold(id: id)
                return "entry \(id) held"
            }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver held entries again.")
        @OptionGroup var target: QueueTarget
        @Argument(help: "The entry id.") var id: UInt64?
        @Flag(help: "Every held entry.") var all = false

        func run() async throws {
            let selector = try QueueSelector(id: id, all: all)
            try await target.change("release", selector) { queue in
                "\(try await queue.release(id: selector.id)) entries released"
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an entry for good (the archived copy stays).")
        @OptionGroup var target: QueueTarget
        @Argument(help: "The entry id.") var id: UInt64
        @Flag(help: "Confirm the deletion.") var yes = false

        func validate() throws {
            guard yes else { throw ValidationError("deleting a queue entry cannot be undone: add --yes") }
        }

        func run() async throws {
            try await target.change("delete", .one(id)) { queue in
                try await queue.delete(id: id)
                return "entry \(id) deleted"
            }
        }
    }
}

/// An entry id or `--all`.
enum QueueSelector {
    case one(UInt64)
    case all

    init(id: UInt64?, all: Bool) throws {
        switch (id, all) {
        case (let id?, false): self = .one(id)
        case (nil, true): self = .all
        default: throw ValidationError("give an entry id or --all")
        }
    }

    var id: UInt64? { if case .one(let id) = self { return id } else { return nil } }
    var query: String { id.map { "id=\($0)" } ?? "all=1" }
}

/// A queue command's failure. Its text may quote a peer's or the node's answer, so it is
/// escaped for the terminal.
struct QueueCLIError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = TerminalText.escape(text) }
}
