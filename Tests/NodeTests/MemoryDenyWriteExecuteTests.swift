import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The unit sets MemoryDenyWriteExecute=yes. systemd is not PID 1 where the tests run, so
/// Scripts/mdwe_exec.py installs the seccomp rules systemd does for it and execs the node.
extension DebianPackageTests {
    static let mdweScript = NodeTestSupport.packageRoot.appendingPathComponent("Tests/NodeTests/Scripts/mdwe_exec.py").path
    /// Debian's python3 with python3-seccomp (make deps-test), not whatever python3 is first on PATH.
    static let systemPython = "/usr/bin/python3"

    @Test func theFilterRefusesWritableExecutableMemory() async throws {
        try DebianPackageBuild.requireTools([Self.systemPython])
        let probe = "import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_WRITE | mmap.PROT_EXEC)"
        let plain = try await runProcess(Self.systemPython, ["-c", probe], in: NSTemporaryDirectory())
        #expect(plain.status == 0, "without the filter: \(plain.stderr)")
        let filtered = try await runProcess(Self.systemPython, [Self.mdweScript, Self.systemPython, "-c", probe], in: NSTemporaryDirectory())
        #expect(filtered.status == 1 && filtered.stderr.contains("Operation not permitted"), "under the filter: \(filtered.status) \(filtered.stderr)")
    }

    @Test func theNodeArchivesAndReloadsUnderMemoryDenyWriteExecute() async throws {
        try DebianPackageBuild.requireTools([Self.systemPython])
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "mdwe", root: workspace.root)
        try node.writeConfig("")
        let process = try workspace.children.launch(Self.systemPython, [Self.mdweScript, node.binary, "serve", "--config", node.configPath], log: node.log)
        try await NodeTestSupport.waitUntilListening(process, ports: [node.journalPort, node.haPort], log: node.log)
        // The test proves nothing unless the node runs with the filter.
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        #expect(status.contains("Seccomp:\t2"), "\(status)")

        let first = try await ChainNode.send(try ChainTests.message(workspace.root, "mdwe-1"), port: node.journalPort, root: workspace.root)
        #expect(first.code == 250, "log:\n\(NodeTestSupport.tail(node.log))")
        process.sendSignal(SIGHUP)
        let reloaded = try await eventually { NodeTestSupport.tail(node.log, bytes: 100_000).contains("configuration reloaded") }
        #expect(reloaded, "log:\n\(NodeTestSupport.tail(node.log))")
        let second = try await ChainNode.send(try ChainTests.message(workspace.root, "mdwe-2"), port: node.journalPort, root: workspace.root)
        #expect(second.code == 250, "log:\n\(NodeTestSupport.tail(node.log))")
        #expect(try await node.archivedDigests().count == 2)
        await node.stop(process)
        #expect(process.terminationStatus == 0, "log:\n\(NodeTestSupport.tail(node.log))")
    }
}
