import Governance
import RelayConfiguration
import Testing

/// `[retention]` in check-config: every problem at its rule's place, conflicts, and the
/// policy the planner gets (docs/CONFIG.md, "[retention]").
struct RetentionConfigurationTests {
    static let base = ConfigurationCheckTests.base + """
        [[route]]
        name = "journal"
        listeners = ["journal"]
        forward = ["peer"]

        [retention]
        default = "7y"

        """

    static let cases: [(String, String, [String])] = [
        ("clean", """
            [[retention.rule]]
            name = "news"
            keep = "30d"
            senders = ["@news.example.com"]
            """, []),
        ("every key", """
            [[retention.rule]]
            name = "all"
            keep = "forever"
            senders = ["<>"]
            recipients = ["postmaster", "*.corp.example"]
            listeners = ["ha"]
            routes = ["journal"]
            query = "from:boss@corp.example merger"
            """, []),
        ("no match key, no keep", """
            [[retention.rule]]
            name = "x"
            """, [#"retention.rule[1] "x": keep is required (Nd, Ny or "forever")"#,
                  #"retention.rule[1] "x": no match key: give senders, recipients, listeners, routes or query ([retention] default is for the rest)"#]),
        ("bad periods", """
            [[retention.rule]]
            name = "a"
            keep = "0d"
            listeners = ["ha"]
            [[retention.rule]]
            name = "b"
            keep = "2w"
            listeners = ["journal"]
            """, [#"retention.rule[1] "a": keep: "0d": the shortest period is 1d"#,
                  #"retention.rule[2] "b": keep: "2w" is not a period: Nd (days), Ny (calendar years) or "forever""#]),
        ("unknown names, a bad pattern, an empty list", """
            [[retention.rule]]
            name = "a"
            keep = "1y"
            listeners = ["nope"]
            routes = ["gone"]
            senders = ["*@news.example.com"]
            recipients = []
            """, [#"retention.rule[1] "a": recipients is empty: leave it out, or list what the rule takes"#,
                  #"retention.rule[1] "a": listeners names unknown listener "nope""#,
                  #"retention.rule[1] "a": routes names unknown route "gone""#,
                  #"retention.rule[1] "a": senders: pattern "*@news.example.com": a wildcard is only allowed as "*" or a leading "*.""#]),
        ("a query that does not parse", """
            [[retention.rule]]
            name = "q"
            keep = "1y"
            query = "merger AND (offer"
            """, [#"retention.rule[1] "q": query: column 18: expected ')' to close the '(' at column 12"#]),
        ("conflict: the same match, another period", """
            [[retention.rule]]
            name = "a"
            keep = "1y"
            senders = ["@news.example.com", "@ads.example.com"]
            [[retention.rule]]
            name = "b"
            keep = "30d"
            senders = ["@ads.example.com", "@news.example.com"]
            """, [#"retention.rule[2] "b": conflict: retention.rule[1] "a" matches the same mail and keeps it 1 year, this rule 30 days"#]),
        ("a name used twice", """
            [[retention.rule]]
            name = "a"
            keep = "1y"
            listeners = ["ha"]
            [[retention.rule]]
            name = "a"
            keep = "1y"
            listeners = ["journal"]
            """, [#"retention.rule[2] "a": the name is already used by retention.rule[1] "a""#]),
    ]

    @Test(arguments: cases)
    func reportsEveryProblemWithItsPlace(name: String, addition: String, expected: [String]) {
        #expect(ConfigurationCheckTests.errors(Self.base + addition) == expected, "\(name)")
    }

    @Test func theSameMatchAndPeriodTwiceIsAWarning() {
        let text = Self.base + """
            [[retention.rule]]
            name = "a"
            keep = "1y"
            listeners = ["ha"]
            [[retention.rule]]
            name = "b"
            keep = "1y"
            listeners = ["ha"]
            """
        #expect(ConfigurationCheckTests.errors(text) == [])
        #expect(ConfigurationCheckTests.warnings(text).contains(
            #"retention.rule[2] "b": matches the same mail as retention.rule[1] "a" and keeps it as long: one of them is enough"#))
    }

    @Test func queryRulesNeedTheSearchIndex() {
        let text = Self.base.replacingOccurrences(of: "[retention]", with: "[archive]\nsearch_index = false\n\n[retention]") + """
            [[retention.rule]]
            name = "q"
            keep = "1y"
            query = "merger"
            """
        #expect(ConfigurationCheckTests.errors(text) == [#"retention.rule[1] "q": query needs the search index, and [archive] search_index = false"#])
    }

    @Test func thePolicyAndItsSummary() throws {
        let text = Self.base + """
            [[retention.rule]]
            name = "news"
            keep = "30d"
            senders = ["@news.example.com"]
            [[retention.rule]]
            name = "legal"
            keep = "forever"
            routes = ["journal"]
            """
        guard case .success(let validated) = ConfigurationCheck.check(text: text, environment: ConfigurationCheckTests.environment) else {
            Issue.record("refused")
            return
        }
        let policy = validated.retention
        #expect(policy.defaultKeep == .years(7))
        #expect(policy.rules.map(\.name) == ["news", "legal"])
        #expect(policy.rules.map(\.keep) == [.days(30), .forever])
        #expect(policy.routes.map(\.name) == ["journal"])
        #expect(policy.summary == "retention: default keeps 7 years; 2 rules")
    }

    @Test func withoutRetentionNothingExpires() throws {
        guard case .success(let validated) = ConfigurationCheck.check(text: ConfigurationCheckTests.base,
                                                                      environment: ConfigurationCheckTests.environment) else {
            Issue.record("refused")
            return
        }
        #expect(validated.retention.defaultKeep == .forever && validated.retention.rules.isEmpty)
        #expect(validated.retention.summary == "retention: default keeps forever; 0 rules")
    }
}
