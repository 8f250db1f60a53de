@testable import AuditTrail
import Foundation
import TestSupport
import Testing

/// Appending: the files and their modes, a torn last line moved aside by the next append,
/// appends refused after entries were cut off, and appends from many threads at once.
@Suite struct AuditLogTests {
    static func withLog(_ body: (String, AuditLog) throws -> Void) throws {
        let directory = try makeTempDirectory("audit")
        defer { removeTempDirectory(directory) }
        try body(directory, try AuditLog(dataDirectory: URL(fileURLWithPath: directory)))
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0
    }

    @Test func recordsAndReadsBackWithTheFilesPrivate() throws {
        try Self.withLog { directory, log in
            #expect(Self.mode(directory + "/audit") == 0o750 && Self.mode(log.logPath) == 0o640)
            let searched = AuditEntry(time: Date(timeIntervalSince1970: 1_796_119_200.5), actor: "user:alice", action: "archive.search",
                                      arguments: ["query": "merger \"q1\"\n\u{1b}[31m", "limit": "100"], resultCount: 2)
            try log.record(searched)
            try log.record(AuditEntry(time: Date(timeIntervalSince1970: 1_796_119_260), actor: "node", action: "config.reload", arguments: ["result": "refused"]))
            #expect(Self.mode(log.headPath) == 0o640)
            let entries = try log.entries()
            #expect(entries.map(\.entry) == [searched, AuditEntry(time: Date(timeIntervalSince1970: 1_796_119_260), actor: "node", action: "config.reload",
                                                                  arguments: ["result": "refused"])])
            #expect(entries.first?.previousHash == AuditRecord.genesisHash && entries.last?.previousHash == entries.first?.hash)
            #expect(try log.entries(since: Date(timeIntervalSince1970: 1_796_119_201)).map(\.sequence) == [2])
            let text = String(decoding: readFile(log.logPath), as: UTF8.self)
            #expect(text.split(separator: "\n").count == 2, "a control character in an argument must not break the line: \(text)")
            #expect(text.hasPrefix("{\"seq\":1,\"time\":\"2026-12-01T10:00:00.500Z\",\"actor\":\"user:alice\",\"action\":\"archive.search\",\"arguments\":{\"limit\":\"100\",\"query\":\"merger \\\"q1\\\"\\u000a\\u001b[31m\"},\"result_count\":2,\"prev\":\"0000"))
            #expect(log.verify().isSound)
        }
    }

    @Test func aTornLastLineIsReportedThenMovedAsideByTheNextAppend() throws {
        try Self.withLog { directory, log in
            for n in 1...3 { try log.record(AuditEntry(actor: "user:alice", action: "archive.get", arguments: ["id": "A\(n)"], resultCount: 1)) }
            let whole = readFile(log.logPath)
            let torn = Array("{\"seq\":4,\"time\":\"2026-12-0".utf8)
            try writeFile(log.logPath, whole + torn)
            #expect(log.verify().problems == [.tornTail(offset: whole.count, bytes: torn.count)])
            #expect(try log.entries().count == 3)

            try log.record(AuditEntry(actor: "user:bob", action: "archive.show", arguments: ["id": "A1"], resultCount: 1))
            let broken = log.logPath + ".\(whole.count).broken"
            #expect(readFile(broken) == torn)
            let result = log.verify()
            #expect(result.isSound, "\(result.problems)")
            #expect(result.notes.contains { $0.contains(broken) }, "\(result.notes)")
            #expect(try log.entries().map(\.sequence) == [1, 2, 3, 4])
            #expect(try log.entries().last?.entry.actor == "user:bob")
        }
    }

    /// An append after entries were cut off (or the last one made unreadable) would hide it
    /// under a new head: refused, naming the log, and the log is left as it is.
    @Test(arguments: ["cut", "garbled", "head rewritten"]) func anAppendToATamperedLogIsRefused(_ how: String) throws {
        try Self.withLog { _, log in
            for n in 1...3 { try log.record(AuditEntry(actor: "user:alice", action: "archive.get", arguments: ["id": "A\(n)"], resultCount: 1)) }
            var lines = String(decoding: readFile(log.logPath), as: UTF8.self).split(separator: "\n").map(String.init)
            switch how {
            case "cut": lines.removeLast()
            case "garbled": lines[2] = "{garbled"
            default: try writeFile(log.headPath, Array("{\"seq\":3,\"hash\":\"\(String(repeating: "0", count: 64))\"}\n".utf8))
            }
            try writeFile(log.logPath, Array(lines.map { $0 + "\n" }.joined().utf8))
            let before = readFile(log.logPath)
            #expect {
                try log.record(AuditEntry(actor: "user:mallory", action: "archive.get"))
            } throws: { error in
                (error as? AuditLogError).map { $0.description.hasPrefix("audit log \(log.logPath): ") } ?? false
            }
            #expect(readFile(log.logPath) == before)
        }
    }

    @Test func aDirectoryInPlaceOfTheLogFailsNamingIt() throws {
        let directory = try makeTempDirectory("audit")
        defer { removeTempDirectory(directory) }
        try FileManager.default.createDirectory(atPath: directory + "/audit/audit.log", withIntermediateDirectories: true)
        let log = try AuditLog(dataDirectory: URL(fileURLWithPath: directory))
        #expect { try log.record(AuditEntry(actor: "user:alice", action: "archive.get")) } throws: { error in
            "\(error)".hasPrefix("audit log \(directory)/audit/audit.log: ")
        }
    }

    /// Eight threads, each with its own instance (its own descriptors, as separate processes
    /// have), and eight more sharing one: every entry is there once, in one sound chain.
    @Test func concurrentAppendsLeaveOneSoundChain() throws {
        try Self.withLog { directory, shared in
            let perThread = 25
            DispatchQueue.concurrentPerform(iterations: 16) { thread in
                let log = thread < 8 ? try? AuditLog(dataDirectory: URL(fileURLWithPath: directory)) : shared
                for n in 0..<perThread {
                    do {
                        try log?.record(AuditEntry(actor: "user:t\(thread)", action: "archive.search", arguments: ["n": "\(n)"], resultCount: n))
                    } catch {
                        Issue.record("thread \(thread) entry \(n): \(error)")
                    }
                }
            }
            let result = shared.verify()
            #expect(result.isSound, "\(result.problems.prefix(10))")
            let entries = try shared.entries()
            #expect(entries.map(\.sequence) == Array(1...(16 * perThread)))
            let written = Set(entries.map { "\($0.entry.actor) \($0.entry.arguments["n"] ?? "")" })
            #expect(written.count == 16 * perThread)
            #expect(result.head?.sequence == 16 * perThread)
        }
    }
}
