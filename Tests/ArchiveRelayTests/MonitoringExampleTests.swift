import Foundation
import TestSupport
import Testing

/// examples/monitoring as shipped: the alert rules pass `promtool check rules` and their
/// unit tests (`promtool test rules`; promtool comes with Debian's `prometheus`, in the
/// Makefile's TEST_PACKAGES: without it these fail), and the rules and the Grafana
/// dashboard name only metrics the sources export, the dashboard every one OPERATIONS.md lists.
@Suite struct MonitoringExampleTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let monitoring = root.appendingPathComponent("examples/monitoring")
    static let rules = monitoring.appendingPathComponent("archiverelay.rules.yml").path
    static let dashboard = monitoring.appendingPathComponent("grafana-dashboard.json").path

    static func promtool() throws -> String {
        let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        guard let path = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw MonitoringTestError("promtool not found at \(candidates): install Debian's prometheus (make deps-test)")
        }
        return path
    }

    @Test(arguments: [["check", "rules"], ["test", "rules"]])
    func promtoolAcceptsTheRules(command: [String]) async throws {
        let file = command[0] == "check" ? Self.rules : Self.monitoring.appendingPathComponent("archiverelay.rules.test.yml").path
        let scratch = try makeTempDirectory("promtool")
        defer { removeTempDirectory(scratch) }
        let run = try await runProcess(try Self.promtool(), command + [file], in: scratch)
        #expect(run.status == 0, "promtool \(command.joined(separator: " ")): \(String(decoding: run.stdout, as: UTF8.self))\(run.stderr)")
    }

    /// Every metric the sources create (`Counter(label: "…")`, `Gauge`, `Meter`, `Recorder`, `Timer`).
    static func exportedMetrics() throws -> Set<String> {
        var names: Set<String> = []
        let sources = root.appendingPathComponent("Sources")
        for case let file as String in FileManager.default.enumerator(atPath: sources.path)?.allObjects ?? [] where file.hasSuffix(".swift") {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /(?:Counter|Gauge|Meter|Recorder|Timer)\(label: "([a-z_]+)"/) {
                names.insert(String(match.output.1))
            }
        }
        return names
    }

    /// The metric names in PromQL `text`: words of our metrics' prefixes, histogram suffixes taken off.
    static func metricNames(in text: String) -> Set<String> {
        Set(text.matches(of: /\b(?:smtp|archive|forward|node|admin|loops|unverified)_[a-z_]+\b/).map { match in
            var name = String(match.output)
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
            return name
        })
    }

    static func dashboardObject() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: dashboard))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func expressions(_ dashboard: [String: Any]) -> [String] {
        let panels = dashboard["panels"] as? [[String: Any]] ?? []
        return panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
    }

    @Test func rulesAndDashboardNameOnlyExportedMetrics() throws {
        let exported = try Self.exportedMetrics()
        #expect(exported.contains("archive_free_bytes") && exported.count > 30, "\(exported)")
        let rules = Self.metricNames(in: try String(contentsOfFile: Self.rules, encoding: .utf8))
        #expect(rules.count >= 9)
        #expect(rules.subtracting(exported).isEmpty, "rules name metrics nobody exports: \(rules.subtracting(exported))")
        let dashboard = Self.metricNames(in: Self.expressions(try Self.dashboardObject()).joined(separator: "\n"))
        #expect(dashboard.subtracting(exported).isEmpty, "the dashboard names metrics nobody exports: \(dashboard.subtracting(exported))")
    }

    @Test func theDashboardImportsAndShowsEveryDocumentedMetric() throws {
        let dashboard = try Self.dashboardObject()
        #expect(dashboard["schemaVersion"] is Int)
        let variables = (dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? []
        #expect(variables.contains { $0["type"] as? String == "datasource" && $0["name"] as? String == "datasource" })
        let panels = dashboard["panels"] as? [[String: Any]] ?? []
        for panel in panels where panel["type"] as? String != "row" {
            let uid = (panel["datasource"] as? [String: Any])?["uid"] as? String
            #expect(uid == "${datasource}", "\(panel["title"] ?? "?") does not use the datasource variable")
        }
        let operations = try String(contentsOf: Self.root.appendingPathComponent("docs/OPERATIONS.md"), encoding: .utf8)
        let documented = Self.metricNames(in: operations).intersection(try Self.exportedMetrics())
        #expect(documented.count > 25, "\(documented)")
        let shown = Self.metricNames(in: Self.expressions(dashboard).joined(separator: "\n"))
        #expect(documented.subtracting(shown).isEmpty, "OPERATIONS.md lists metrics the dashboard does not show: \(documented.subtracting(shown).sorted())")
    }
}

struct MonitoringTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
