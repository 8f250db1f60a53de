import Foundation
import Testing

/// `[node] event_loop_threads` sizes the event loop group the whole node runs on: the
/// running process has exactly that many loop threads, and a message is still archived.
@Suite(.serialized) struct EventLoopThreadTests {
    /// Threads of `pid` whose kernel name is one of NIO's singleton event loops.
    static func eventLoopThreads(_ pid: Int32) throws -> Int {
        let tasks = "/proc/\(pid)/task"
        return try FileManager.default.contentsOfDirectory(atPath: tasks).filter { tid in
            let name = (try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8)) ?? ""
            return name.hasPrefix("NIO-SGLTN-")
        }.count
    }

    @Test(arguments: [1, 3])
    func theNodeRunsOnTheConfiguredLoops(threads: Int) async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "loops-\(threads)", root: workspace.root)
        try node.writeConfig("", nodeExtra: "event_loop_threads = \(threads)")
        let process = try await node.start(workspace.children)
        let sent = try await ChainNode.send(try ChainTests.message(workspace.root, "one"), port: node.journalPort,
                                            root: workspace.root)
        #expect(sent.code == 250)
        #expect(try Self.eventLoopThreads(process.processIdentifier) == threads)
        #expect(try await node.archivedDigests().count == 1)
        await node.stop(process)
    }
}
