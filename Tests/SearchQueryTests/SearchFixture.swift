/// Unix seconds of 2026-03-`day` 00:00 UTC (day 0 is February 28, day 32 April 1).
func march(_ day: Int64, seconds: Int64 = 0) -> Int64 { 1_772_323_200 + (day - 1) * 86_400 + seconds }

/// A dozen originals and their arrivals, each made to be told apart by some operator.
enum SearchFixture {
    static let docs: [FixtureDoc] = [
        FixtureDoc(docid: 1, messageID: "q1@example.com", date: march(1), size: 10_240, hasAttachment: true,
                   sender: "Alice <alice@example.com>", recipients: "bob@example.com", subject: "Quarterly report",
                   body: "Please find the quarterly report attached. Revenue grew.", filename: "report-q1.pdf",
                   arrivals: [FixtureArrival(rowid: 1, receivedAt: march(1, seconds: 5), sender: "alice@example.com",
                                             recipients: "bob@example.com dave@example.com", bcc: "dave@example.com")]),
        FixtureDoc(docid: 2, messageID: "re-q1@example.com", date: march(0, seconds: 86_399), size: 10_241,
                   sender: "bob@example.com", recipients: "alice@example.com", subject: "Re: Quarterly report",
                   body: "Thanks, the café is booked for lunch.",
                   arrivals: [FixtureArrival(rowid: 2, receivedAt: march(1), sender: "bob@example.com", recipients: "alice@example.com")]),
        FixtureDoc(docid: 3, messageID: "tokyo@example.jp", date: march(15, seconds: 36_000), size: 5 << 20,
                   sender: "carol@example.com", recipients: "team@example.com", cc: "alice@example.com", subject: "東京 meeting",
                   body: "会議は東京で行います。 Meeting in Tokyo.",
                   arrivals: [FixtureArrival(rowid: 3, receivedAt: march(15, seconds: 36_001), sender: "carol@example.com",
                                             recipients: "team@example.com alice@example.com")]),
        FixtureDoc(docid: 4, messageID: nil, date: march(32, seconds: 32_400), size: 6 << 20, hasAttachment: true,
                   sender: "dave@example.com", recipients: "erin@example.com", subject: "Merger plans",
                   body: "Confidential: the merger with Initech", filename: "merger.docx",
                   arrivals: [FixtureArrival(rowid: 4, receivedAt: march(32, seconds: 32_401), sender: "dave@example.com", recipients: "erin@example.com"),
                              FixtureArrival(rowid: 5, receivedAt: march(41), sender: "dave@example.com",
                                             recipients: "erin@example.com frank@example.com", bcc: "frank@example.com")]),
        FixtureDoc(docid: 5, messageID: "lunch@example.com", date: march(-59, seconds: 86_399), size: 500,
                   sender: "erin@example.com", recipients: "dave@example.com", subject: "Lunch", body: "cafe?",
                   arrivals: [FixtureArrival(rowid: 6, receivedAt: march(-58), sender: "erin@example.com", recipients: "dave@example.com")]),
        FixtureDoc(docid: 6, messageID: "reports@example.com", date: march(20), size: 2048,
                   sender: "frank@example.com", recipients: "alice@example.com", cc: "carol@example.com", subject: "Reports",
                   body: "Reporting the numbers",
                   arrivals: [FixtureArrival(rowid: 7, receivedAt: march(20, seconds: 60), sender: "frank@example.com",
                                             recipients: "alice@example.com carol@example.com")]),
        FixtureDoc(docid: 7, messageID: "cv@example.org", date: march(21), size: 40_000, hasAttachment: true,
                   sender: "Zoë Ångström <zoe@example.org>", recipients: "bob@example.com", subject: "Résumé",
                   body: "my résumé attached", filename: "résumé.pdf",
                   arrivals: [FixtureArrival(rowid: 8, receivedAt: march(21, seconds: 60), sender: "zoe@example.org", recipients: "bob@example.com")]),
        FixtureDoc(docid: 8, messageID: "news@example.net", date: march(22), size: 3000,
                   sender: "gina@example.net", recipients: "harry@example.net", subject: "newsletter",
                   body: "unsubscribe at http://example.com/x",
                   arrivals: [FixtureArrival(rowid: 9, receivedAt: march(22, seconds: 60), sender: "gina@example.net", recipients: "harry@example.net")]),
        FixtureDoc(docid: 9, messageID: "budget@example.com", date: march(23), size: 4000,
                   sender: "alice@example.com", recipients: "carol@example.com", bcc: "ivan@example.com", subject: "budget",
                   body: "the budget and the plan",
                   arrivals: [FixtureArrival(rowid: 10, receivedAt: march(23, seconds: 60), sender: "alice@example.com",
                                             recipients: "carol@example.com ivan@example.com")]),
        FixtureDoc(docid: 10, messageID: "phish@evil.example", date: march(24), size: 1000,
                   sender: "mallory@example.com", recipients: "bob@example.com", subject: "phishing", body: "click here",
                   arrivals: [FixtureArrival(rowid: 11, receivedAt: march(24, seconds: 60), sender: "bounce@evil.example", recipients: "bob@example.com")]),
        FixtureDoc(docid: 11, messageID: "merger2@example.com", date: march(33), size: 1500,
                   sender: "bob@example.com", recipients: "alice@example.com", subject: "merger follow-up", body: "about the merger",
                   arrivals: [FixtureArrival(rowid: 12, receivedAt: march(33, seconds: 60), sender: "bob@example.com", recipients: "alice@example.com")]),
        FixtureDoc(docid: 12, messageID: "ok@example.com", date: march(2), size: 1 << 20,
                   sender: "ken@example.com", recipients: "leo@example.com", subject: "ok", body: "ok",
                   arrivals: [FixtureArrival(rowid: 13, receivedAt: march(2, seconds: 60), sender: "ken@example.com", recipients: "leo@example.com")]),
    ]

    static func database() throws -> SearchDatabase {
        let database = try SearchDatabase()
        for doc in docs { try database.insert(doc) }
        return database
    }
}
