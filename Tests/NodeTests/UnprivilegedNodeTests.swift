import Foundation
import Testing

/// The node as it runs in production: as an unprivileged user. Everything else in the
/// suite runs as whoever runs the tests, which in CI is root, and root may set socket
/// options nobody else may (SO_DEBUG, set by mistake for TCP_NODELAY, closed every
/// connection of a node run by any other user before its greeting).
@Suite(.serialized) struct UnprivilegedNodeTests {
    /// The real UID of a running process, from `/proc`.
    static func uid(of pid: Int32) throws -> uid_t? {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }
        return line?.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { uid_t($0) }
    }

    @Test(.timeLimit(NodeTestSupport.scaledMinutes(2)))
    func aNodeRunByNobodyAcceptsAndArchivesMail() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "unprivileged", root: workspace.root)
        try node.writeConfig("")
        if geteuid() == 0 {
            // Hand the workspace to nobody.
            for path in [workspace.root, node.configPath] {
                #expect(chown(path, NodeTestSupport.nobody, NodeTestSupport.nobody) == 0)
            }
            #expect(chmod(workspace.root, 0o755) == 0)
        }
        let command = NodeTestSupport.asNobody(node.binary, ["serve", "--config", node.configPath])
        let process = try workspace.children.launch(command.executable, command.arguments, log: node.log)
        try await NodeTestSupport.waitUntilListening(process, ports: [node.journalPort, node.haPort], log: node.log)
        // The test proves nothing if the node kept root's privileges.
        let uid = try #require(try Self.uid(of: process.processIdentifier))
        #expect(uid != 0, "the node runs as root; log:\n\(NodeTestSupport.tail(node.log))")

        let sent = try await ChainNode.send(try ChainTests.message(workspace.root, "unprivileged"), port: node.journalPort,
                                            root: workspace.root)
        #expect(sent.code == 250, "log:\n\(NodeTestSupport.tail(node.log))")
        #expect(try await node.archivedDigests().count == 1)
        await node.stop(process)
    }
}
