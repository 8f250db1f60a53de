import Foundation
import TestSupport
import Testing

/// `serve` under systemd's `Type=notify`, with a Python datagram socket posing as systemd
/// (Scripts/fake_systemd.py): READY=1 only once the SMTP listener greets, WATCHDOG=1 pings
/// with WATCHDOG_USEC, RELOADING=1 then READY=1 around each SIGHUP (applied or refused),
/// STOPPING=1 on SIGTERM.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(3)))
struct NotifyNodeTests {
    static let script = NodeTestSupport.packageRoot.appendingPathComponent("Tests/NodeTests/Scripts/fake_systemd.py").path

    /// What the fake systemd recorded: datagrams (as their assignments) and the greeting it
    /// read when READY=1 came.
    struct Records {
        let path: String

        var entries: [[String: String]] {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: String]
            }
        }

        /// Each datagram's lines.
        var datagrams: [[String]] {
            entries.compactMap { $0["datagram"] }.map { $0.split(separator: "\n").map(String.init) }
        }

        func waitFor(_ what: String, log: String, _ condition: (Records) -> Bool) async throws {
            guard try await eventually({ condition(self) }) else {
                throw NodeTestError("no \(what) within \(patience) s; recorded: \(entries)\nlog:\n\(NodeTestSupport.tail(log))")
            }
        }
    }

    @Test func theNodeTellsSystemdItsStates() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "notify", root: workspace.root)
        try node.writeConfig("")
        let socket = workspace.root + "/notify.sock"
        let records = Records(path: workspace.root + "/notify.jsonl")
        _ = try workspace.children.launch(NodeTestSupport.python, [Self.script, socket, records.path, "\(node.journalPort)"],
                                          log: workspace.root + "/systemd.log")
        try #require(try await eventually { FileManager.default.fileExists(atPath: socket) }, "the fake systemd did not bind \(socket)")

        let process = try await node.start(workspace.children, environment: ["NOTIFY_SOCKET": socket, "WATCHDOG_USEC": "1000000"])
        // The first datagram is READY=1, and the listener greeted the connection made on it.
        try await records.waitFor("greeting after READY=1", log: node.log) { $0.entries.contains { $0["banner"] != nil || $0["banner_error"] != nil } }
        let ready = try #require(records.datagrams.first)
        #expect(ready.contains("READY=1"))
        #expect(ready.contains("MAINPID=\(process.processIdentifier)"))
        #expect(ready.contains { $0.hasPrefix("STATUS=accepting mail on journal 127.0.0.1:\(node.journalPort)") }, "\(ready)")
        let banner = records.entries.first { $0["banner"] != nil || $0["banner_error"] != nil }
        #expect(banner?["banner"]?.hasPrefix("220 ") == true, "\(String(describing: banner))")

        try await records.waitFor("two watchdog pings", log: node.log) { $0.datagrams.filter { $0 == ["WATCHDOG=1"] }.count >= 2 }

        // A reload that applies, then one the file refuses: RELOADING=1, then READY=1 saying which.
        try await reload(process, records: records, log: node.log, expecting: "STATUS=configuration reloaded")
        try "[node\nbroken".write(toFile: node.configPath, atomically: true, encoding: .utf8)
        try await reload(process, records: records, log: node.log, expecting: "STATUS=reload refused")

        process.sendSignal(SIGTERM)
        try await records.waitFor("STOPPING=1", log: node.log) { $0.datagrams.contains { $0.contains("STOPPING=1") } }
        #expect(await process.waitForExit(timeout: .seconds(patience)), "the node did not stop; log:\n\(NodeTestSupport.tail(node.log))")
    }

    /// SIGHUP, then a RELOADING=1 with MONOTONIC_USEC and after it a READY=1 whose status starts with `status`.
    func reload(_ process: Process, records: Records, log: String, expecting status: String) async throws {
        let before = records.datagrams.count
        process.sendSignal(SIGHUP)
        try await records.waitFor("READY=1 with \(status)", log: log) { records in
            let fresh = records.datagrams.dropFirst(before)
            guard let reloading = fresh.firstIndex(where: { $0.contains("RELOADING=1") }) else { return false }
            return fresh[reloading...].contains { $0.contains("READY=1") && $0.contains { $0.hasPrefix(status) } }
        }
        let reloading = try #require(records.datagrams.dropFirst(before).first { $0.contains("RELOADING=1") })
        let usec = reloading.first { $0.hasPrefix("MONOTONIC_USEC=") }.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) }
        #expect((usec ?? 0) > 0, "\(reloading)")
    }
}
