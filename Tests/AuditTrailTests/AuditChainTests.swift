@testable import AuditTrail
import Foundation
import TestSupport
import Testing

/// One way of tampering with a log of six entries, and the problem `verify` must report.
struct Tampering: Sendable, CustomTestStringConvertible {
    var name: String
    /// Changes the lines of `audit.log` (without newlines) and the head file's text (nil: deleted).
    var change: @Sendable (_ lines: inout [String], _ head: inout String?) throws -> Void
    var expected: @Sendable (AuditProblem) -> Bool

    var testDescription: String { name }
}

/// The chain table: every field of an entry edited, entries deleted, swapped, inserted, cut
/// off the end, the head deleted or edited. Each is reported with its line and sequence;
/// the untouched log verifies clean.
@Suite struct AuditChainTests {
    static func line3(_ from: String, _ to: String) -> @Sendable (inout [String], inout String?) throws -> Void {
        { lines, _ in lines[2] = lines[2].replacingOccurrences(of: from, with: to) }
    }

    /// Line 3 with the hex digit right after `marker` changed.
    static func flipFirstHexDigit(after marker: String) -> @Sendable (inout [String], inout String?) throws -> Void {
        { lines, _ in
            let start = try #require(lines[2].range(of: marker)).upperBound
            lines[2].replaceSubrange(start..<lines[2].index(after: start), with: lines[2][start] == "a" ? "b" : "a")
        }
    }

    static let edited: @Sendable (AuditProblem) -> Bool = { if case .edited(line: 3, _) = $0 { true } else { false } }

    static let table: [Tampering] = [
        Tampering(name: "seq edited", change: line3("\"seq\":3,", "\"seq\":30,"), expected: edited),
        Tampering(name: "time edited", change: line3("\"time\":\"2026-12-01T10:02", "\"time\":\"2026-12-01T11:02"), expected: edited),
        Tampering(name: "actor edited", change: line3("user:carol", "user:mallory"), expected: edited),
        Tampering(name: "action edited", change: line3("archive.get", "archive.list"), expected: edited),
        Tampering(name: "argument value edited", change: line3("\"id\":\"A3\"", "\"id\":\"A4\""), expected: edited),
        Tampering(name: "argument added", change: line3("\"id\":\"A3\"", "\"id\":\"A3\",\"x\":\"y\""), expected: edited),
        Tampering(name: "result count edited", change: line3("\"result_count\":3,", "\"result_count\":0,"), expected: edited),
        Tampering(name: "result count nulled", change: line3("\"result_count\":3,", "\"result_count\":null,"), expected: edited),
        Tampering(name: "prev edited", change: flipFirstHexDigit(after: "\"prev\":\""), expected: edited),
        Tampering(name: "hash edited", change: flipFirstHexDigit(after: "\"hash\":\""), expected: edited),
        Tampering(name: "spaces added (same values)", change: line3("\"actor\":", "\"actor\": "), expected: {
            if case .notCanonical(line: 3, sequence: 3) = $0 { true } else { false }
        }),
        Tampering(name: "edited and its hash recomputed", change: { lines, _ in
            var record = try AuditRecord(line: Substring(lines[2]))
            record.entry.actor = "user:mallory"
            record.hash = record.computedHash
            lines[2] = String(record.line.dropLast())
        }, expected: { if case .brokenLink(line: 4, sequence: 4) = $0 { true } else { false } }),
        Tampering(name: "deleted in the middle", change: { lines, _ in lines.remove(at: 2) },
                  expected: { $0 == .missing(line: 3, from: 3, through: 3) }),
        Tampering(name: "two deleted in the middle", change: { lines, _ in lines.removeSubrange(1...2) },
                  expected: { $0 == .missing(line: 2, from: 2, through: 3) }),
        Tampering(name: "first deleted", change: { lines, _ in lines.removeFirst() },
                  expected: { $0 == .missing(line: 1, from: 1, through: 1) }),
        Tampering(name: "two swapped", change: { lines, _ in lines.swapAt(2, 3) },
                  expected: { $0 == .outOfOrder(line: 4, sequence: 3, after: 4) }),
        Tampering(name: "one inserted (a copy)", change: { lines, _ in lines.insert(lines[2], at: 3) },
                  expected: { $0 == .outOfOrder(line: 4, sequence: 3, after: 3) }),
        Tampering(name: "one inserted (forged, chained, the rest renumbered)", change: { lines, head in
            var forged = try AuditRecord(line: Substring(lines[2]))
            forged.entry.action = "archive.list"
            forged.hash = forged.computedHash
            lines.insert(String(forged.line.dropLast()), at: 3)
        }, expected: { $0 == .outOfOrder(line: 4, sequence: 3, after: 3) }),
        Tampering(name: "not JSON", change: { lines, _ in lines[2] = "{\"seq\":3," },
                  expected: { if case .unreadable(line: 3, _) = $0 { true } else { false } }),
        Tampering(name: "last entry cut off", change: { lines, _ in lines.removeLast() },
                  expected: { if case .truncated(let head, lastSequence: 5) = $0 { head.sequence == 6 } else { false } }),
        Tampering(name: "last three cut off", change: { lines, _ in lines.removeLast(3) },
                  expected: { if case .truncated(let head, lastSequence: 3) = $0 { head.sequence == 6 } else { false } }),
        Tampering(name: "all cut off", change: { lines, _ in lines.removeAll() },
                  expected: { if case .truncated(_, lastSequence: 0) = $0 { true } else { false } }),
        Tampering(name: "last line cut short", change: { lines, _ in lines[5] = String(lines[5].prefix(40)) },
                  expected: { if case .unreadable(line: 6, _) = $0 { true } else { false } }),
        Tampering(name: "head deleted", change: { _, head in head = nil }, expected: { $0 == .headMissing(lastSequence: 6) }),
        Tampering(name: "head hash edited", change: { _, head in head = "{\"seq\":6,\"hash\":\"\(String(repeating: "ab", count: 32))\"}\n" },
                  expected: { if case .headMismatch = $0 { true } else { false } }),
        Tampering(name: "head moved back three", change: { lines, head in
            let third = try AuditRecord(line: Substring(lines[2]))
            head = "{\"seq\":3,\"hash\":\"\(third.hash)\"}\n"
        }, expected: { if case .headBehind(_, lastSequence: 6) = $0 { true } else { false } }),
        Tampering(name: "head not JSON", change: { _, head in head = "seq 6\n" }, expected: { $0 == .headUnreadable }),
    ]

    /// A log of six entries in a new data directory.
    static func sixEntries() throws -> (directory: String, log: AuditLog) {
        let directory = try makeTempDirectory("audit-chain")
        let log = try AuditLog(dataDirectory: URL(fileURLWithPath: directory))
        let actors = ["user:alice", "user:bob", "user:carol", "token:monitor", "node", "user:alice"]
        let actions = ["archive.search", "archive.show", "archive.get", "queue.list", "config.reload", "archive.export"]
        for n in 0..<6 {
            let time = Date(timeIntervalSince1970: 1_796_119_200 + Double(n) * 60 + 0.123)  // 2026-12-01T10:00:00.123Z + n min
            try log.record(AuditEntry(time: time, actor: actors[n], action: actions[n], arguments: ["id": "A\(n + 1)"], resultCount: n + 1))
        }
        return (directory, log)
    }

    @Test func anUntouchedLogIsSound() throws {
        let (directory, log) = try Self.sixEntries()
        defer { removeTempDirectory(directory) }
        let result = log.verify()
        #expect(result.isSound, "\(result.problems)")
        #expect(result.entries == 6 && result.head?.sequence == 6 && result.notes.isEmpty)
        #expect(try log.entries().map(\.sequence) == Array(1...6))
        #expect(try log.entries().map(\.timeText).first == "2026-12-01T10:00:00.123Z")
    }

    @Test(arguments: table) func tamperingIsReported(_ tampering: Tampering) throws {
        let (directory, log) = try Self.sixEntries()
        defer { removeTempDirectory(directory) }
        var lines = String(decoding: readFile(log.logPath), as: UTF8.self).split(separator: "\n").map(String.init)
        var head: String? = String(decoding: readFile(log.headPath), as: UTF8.self)
        try tampering.change(&lines, &head)
        try writeFile(log.logPath, Array(lines.map { $0 + "\n" }.joined().utf8))
        if let head { try writeFile(log.headPath, Array(head.utf8)) } else { try FileManager.default.removeItem(atPath: log.headPath) }
        let result = log.verify()
        #expect(!result.isSound)
        #expect(result.problems.contains(where: tampering.expected), "\(result.problems)")
    }
}
