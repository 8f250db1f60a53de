import ArchiveStore
import Foundation
import RouteEngine
import Testing
@testable import Governance

/// The retention table without an archive: a policy, one original's arrivals, `now`, and
/// whether the original has expired and under which rule (docs/CONFIG.md, "[retention]").
@Suite struct RetentionTableTests {
    /// 2025-01-15T08:30:00.125Z: no leap day within a year after it.
    static let t0 = Date(timeIntervalSince1970: 1_736_929_800.125)
    /// 2024-02-29T10:00:00.250Z.
    static let leapDay = Date(timeIntervalSince1970: 1_709_200_800.25)
    static let ms = 0.001
    static let day = 86_400.0

    static func arrival(at date: Date = t0, listener: String = "journal", from sender: String = "alice@corp.example",
                        to recipients: [String] = ["bob@corp.example"]) -> RetainedArrival {
        RetainedArrival(receivedAt: date, listener: listener, sender: sender, recipients: recipients)
    }

    static func original(_ arrivals: [RetainedArrival] = [arrival()], senders: [String] = [], recipients: [String] = []) -> RetainedOriginal {
        RetainedOriginal(id: "M1", sha256: "aa", arrivals: arrivals, senders: senders, recipients: recipients)
    }

    static func rule(_ name: String, _ keep: String, senders: [String] = [], recipients: [String] = [], listeners: Set<String> = [],
                     routes: Set<String> = [], query: String? = nil) -> RetentionRule {
        RetentionRule(name: name, keep: try! RetentionPeriod(parsing: keep),  // test constants
                      senders: senders.map { try! AddressPattern(parsing: $0, role: .sender) },
                      recipients: recipients.map { try! AddressPattern(parsing: $0, role: .recipient) },
                      listeners: listeners, routes: routes, query: query)
    }

    static let routes = [
        Route(name: "legal", recipients: [try! AddressPattern(parsing: "@legal.example", role: .recipient)]),
        Route(name: "all", recipients: [.any]),
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var defaultKeep = "forever"
        var rules: [RetentionRule] = []
        var original = RetentionTableTests.original()
        var queries: Set<Int> = []
        var now: Date
        /// The rule named, and whether the original has expired at `now`.
        var rule: String
        var expired: Bool
        /// When it may go, where the case pins it; `.some(nil)` pins forever.
        var until: Date?? = .none
        var testDescription: String { name }
    }

    static let y7 = Date(timeIntervalSince1970: 1_957_768_200.125)  // 2032-01-15T08:30:00.125Z
    static let leapPlus1y = Date(timeIntervalSince1970: 1_740_823_200.25)  // 2025-03-01T10:00:00.250Z
    static let leapPlus4y = Date(timeIntervalSince1970: 1_835_431_200.25)  // 2028-02-29T10:00:00.250Z

    static let cases: [Case] = [
        Case(name: "default 7y, a ms before", defaultKeep: "7y", now: y7 - ms, rule: "default", expired: false, until: y7),
        Case(name: "default 7y, at the end", defaultKeep: "7y", now: y7, rule: "default", expired: true, until: y7),
        Case(name: "no [retention]: forever", now: t0 + 400 * 365 * day, rule: "default", expired: false, until: .some(nil)),
        Case(name: "forever rule beats a year", defaultKeep: "1y", rules: [rule("keep", "forever", listeners: ["journal"])],
             now: t0 + 400 * 365 * day, rule: "keep", expired: false, until: .some(nil)),
        Case(name: "30d, a ms before", rules: [rule("news", "30d", senders: ["@corp.example"])], now: t0 + 30 * day - ms,
             rule: "news", expired: false, until: t0 + 30 * day),
        Case(name: "30d, at the end", rules: [rule("news", "30d", senders: ["@corp.example"])], now: t0 + 30 * day,
             rule: "news", expired: true),
        Case(name: "leap day + 1y ends Mar 1, a ms before", defaultKeep: "1y", original: original([arrival(at: leapDay)]),
             now: leapPlus1y - ms, rule: "default", expired: false, until: leapPlus1y),
        Case(name: "leap day + 1y ends Mar 1", defaultKeep: "1y", original: original([arrival(at: leapDay)]),
             now: leapPlus1y, rule: "default", expired: true),
        Case(name: "leap day + 4y ends on Feb 29", defaultKeep: "4y", original: original([arrival(at: leapDay)]),
             now: leapPlus4y, rule: "default", expired: true, until: leapPlus4y),
        Case(name: "longest wins (listed second)", rules: [rule("short", "30d", senders: ["*"]), rule("long", "1y", recipients: ["*"])],
             now: t0 + 31 * day, rule: "long", expired: false),
        Case(name: "longest wins (listed first)", rules: [rule("long", "1y", recipients: ["*"]), rule("short", "30d", senders: ["*"])],
             now: t0 + 31 * day, rule: "long", expired: false),
        Case(name: "tie: the first rule names it", rules: [rule("days", "365d", senders: ["*"]), rule("year", "1y", recipients: ["*"])],
             now: t0 + 365 * day, rule: "days", expired: true, until: t0 + 365 * day),
        Case(name: "tie the other way round", rules: [rule("year", "1y", recipients: ["*"]), rule("days", "365d", senders: ["*"])],
             now: t0 + 365 * day, rule: "year", expired: true),
        Case(name: "sender rule by MAIL FROM", defaultKeep: "10y", rules: [rule("alice", "30d", senders: ["alice@corp.example"])],
             now: t0 + 30 * day, rule: "alice", expired: true),
        Case(name: "sender rule misses", defaultKeep: "10y", rules: [rule("carol", "30d", senders: ["carol@corp.example"])],
             now: t0 + 30 * day, rule: "default", expired: false),
        Case(name: "sender rule by a report's Sender", defaultKeep: "10y", rules: [rule("carol", "30d", senders: ["carol@corp.example"])],
             original: original([arrival(from: "journaling@corp.example")], senders: ["carol@corp.example"]),
             now: t0 + 30 * day, rule: "carol", expired: true),
        Case(name: "recipient rule by RCPT TO", defaultKeep: "10y", rules: [rule("bob", "30d", recipients: ["bob@corp.example"])],
             now: t0 + 30 * day, rule: "bob", expired: true),
        Case(name: "recipient rule by a report's Bcc", defaultKeep: "10y", rules: [rule("eve", "30d", recipients: ["eve@corp.example"])],
             original: original([arrival(to: ["journal@archive.example"])], recipients: ["journal@archive.example", "eve@corp.example"]),
             now: t0 + 30 * day, rule: "eve", expired: true),
        Case(name: "listener rule", defaultKeep: "10y", rules: [rule("bulk", "30d", listeners: ["bulk"])],
             original: original([arrival(listener: "bulk")]), now: t0 + 30 * day, rule: "bulk", expired: true),
        Case(name: "listener rule, another listener", defaultKeep: "10y", rules: [rule("bulk", "30d", listeners: ["bulk"])],
             now: t0 + 30 * day, rule: "default", expired: false),
        Case(name: "every key must match", defaultKeep: "10y",
             rules: [rule("both", "30d", senders: ["alice@corp.example"], listeners: ["bulk"])],
             now: t0 + 30 * day, rule: "default", expired: false),
        Case(name: "route rule: the route takes a recipient", defaultKeep: "30d", rules: [rule("legal", "10y", routes: ["legal"])],
             original: original([arrival(to: ["x@corp.example", "counsel@legal.example"])]), now: t0 + 30 * day,
             rule: "legal", expired: false),
        Case(name: "route rule: the first route takes it, not a later one", defaultKeep: "30d", rules: [rule("all", "10y", routes: ["all"])],
             original: original([arrival(to: ["counsel@legal.example"])]), now: t0 + 30 * day, rule: "default", expired: true),
        Case(name: "query rule matched", defaultKeep: "30d", rules: [rule("merger", "10y", query: "merger")], queries: [0],
             now: t0 + 30 * day, rule: "merger", expired: false),
        Case(name: "query rule not matched", defaultKeep: "30d", rules: [rule("merger", "10y", query: "merger")],
             now: t0 + 30 * day, rule: "default", expired: true),
        Case(name: "two arrivals: the later counts, before", defaultKeep: "30d", original: original([arrival(), arrival(at: t0 + 10 * day)]),
             now: t0 + 40 * day - ms, rule: "default", expired: false, until: t0 + 40 * day),
        Case(name: "two arrivals: the later counts, at", defaultKeep: "30d", original: original([arrival(at: t0 + 10 * day), arrival()]),
             now: t0 + 40 * day, rule: "default", expired: true, until: t0 + 40 * day),
        Case(name: "two arrivals: the longer rule of the earlier one", defaultKeep: "30d", rules: [rule("bulk", "1y", listeners: ["bulk"])],
             original: original([arrival(listener: "bulk"), arrival(at: t0 + 10 * day)]), now: t0 + 40 * day,
             rule: "bulk", expired: false),
    ]

    @Test(arguments: cases) func retention(_ c: Case) throws {
        let policy = RetentionPolicy(defaultKeep: try RetentionPeriod(parsing: c.defaultKeep), rules: c.rules, routes: Self.routes)
        let retention = policy.retention(of: c.original, matchedQueries: c.queries)
        #expect(retention.rule == c.rule)
        #expect(retention.hasEnded(at: c.now) == c.expired)
        if let until = c.until { #expect(retention.until == until) }
    }

    @Test(arguments: [
        ("7y", RetentionPeriod.years(7)), ("30d", .days(30)), ("1d", .days(1)), ("forever", .forever), ("1000y", .years(1000)),
    ]) func periods(_ text: String, _ period: RetentionPeriod) throws {
        #expect(try RetentionPeriod(parsing: text) == period)
    }

    @Test(arguments: ["0d", "0y", "", "d", "7", "7w", "-1d", "1.5y", "1001y", "7 y", "Forever", "99999999999999999999d"])
    func notPeriods(_ text: String) {
        #expect(throws: RetentionPeriodError.self) { try RetentionPeriod(parsing: text) }
    }
}
