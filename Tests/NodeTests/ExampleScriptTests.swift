import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// examples/*/run.sh as a user runs them (with this build's binary): each must end with
/// status 0 and its OK line, and the `archive digest` lines it prints for its nodes must
/// agree with each other and add up to every message it sent. The scripts use fixed
/// loopback ports below the ephemeral range, so the suite runs them one at a time.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(3)))
struct ExampleScriptTests {
    struct Example: Sendable, CustomTestStringConvertible {
        let script: String
        let tools: [String]
        let nodes: Int
        let messages: Int
        var testDescription: String { script }
        var path: String { NodeTestSupport.packageRoot.appendingPathComponent("examples/" + script).path }
    }

    static let smtpSource = "/usr/sbin/smtp-source", curl = "/usr/bin/curl"
    static let examples = [
        Example(script: "ha-pair/run.sh", tools: [smtpSource, curl, NginxChainTests.nginx, NginxChainTests.streamModule],
                nodes: 2, messages: 3 * 200),
        Example(script: "ring-3/run.sh", tools: [smtpSource, curl], nodes: 3, messages: 3 * 100),
    ]

    static func run(_ example: Example, in root: String) async throws -> (status: Int32, stdout: String, stderr: String) {
        for tool in example.tools {
            try #require(FileManager.default.fileExists(atPath: tool), "\(tool) is needed (make deps-test)")
        }
        let environment = ["ARCHIVERELAY_BINARY": try NodeTestSupport.binary(), "ARCHIVERELAY_RUN_DIR": root + "/run"]
        let run = try await runProcess("/bin/bash", [example.path], in: root, environment: environment)
        return (run.status, String(decoding: run.stdout, as: UTF8.self), run.stderr)
    }

    @Test(arguments: examples)
    func exampleEndsWithEveryMessageOnEveryNode(example: Example) async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let run = try await Self.run(example, in: workspace.root)
        #expect(run.status == 0, "\(example.script) exited \(run.status):\n\(run.stdout.suffix(3000))\n\(run.stderr.suffix(2000))")
        #expect(run.stdout.contains("\n== OK: "), "no OK line:\n\(run.stdout.suffix(2000))")

        // "archive digest: DAY COUNT SHA256" per node and day, in node order.
        let digests = run.stdout.split(separator: "\n").filter { $0.contains("archive digest: ") }
            .map { $0.components(separatedBy: "archive digest: ")[1].split(separator: " ") }
        let perNode = digests.count / example.nodes
        #expect(perNode > 0 && digests.count == perNode * example.nodes, "digest lines: \(digests)")
        let nodes = (0..<example.nodes).map { Array(digests.dropFirst($0 * perNode).prefix(perNode)) }
        #expect(nodes.allSatisfy { $0 == nodes[0] }, "the nodes' digests differ: \(nodes)")
        #expect(nodes[0].compactMap { $0.count == 3 ? Int($0[1]) : nil }.reduce(0, +) == example.messages)
    }

    @Test func aPortInUseStopsTheScriptBeforeItStartsAnything() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let occupied = try Self.occupy(port: 13632)
        defer { close(occupied) }
        let run = try await Self.run(Self.examples[1], in: workspace.root)
        #expect(run.status == 1)
        #expect(run.stderr.contains("127.0.0.1:13632 is already in use"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: workspace.root + "/run/node-a.log"), "a node was started")
    }

    /// A socket listening on 127.0.0.1:`port` (the caller closes it).
    static func occupy(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var reuse: Int32 = 1  // the port may still have connections in TIME_WAIT from a run just before
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = TestPorts.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard fd >= 0, bound, listen(fd, 4) == 0 else {
            close(fd)
            throw NodeTestError("cannot listen on 127.0.0.1:\(port): errno \(errno)")
        }
        return fd
    }
}
