import Foundation
import TestSupport
import Testing

/// `serve --log-format` and the default it picks: JSON lines that parse, with the metadata
/// as fields; journald's `<N>` prefixes when JOURNAL_STREAM names stderr (here: the log
/// file the node writes to), text when it names another file; `[node] log_format` over the
/// default and the flag over both.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(3)))
struct LogFormatNodeTests {
    enum Stream { case none, stderr, otherFile }

    /// The node's log lines from start to stop, with `arguments` and JOURNAL_STREAM as `stream` says.
    static func logLines(arguments: [String], stream: Stream, nodeExtra: String = "") async throws -> [String] {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "logs", root: workspace.root)
        try node.writeConfig("", nodeExtra: nodeExtra)
        let other = workspace.root + "/other"
        for path in [node.log, other] { #expect(FileManager.default.createFile(atPath: path, contents: nil)) }
        var environment: [String: String] = [:]
        switch stream {
        case .none: environment["JOURNAL_STREAM"] = ""
        case .stderr: environment["JOURNAL_STREAM"] = try identity(node.log)
        case .otherFile: environment["JOURNAL_STREAM"] = try identity(other)
        }
        let process = try await node.start(workspace.children, environment: environment, arguments: arguments)
        await node.stop(process)
        return try String(contentsOfFile: node.log, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static func identity(_ path: String) throws -> String {
        var status = stat()
        guard stat(path, &status) == 0 else { throw NodeTestError("cannot stat \(path)") }
        return "\(status.st_dev):\(status.st_ino)"
    }

    @Test(arguments: [Stream.none, .stderr])
    func jsonLinesParseWithTheMetadataAsFields(stream: Stream) async throws {
        let lines = try await Self.logLines(arguments: ["--log-format", "json"], stream: stream)
        var objects: [[String: Any]] = []
        for line in lines {
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            #expect(object != nil, "not a JSON object: \(line)")
            if let object { objects.append(object) }
        }
        let starting = try #require(objects.first { $0["message"] as? String == "starting" }, "\(lines)")
        #expect(starting["level"] as? String == "info")
        #expect(starting["label"] as? String == "archiverelay")
        #expect(starting["node"] as? String == "logs")
        #expect(starting["event_loop_threads"] is String)
        #expect((starting["time"] as? String)?.hasSuffix("Z") == true)
        #expect(objects.contains { $0["message"] as? String == "listening" && $0["listener"] as? String == "journal" })
    }

    @Test func journaldPrefixesWhenJournalStreamNamesStandardError() async throws {
        let lines = try await Self.logLines(arguments: [], stream: .stderr)
        #expect(lines.contains { $0.hasPrefix("<6>archiverelay: ") && $0.hasSuffix(" starting") }, "\(lines)")
        for line in lines { #expect(line.wholeMatch(of: /<[0-7]>.*/) != nil, "no priority: \(line)") }
    }

    @Test(arguments: [Stream.none, .otherFile])
    func textOtherwise(stream: Stream) async throws {
        let lines = try await Self.logLines(arguments: [], stream: stream)
        #expect(lines.contains { $0.contains(" info archiverelay:") && $0.hasSuffix(" starting") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("<") })
    }

    @Test func theFlagWinsOverJournalStream() async throws {
        let lines = try await Self.logLines(arguments: ["--log-format", "text"], stream: .stderr)
        #expect(lines.contains { $0.contains(" info archiverelay:") && $0.hasSuffix(" starting") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("<") })
    }

    /// `[node] log_format` when no flag says otherwise.
    @Test(arguments: [([String](), true), (["--log-format", "text"], false)])
    func theFileCanAskForJSON(arguments: [String], json: Bool) async throws {
        let lines = try await Self.logLines(arguments: arguments, stream: .none, nodeExtra: "log_format = \"json\"")
        let parsed = lines.filter { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] }
        #expect(parsed.count == (json ? lines.count : 0), "\(lines)")
        #expect(!lines.isEmpty)
    }

    @Test func anUnknownFormatIsAUsageError() async throws {
        let root = try makeTempDirectory("logs")
        defer { removeTempDirectory(root) }
        let run = try await runProcess(try NodeTestSupport.binary(), ["serve", "--log-format", "xml"], in: root)
        #expect(run.status != 0)
        #expect(run.stderr.contains("--log-format"), "\(run.stderr)")
    }
}
