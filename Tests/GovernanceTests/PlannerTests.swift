import ArchiveStore
import AuditTrail
import Crypto
import Foundation
import JournalReport
import Logging
import RouteEngine
import TestSupport
import Testing
@testable import Governance

/// The planner on a real archive: the index's arrivals and addresses, the search database
/// for query rules and holds (fed to the end first, so mail that came after a hold was
/// created is held too), and the holds' store.
@Suite struct PlannerTests {
    static let t0 = Date(timeIntervalSince1970: 1_736_929_800.125)  // 2025-01-15T08:30:00.125Z
    static let day = 86_400.0
    static let logger = Logger(label: "test")

    static func message(_ subject: String, body: String) -> [UInt8] {
        Array("From: a@corp.example\r\nTo: b@corp.example\r\nSubject: \(subject)\r\nMessage-ID: <\(subject)@corp.example>\r\n\r\n\(body)\r\n".utf8)
    }

    static func plain(_ bytes: [UInt8], at date: Date, from sender: String = "a@corp.example") throws -> FinishedMessage {
        var draft = try MessageDraft(envelope: ArchiveEnvelope(
            receivedAt: date, listener: "journal", clientAddress: "192.0.2.1", helo: "mx.corp.example", tls: nil, sender: sender,
            recipients: ["b@corp.example"], node: "node-a"))
        try draft.append(bytes: bytes)
        return try draft.finish()
    }

    /// A journal report of `bytes` whose envelope names `bcc` as a Bcc recipient.
    static func report(_ bytes: [UInt8], bcc: String, at date: Date) throws -> FinishedMessage {
        let head = Array("X-MS-Journal-Report:\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSender: a@corp.example\r\nBcc: \(bcc)\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n".utf8)
        let tail = Array("\r\n--b--\r\n".utf8)
        let received = head + bytes + tail
        var draft = try MessageDraft(envelope: ArchiveEnvelope(
            receivedAt: date, listener: "exchange", clientAddress: "192.0.2.9", helo: "exchange.corp.example", tls: nil,
            sender: "journaling@corp.example", recipients: ["journal@archive.example"], node: "node-a"))
        try draft.append(bytes: bytes)
        return try draft.finish(received: ReceivedForm(
            size: UInt64(received.count), sha256: Array(SHA256.hash(data: received)),
            report: ReportEnvelope(format: .exchange2007, sender: "a@corp.example", recipients: [.init(address: bcc, kind: .bcc)]),
            wrapper: WrapperRecipe(head: head, encoding: .identity, tail: tail)))
    }

    static func archive(_ dir: String, _ messages: [FinishedMessage]) async throws -> [String] {
        let store = try await ArchiveStore.open(dataDirectory: dir, logger: logger)
        var ids: [String] = []
        for message in messages { ids.append(try await store.commit(message).id) }
        try await store.close()
        return ids
    }

    static func rule(_ name: String, _ keep: String, recipients: [String] = [], query: String? = nil) throws -> RetentionRule {
        RetentionRule(name: name, keep: try RetentionPeriod(parsing: keep),
                      recipients: try recipients.map { try AddressPattern(parsing: $0, role: .recipient) }, query: query)
    }

    static func plan(_ dir: String, _ policy: RetentionPolicy, holds: [LegalHold], now: Date) throws -> (ids: [String], totals: ExpiryTotals) {
        var ids: [String] = []
        let totals = try RetentionPlanner(dataDirectory: dir, policy: policy, holds: holds).plan(now: now, logger: logger) { ids.append($0.archiveID) }
        return (ids, totals)
    }

    @Test func holdsQueryRulesAndABccRecipient() async throws {
        try await withTempDirectory { dir in
            let audit = RecordedEntries()
            let first = try await Self.archive(dir, [
                try Self.plain(Self.message("news", body: "weekly offers"), at: Self.t0),
                try Self.plain(Self.message("deal", body: "the merger is on"), at: Self.t0),
                try Self.report(Self.message("secret", body: "between us"), bcc: "eve@corp.example", at: Self.t0),
                try Self.plain(Self.message("signed", body: "the contract is signed"), at: Self.t0),
                // The same original again ten days later: its retention runs from then.
                try Self.plain(Self.message("news", body: "weekly offers"), at: Self.t0 + 10 * Self.day, from: "other@corp.example"),
            ])
            _ = try ArchiveSearch.rebuild(dataDirectory: dir, logger: Self.logger)
            let store = try #require(try HoldStore.open(dataDirectory: dir, .create))
            try store.create(LegalHold(name: "merger", query: "merger", reason: "SEC inquiry", createdAt: Self.t0, createdBy: "user:alice"),
                             audit: audit)
            // Mail that matches the open hold and came after it was created.
            let later = try await Self.archive(dir, [try Self.plain(Self.message("deal2", body: "merger closing"), at: Self.t0 + Self.day)])

            let policy = RetentionPolicy(defaultKeep: .days(30), rules: [
                try Self.rule("eve", "10y", recipients: ["eve@corp.example"]), try Self.rule("contracts", "10y", query: "contract"),
            ])
            let now = Self.t0 + 40 * Self.day
            // "news" arrived again ten days later: it stays until 40 days after that, to the millisecond.
            var result = try Self.plan(dir, policy, holds: try store.open(), now: now - 0.001)
            #expect(result.ids == [])
            #expect(result.totals == ExpiryTotals(originals: 5, expired: 0, keptByHold: 2))
            result = try Self.plan(dir, policy, holds: try store.open(), now: now)
            #expect(result.ids == [first[0]])
            #expect(result.totals == ExpiryTotals(originals: 5, expired: 1, keptByHold: 2))

            try store.release("merger", by: "user:bob", at: Self.t0 + 50 * Self.day, audit: audit)
            result = try Self.plan(dir, policy, holds: try store.open(), now: now)
            #expect(Set(result.ids) == [first[0], first[1], later[0]])
            #expect(result.totals.keptByHold == 0)
            #expect(audit.entries.map(\.action) == ["hold.create", "hold.release"])
            #expect(audit.entries.map(\.actor) == ["user:alice", "user:bob"])
            let released = try #require(try store.hold(named: "merger"))
            #expect(!released.isOpen && released.releasedBy == "user:bob" && released.releasedAt == Self.t0 + 50 * Self.day)
        }
    }

    @Test func aCandidateNamesItsRuleAndWhenItExpired() async throws {
        try await withTempDirectory { dir in
            let ids = try await Self.archive(dir, [try Self.plain(Self.message("a", body: "x"), at: Self.t0)])
            var candidates: [ExpiryCandidate] = []
            _ = try RetentionPlanner(dataDirectory: dir, policy: RetentionPolicy(defaultKeep: .years(1)), holds: [])
                .plan(now: Self.t0 + 400 * Self.day, logger: Self.logger) { candidates.append($0) }
            let candidate = try #require(candidates.first)
            #expect(candidates.count == 1 && candidate.archiveID == ids[0] && candidate.rule == "default")
            #expect(candidate.expiredAt == Self.t0 + 365 * Self.day)
            #expect(candidate.sha256 == SHA256.hash(data: Self.message("a", body: "x")).map { String(format: "%02x", $0) }.joined())
        }
    }

    @Test func aHoldWhoseEntryCannotBeRecordedIsNotCreated() async throws {
        try await withTempDirectory { dir in
            _ = try await Self.archive(dir, [])
            let store = try #require(try HoldStore.open(dataDirectory: dir, .create))
            let hold = LegalHold(name: "h", query: "x", reason: "r", createdAt: Self.t0, createdBy: "user:a")
            #expect(throws: RecordedEntries.Refused.self) { try store.create(hold, audit: RecordedEntries(refusing: true)) }
            #expect(try store.all().isEmpty)
            try store.create(hold, audit: RecordedEntries())
            #expect(throws: HoldError.exists("h")) { try store.create(hold, audit: RecordedEntries()) }
            #expect(throws: RecordedEntries.Refused.self) { try store.release("h", by: "user:a", audit: RecordedEntries(refusing: true)) }
            #expect(try store.open().map(\.name) == ["h"])
            #expect(throws: HoldError.noOpenHold("g")) { try store.release("g", by: "user:a", audit: RecordedEntries()) }
            // An open hold needs the search index; a released one does not.
            #expect(HoldStore.searchProblem(dataDirectory: dir, searchIndex: false)?.contains("1 legal hold(s) are open") == true)
            #expect(HoldStore.searchProblem(dataDirectory: dir, searchIndex: true) == nil)
            try store.release("h", by: "user:a", audit: RecordedEntries())
            #expect(HoldStore.searchProblem(dataDirectory: dir, searchIndex: false) == nil)
        }
    }
}

/// An `AuditRecorder` that keeps what it is given (or refuses everything).
final class RecordedEntries: AuditRecorder, @unchecked Sendable {
    struct Refused: Error {}
    private let lock = NSLock()
    private var recorded: [AuditEntry] = []
    private let refusing: Bool

    init(refusing: Bool = false) { self.refusing = refusing }

    var entries: [AuditEntry] { lock.withLock { recorded } }

    func record(_ entry: AuditEntry) throws {
        if refusing { throw Refused() }
        lock.withLock { recorded.append(entry) }
    }
}
