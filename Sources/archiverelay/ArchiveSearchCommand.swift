import ArchiveStore
import ArgumentParser
import Foundation
import OperatorText
import SearchQuery

extension ArchiveCommand {
    /// `archive search QUERY`: docs/OPERATIONS.md, "Searching the archive".
    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find archived originals by who, when and what they say; one line each, newest first (as list).",
            discussion: """
                The query language is in docs/OPERATIONS.md ("Searching the archive"): words and "phrases", from: to: cc: bcc: \
                subject: body: filename:, has:attachment, after: before: received-after: received-before: (YYYY-MM-DD, UTC), \
                larger: smaller: (10K, 5M), message-id:, AND (implied), OR, NOT or -, parentheses. Quote the query for the shell. \
                A query that does not parse exits 64 and names the column.
                """
        )
        @OptionGroup var data: DataDirectoryOption
        @Option(help: "At most this many hits, newest first.") var limit = 100
        @Flag(help: "Print only how many originals match.") var count = false
        @Flag(help: "One JSON object per line: list's fields, the Date field, has_attachment and a highlighted snippet.") var json = false
        @Argument(help: "The query; its words are joined by spaces. Put -- before it when it begins with - (-- -spam offer).") var query: [String] = []

        func validate() throws {
            guard limit >= 0 else { throw ValidationError("--limit must be 0 or more") }
            guard !query.isEmpty else { throw ValidationError("give a query, e.g. 'from:alice@example.com merger'") }
        }

        func run() async throws {
            let text = query.joined(separator: " ")
            try reportingQueryErrors {
                let search = try ArchiveSearch(dataDirectory: data.dataDirectory, keys: data.keys, remote: data.remote)
                if search.unindexedArrivals > 0 {
                    writeStderr("archiverelay: the search index lacks \(search.unindexedArrivals) arrivals and cannot be written by this user; they are not searched (the node indexes them)\n")
                }
                if count {
                    let found = try search.count(text)
                    try AuditedRead.record("archive.search", dataDirectory: data.dataDirectory, arguments: ["query": text, "count": "true"], resultCount: found)
                    writeStdout("\(found)\n")
                    return
                }
                let hits = try search.hits(text, limit: limit)
                let entries = try search.entries(hits)
                try AuditedRead.record("archive.search", dataDirectory: data.dataDirectory, arguments: ["query": text, "limit": String(limit)],
                                       resultCount: entries.count)
                if json {
                    let snippets = try SearchSnippets(query: text)
                    for (hit, e) in zip(hits, entries) {
                        writeJSONLine(try JSONLine.hit(e, hit, snippet: try snippets.snippet(original: try search.original(e))))
                    }
                } else {
                    for e in entries { writeStdout(ListLine.text(e)) }
                }
            }
        }
    }
}

/// `reportingErrors`, and a query that does not parse exits 64 (EX_USAGE) with its column.
func reportingQueryErrors(_ body: () throws -> Void) throws {
    try reportingErrors {
        do {
            try body()
        } catch let error as SearchQueryError {
            writeStderr("archiverelay: query: \(error.description)\n")
            throw ExitCode(64)
        }
    }
}

extension JSONLine {
    /// `entry`'s fields and what the search adds.
    static func hit(_ e: ArchiveIndexEntry, _ hit: SearchHit, snippet: String) throws -> String {
        try encode(hitFields(e, hit, snippet: snippet))
    }

    /// What a hit is in JSON, here and on the admin API (`GET /archive/search`).
    static func hitFields(_ e: ArchiveIndexEntry, _ hit: SearchHit, snippet: String) -> [String: Any] {
        entryFields(e).merging([
            "date": CommandLineTime.format(hit.date), "has_attachment": hit.hasAttachment, "snippet": snippet,
        ]) { _, added in added }
    }
}
