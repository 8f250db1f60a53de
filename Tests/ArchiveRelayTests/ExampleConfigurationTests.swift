import Foundation
import RelayConfiguration
import RouteEngine
import SMTPProtocol
import Testing

/// Every configuration in examples/ must pass check-config as shipped.
struct ExampleConfigurationTests {
    static let examples: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples")

    static var files: [String] {
        let walker = FileManager.default.enumerator(atPath: examples.path)
        return (walker?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".toml") }.sorted()
    }

    @Test func examplesArePresent() {
        #expect(Self.files == ["ha-pair/node-a.toml", "ha-pair/node-b.toml", "ring-3/node-a.toml",
                               "ring-3/node-b.toml", "ring-3/node-c.toml", "single-node.toml"])
    }

    @Test(arguments: files)
    func examplePassesTheCheck(file: String) {
        let environment = ConfigurationCheck.Environment(hostName: "build-host", unreadable: ConfigurationCheck.Environment.system.unreadable)
        switch ConfigurationCheck.load(path: Self.examples.appendingPathComponent(file).path, environment: environment) {
        case .success(let validated):
            #expect(validated.warnings == [], "\(file)")
        case .failure(let problems):
            Issue.record("\(file): \(problems.errors + problems.warnings)")
        }
    }

    static func load(_ file: String) throws -> ValidatedConfiguration {
        try ConfigurationCheck.load(path: examples.appendingPathComponent(file).path,
                                    environment: .init(hostName: "build-host") { _ in nil }).get()
    }

    @Test func haPairForwardsJournalMailToThePeerOnly() throws {
        let a = try Self.load("ha-pair/node-a.toml")
        let b = try Self.load("ha-pair/node-b.toml")
        #expect(a.routing.traceTrustingListeners == ["ha"])
        #expect(a.peers.map { "\($0.host):\($0.port)" } == ["127.0.0.1:12632"])
        #expect(b.peers.map { "\($0.host):\($0.port)" } == ["127.0.0.1:12631"])
        #expect(b.listeners.map(\.port) == [12532, 12632])
        let sender = ReversePath.null, recipient = ForwardPath.postmaster
        #expect(a.routing.route(listener: "journal", sender: sender, recipient: recipient)
            == .accepted(route: "journal", RouteAction(archive: true, forward: ["node-b"])))
        #expect(a.routing.route(listener: "ha", sender: sender, recipient: recipient)
            == .accepted(route: "ha", RouteAction(archive: true, forward: [])))
    }

    /// The ring's loop is stopped by the trace: following the copy node to node with the
    /// three example files (each node signing with its key, the next stripping only what
    /// its key verifies) brings it back to node-a, which archives and stops.
    @Test func ringCopyStopsWhenItComesBack() throws {
        let nodes = try ["a", "b", "c"].map { try Self.load("ring-3/node-\($0).toml") }
        let next = ["node-a": 1, "node-b": 2, "node-c": 0]
        let original = Array("Subject: ring\r\n\r\nbody\r\n".utf8)
        var current = 0, listener = "journal", message = original
        var visited: [String] = []
        for _ in 0..<10 {
            let node = nodes[current].routing
            visited.append(node.nodeID.value)
            guard case .accepted(_, let action) = node.route(listener: listener, sender: .null, recipient: .postmaster) else {
                Issue.record("refused at \(node.nodeID)")
                return
            }
            #expect(action.archive)
            var stripper = TraceStripper(trust: node.traceTrust(onListener: listener))
            #expect(stripper.consume(message) + stripper.finish() == original, "\(node.nodeID) did not strip the trace")
            let verdict = LoopGuard.verdict(standing: stripper.standing, nodeID: node.nodeID, receivedFields: visited.count, maxHops: node.maxHops)
            guard case .forward(let trace) = verdict else {
                #expect(verdict.isLoop)
                break
            }
            // The stripper checks the mac; the digest is compared with the original at the final dot.
            let key = try #require(node.traceKey, "\(node.nodeID) has no trace key")
            message = key.sign(trace, originalDigest: [UInt8](repeating: 0, count: 32), relayedFields: []).headerFieldBytes + original
            current = next[node.nodeID.value]!
            listener = "ha"
        }
        #expect(visited == ["node-a", "node-b", "node-c", "node-a"])
    }
}

extension ForwardVerdict {
    var isLoop: Bool {
        if case .stop(.ownIDInPath) = self { return true }
        return false
    }
}

/// The TOML blocks of docs/CONFIG.md are configurations too.
struct DocumentedConfigurationTests {
    static var blocks: [String] {
        let url = ExampleConfigurationTests.examples.deletingLastPathComponent().appendingPathComponent("docs/CONFIG.md")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.components(separatedBy: "```toml\n").dropFirst().compactMap { $0.components(separatedBy: "```").first }
    }

    @Test func configDocHasItsTwoExamples() {
        #expect(Self.blocks.count == 2)
    }

    @Test(arguments: blocks)
    func documentedExamplePassesTheCheck(text: String) {
        // Every file the example names reads; its trace_key_file holds a key.
        let environment = ConfigurationCheck.Environment(hostName: "build-host", unreadable: { _ in nil },
                                                         contents: { _ in String(repeating: "ab", count: 32) })
        switch ConfigurationCheck.check(text: text, environment: environment) {
        case .success(let validated): #expect(validated.warnings == [])
        case .failure(let problems): Issue.record("\(problems.errors + problems.warnings)")
        }
    }
}
