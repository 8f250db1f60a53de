import Foundation
import TestSupport
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

    /// An operator runs the CLI as root against the data directory of a node that runs as
    /// its own user: the files the command creates (holds database, audit log) must be
    /// the node's, or the node could never write them again. The audit entry still names
    /// root.
    @Test(.enabled(if: geteuid() == 0, "taking on another user needs root"), .timeLimit(NodeTestSupport.scaledMinutes(2)))
    func rootOperatorCommandsLeaveTheDataDirectoryToItsOwner() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let data = workspace.root + "/data"
        #expect(mkdir(data, 0o750) == 0)
        for path in [workspace.root, data] { #expect(chown(path, NodeTestSupport.nobody, NodeTestSupport.nobody) == 0) }
        #expect(chmod(workspace.root, 0o755) == 0)
        let binary = try NodeTestSupport.binary()

        let created = try await runProcess(binary, ["archive", "hold", "create", "case-1", "--query", "merger", "--reason", "audit",
                                                    "--data-dir", data], in: workspace.root)
        #expect(created.status == 0, "\(created.stderr)")
        for folder in ["holds", "audit"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: data + "/" + folder) + [""] {
                var info = stat()
                #expect(stat(data + "/" + folder + "/" + name, &info) == 0)
                #expect(info.st_uid == NodeTestSupport.nobody, "\(folder)/\(name) belongs to uid \(info.st_uid)")
            }
        }
        // The node's user can change what root made, and the log names who did what.
        let released = NodeTestSupport.asNobody(binary, ["archive", "hold", "release", "case-1", "--yes", "--data-dir", data])
        let release = try await runProcess(released.executable, released.arguments, in: workspace.root)
        #expect(release.status == 0, "\(release.stderr)")
        let audit = try await runProcess(binary, ["archive", "audit", "--json", "--data-dir", data], in: workspace.root)
        let actors = String(decoding: audit.stdout, as: UTF8.self).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["actor"] as? String
        }
        #expect(actors.prefix(2) == ["user:root", "user:nobody"], "\(actors) \(audit.stderr)")
    }
}
