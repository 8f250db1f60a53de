import ArchiveStore
import Crypto
import Foundation
import Logging
import RouteEngine
import TestSupport
import Testing
@testable import Governance

/// The segments' Object Lock plan on a real archive of small segments: each segment's
/// latest retention end and hold flag, against an oracle the test computes from what it
/// wrote (the rules applied by hand, each record's segment from the store's receipts).
@Suite struct SegmentLockPlannerTests {
    static let t0 = Date(timeIntervalSince1970: 1_736_929_800.125)
    static let hour = 3600.0, day = 86_400.0
    static let logger = Logger(label: "test")

    /// One original: its words, and who sent it (MAIL FROM).
    struct Original {
        var words: String
        var sender = "a@corp.example"
    }

    /// One arrival of an original, and where the store put its records.
    struct Sent {
        var original: Int
        var listener: String
        var at: Date
        var segments: Set<UInt64> = []
    }

    static let originals = [
        Original(words: "weekly offers"), Original(words: "the contract is signed"), Original(words: "merger talks"),
        Original(words: "lunch plans"), Original(words: "board minutes", sender: "ceo@corp.example"), Original(words: "holiday rota"),
        Original(words: "merger closing"), Original(words: "printer broken"), Original(words: "quarterly numbers"),
        Original(words: "parking spaces"),
    ]

    static let policy = RetentionPolicy(defaultKeep: .days(30), rules: [
        RetentionRule(name: "exchange", keep: .days(400), listeners: ["exchange"]),
        RetentionRule(name: "contracts", keep: .days(3650), query: "contract"),
        RetentionRule(name: "board", keep: .forever, senders: [try! AddressPattern(parsing: "ceo@corp.example", role: .sender)]),
    ])

    /// A message of about 4 KiB that compresses little, so a few fill an 8 KiB segment.
    static func message(_ original: Original, _ n: Int) -> [UInt8] {
        var text = "From: \(original.sender)\r\nTo: b@corp.example\r\nSubject: note \(n)\r\nMessage-ID: <lock-\(n)@corp.example>\r\n\r\n"
        text += original.words + "\r\n"
        var seed = Array(SHA256.hash(data: Array("lock-\(n)".utf8)))
        for _ in 0..<64 {
            seed = Array(SHA256.hash(data: seed))
            text += seed.map { String(format: "%02x", $0) }.joined() + "\r\n"
        }
        return Array(text.utf8)
    }

    static func finished(_ bytes: [UInt8], sender: String, listener: String, at date: Date) throws -> FinishedMessage {
        var draft = try MessageDraft(envelope: ArchiveEnvelope(
            receivedAt: date, listener: listener, clientAddress: "192.0.2.1", helo: "mx.corp.example", tls: nil, sender: sender,
            recipients: ["b@corp.example"], node: "node-a"))
        try draft.append(bytes: bytes)
        return try draft.finish()
    }

    /// Writes every original once (listener `journal`, an hour apart), then originals 0, 3
    /// and 5 again through `exchange` from another MAIL FROM (the same envelope would be
    /// taken for a retry): their arrival records land in later segments.
    static func archive(_ dir: String) async throws -> [Sent] {
        var options = ArchiveStoreOptions()
        options.maxSegmentBytes = 8 << 10
        options.trainsDictionary = false
        let store = try await ArchiveStore.open(dataDirectory: dir, options: options, logger: logger)
        var sent = originals.indices.map { Sent(original: $0, listener: "journal", at: t0 + Double($0) * hour) }
        sent += [0, 3, 5].enumerated().map { Sent(original: $1, listener: "exchange", at: t0 + Double(20 + $0) * hour) }
        for i in sent.indices {
            let original = originals[sent[i].original]
            let sender = sent[i].listener == "exchange" ? "exchange@corp.example" : original.sender
            let receipt = try await store.commit(finished(message(original, sent[i].original), sender: sender,
                                                          listener: sent[i].listener, at: sent[i].at))
            sent[i].segments = [receipt.segment, receipt.arrivalPosition.segment]
        }
        try await store.close()
        return sent
    }

    /// The rules by hand: an arrival gets the longest rule that takes it (the default when
    /// none does), an original the longest of its arrivals, a segment the longest of the
    /// originals with a record in it; held when an open hold's word is in one of them.
    static func oracle(_ sent: [Sent], heldWords: [String]) -> [UInt64: SegmentLock] {
        func arrival(_ s: Sent) -> Retention {
            let original = originals[s.original]
            var taken: [Retention] = []
            if s.listener == "exchange" { taken.append(Retention(rule: "exchange", until: s.at + 400 * day)) }
            if original.words.contains("contract") { taken.append(Retention(rule: "contracts", until: s.at + 3650 * day)) }
            if original.sender == "ceo@corp.example" { taken.append(Retention(rule: "board", until: nil)) }
            return taken.max(by: shorter) ?? Retention(rule: "default", until: s.at + 30 * day)
        }
        var ends: [Int: Retention] = [:]
        for s in sent { ends[s.original] = [ends[s.original], arrival(s)].compactMap { $0 }.max(by: shorter) }
        var result: [UInt64: SegmentLock] = [:]
        for s in sent {
            let end = ends[s.original]!
            let held = heldWords.contains { originals[s.original].words.contains($0) }
            for segment in s.segments {
                let lock = result[segment]
                result[segment] = SegmentLock(retention: [lock?.retention, end].compactMap { $0 }.max(by: shorter)!,
                                              held: held || lock?.held == true)
            }
        }
        return result
    }

    static func shorter(_ a: Retention, _ b: Retention) -> Bool {
        switch (a.until, b.until) {
        case (_, nil): return a.until != nil
        case (nil, _): return false
        case (let x?, let y?): return x < y
        }
    }

    @Test func eachSegmentIsKeptAsLongAsItsLongestKeptOriginalAndHeldWhileAHoldCoversOne() async throws {
        try await withTempDirectory { dir in
            let sent = try await Self.archive(dir)
            _ = try ArchiveSearch.rebuild(dataDirectory: dir, logger: Self.logger)
            let segments = Set(sent.flatMap(\.segments))
            // What the test means to show: several segments, and originals whose records span two.
            #expect(segments.count >= 4)
            #expect(sent.contains { $0.segments.count == 2 })

            let store = try #require(try HoldStore.open(dataDirectory: dir, .create))
            let audit = RecordedEntries()
            try store.create(LegalHold(name: "merger", query: "merger", reason: "SEC inquiry", createdAt: Self.t0, createdBy: "user:a"),
                             audit: audit)
            try store.create(LegalHold(name: "offers", query: "offers", reason: "done", createdAt: Self.t0, createdBy: "user:a"),
                             audit: audit)
            try store.release("offers", by: "user:b", audit: audit)

            let plan = try SegmentLockPlanner(dataDirectory: dir, policy: Self.policy, holds: try store.all()).plan(logger: Self.logger)
            let expected = Self.oracle(sent, heldWords: ["merger"])
            #expect(Set(plan.segments.keys) == segments)
            for segment in segments.sorted() {
                #expect(plan[segment] == expected[segment], "segment \(segment)")
            }
            // The oracle's own sanity: the data reaches every rule, forever, and both flags.
            let locks = Array(expected.values)
            #expect(Set(locks.map(\.retention.rule)).isSuperset(of: ["exchange", "contracts", "board"]))
            #expect(locks.contains { $0.held } && locks.contains { !$0.held })

            // Released, the hold no longer flags anything; the ends stay.
            try store.release("merger", by: "user:b", audit: audit)
            let released = try SegmentLockPlanner(dataDirectory: dir, policy: Self.policy, holds: try store.all()).plan(logger: Self.logger)
            #expect(released == SegmentLockPlan(segments: Self.oracle(sent, heldWords: [])))
        }
    }

    @Test func withEverythingKeptForeverEverySegmentIsForeverAndNoSearchIsNeeded() async throws {
        try await withTempDirectory { dir in
            let sent = try await Self.archive(dir)
            let plan = try SegmentLockPlanner(dataDirectory: dir, policy: RetentionPolicy(), holds: []).plan(logger: Self.logger)
            #expect(Set(plan.segments.keys) == Set(sent.flatMap(\.segments)))
            #expect(plan.segments.values.allSatisfy { $0 == SegmentLock(retention: Retention(rule: "default", until: nil), held: false) })
        }
    }

    @Test func anEmptyArchiveHasAnEmptyPlan() async throws {
        try await withTempDirectory { dir in
            _ = try await ArchiveStore.open(dataDirectory: dir, logger: Self.logger).close()
            _ = try ArchiveSearch.rebuild(dataDirectory: dir, logger: Self.logger)
            #expect(try SegmentLockPlanner(dataDirectory: dir, policy: Self.policy, holds: []).plan(logger: Self.logger) == SegmentLockPlan())
        }
    }
}
