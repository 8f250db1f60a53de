import Foundation
import TestSupport
import Testing

/// One node of a chain in a test: a journal listener, a `trust_trace` HA listener, an
/// admin port, its own data directory and log, and a config file the test writes.
struct ChainNode {
    let id: String
    let binary: String
    let journalPort: Int
    let haPort: Int
    let adminPort: Int
    let root: String
    var dataDir: String { root + "/data-\(id)" }
    var log: String { root + "/\(id).log" }
    var configPath: String { root + "/\(id).toml" }

    init(id: String, root: String) throws {
        self.id = id
        self.root = root
        binary = try NodeTestSupport.binary()
        journalPort = try freePort()
        haPort = try freePort()
        adminPort = try freePort()
    }

    /// The chain's trace key in the tests' configurations (`[node] trace_secret`).
    static let traceSecret = String(repeating: "c0", count: 32)

    /// The `[node]` table (plus `nodeExtra`, and the chain's `trace_secret` when `keyed`)
    /// and both listeners; `extra` adds connections and routes.
    func writeConfig(_ extra: String, journalExtra: String = "", nodeExtra: String = "", keyed: Bool = true) throws {
        try """
        [node]
        id = "\(id)"
        data_dir = "\(dataDir)"
        admin = "127.0.0.1:\(adminPort)"
        \(keyed ? "trace_secret = \"\(Self.traceSecret)\"" : "")
        \(nodeExtra)

        [[listener]]
        name = "journal"
        address = "127.0.0.1:\(journalPort)"
        \(journalExtra)

        [[listener]]
        name = "ha"
        address = "127.0.0.1:\(haPort)"
        trust_trace = true

        \(extra)
        """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// The journal listener's lines for STARTTLS with these files (`writeConfig`'s `journalExtra`).
    static func startTLS(certificate: String, key: String) -> String {
        """
        tls = "starttls"
        certificate_file = "\(certificate)"
        key_file = "\(key)"
        """
    }

    /// A `[[connection]]` to this node's HA listener (or `port`), with quick retries for tests.
    func connection(name: String? = nil, port: Int? = nil, extra: String = "") -> String {
        """
        [[connection]]
        name = "\(name ?? id)"
        host = "127.0.0.1"
        port = \(port ?? haPort)
        tls = "none"
        min_backoff_seconds = 1
        max_backoff_seconds = 1
        \(extra)

        """
    }

    /// The HA pair of examples/ha-pair: journal mail archived and forwarded to the peer's
    /// HA listener, copies from the peer archived only.
    static func configurePair(_ a: ChainNode, _ b: ChainNode, journalExtra: String = "") throws {
        try configureChain([a, b], journalExtra: journalExtra)
    }

    /// Each node archives its journal mail and forwards it to the next node (the last to
    /// the first) on the port `peerPort` picks: the HA listener, as it should be, or the
    /// journal listener (the misconfiguration); copies arriving on the HA listener are
    /// archived only. Every node has the tests' trace key unless `keyed` is false.
    static func configureChain(_ nodes: [ChainNode], peerPort: KeyPath<ChainNode, Int> = \.haPort, journalExtra: String = "",
                               keyed: Bool = true) throws {
        for (index, node) in nodes.enumerated() {
            let peer = nodes[(index + 1) % nodes.count]
            try node.writeConfig(peer.connection(port: peer[keyPath: peerPort]) + """
            [[route]]
            name = "journal"
            listeners = ["journal"]
            forward = ["\(peer.id)"]

            [[route]]
            name = "ha"
            listeners = ["ha"]
            """, journalExtra: journalExtra, keyed: keyed)
        }
    }

    func start(_ children: ChildProcesses, environment: [String: String] = [:], arguments: [String] = []) async throws -> Process {
        let process = try children.launch(binary, ["serve", "--config", configPath] + arguments, log: log, environment: environment)
        try await NodeTestSupport.waitUntilListening(process, ports: [journalPort, haPort], log: log)
        return process
    }

    func stop(_ process: Process) async {
        process.sendSignal(SIGTERM)
        if await !process.waitForExit(timeout: .seconds(patience)) {
            Issue.record("\(id) did not stop within \(patience) s of SIGTERM; log:\n\(NodeTestSupport.tail(log))")
            process.sendSignal(SIGKILL)
        }
    }

    /// SHA-256 → count of archived records (read-only CLI; safe while serving).
    func archivedDigests() async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for entry in try await NodeTestSupport.archiveList(binary: binary, dataDir: dataDir, scratch: root).values {
            result[entry.sha256, default: 0] += 1
        }
        return result
    }

    /// `archive digest` output lines.
    func digest() async throws -> String {
        let run = try await runProcess(binary, ["archive", "digest", "--data-dir", dataDir], in: root)
        return String(decoding: run.stdout, as: UTF8.self)
    }

    /// Entries in the forward queue (through the running node's admin endpoint).
    func queueDepth() async throws -> Int {
        let run = try await runProcess(binary, ["queue", "dump", "--json", "--data-dir", dataDir, "--admin", "127.0.0.1:\(adminPort)"], in: root)
        guard run.status == 0 else { throw NodeTestError("queue dump failed: \(run.stderr)") }
        return String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").filter { $0.contains("\"type\":\"entry\"") }.count
    }

    /// The value of a Prometheus sample line starting with `prefix`, 0 when absent.
    func metric(_ prefix: String) async throws -> Double {
        let line = try await metricsText().split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
    }

    /// The admin endpoint's `/metrics`, Prometheus text.
    func metricsText() async throws -> String {
        let fetch = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=\(patience)).read().decode())"
        let run = try await runProcess(NodeTestSupport.python, ["-c", fetch, "http://127.0.0.1:\(adminPort)/metrics"], in: root)
        guard run.status == 0 else { throw NodeTestError("GET /metrics failed: \(run.stderr)") }
        return String(decoding: run.stdout, as: UTF8.self)
    }

    /// Sends one message file to a port; the reply code, seconds from the data to the reply, and the id.
    static func send(_ path: String, port: Int, root: String) async throws -> (code: Int, seconds: Double, id: String) {
        let run = try await runProcess(NodeTestSupport.python, [NodeTestSupport.clientScript, "one", "\(port)", path], in: root)
        let parts = String(decoding: run.stdout, as: UTF8.self).split(separator: " ")
        guard parts.count == 3, let code = Int(parts[0]), let seconds = Double(parts[1]) else {
            throw NodeTestError("client said: \(String(decoding: run.stdout, as: UTF8.self)) \(run.stderr)")
        }
        return (code, seconds, String(parts[2]).trimmingCharacters(in: .whitespacesAndNewlines))
    }}
