import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The archive on a small tmpfs made by the test (root only: mount). Filling it must give
/// temporary refusals, never a crash, a torn record or a lost acknowledged message, and
/// the node must accept again by itself once space is freed.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(3)), .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct DiskFullTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let diskMiB: Int
        let ballastMiB: Int
        /// `[archive] min_free_bytes`.
        let minimumFree: Int
        /// What the client must see while the disk is full.
        let refusal: Int
        /// Size of each message sent.
        var messageKiB = 512
        var testDescription: String { name }
    }

    static let cases = [
        // The free-space threshold trips first: MAIL gets 452 4.3.1.
        Case(name: "below min_free_bytes", diskMiB: 32, ballastMiB: 8, minimumFree: 12 << 20, refusal: 452),
        // No threshold (0): the write itself fails with ENOSPC, the batch gets 451 4.3.0,
        // the segment is abandoned and a new one opened once there is room. Messages
        // larger than the writer's 1 MiB of preallocated zeros, so a record write, not the
        // preallocation, is what meets the full disk. (With a threshold of 1 byte, one run
        // found the volume with no block left before a record write met it, the index
        // being on it too, and MAIL got 452 instead.)
        Case(name: "ENOSPC on write", diskMiB: 16, ballastMiB: 4, minimumFree: 0, refusal: 451, messageKiB: 2048),
    ]

    @Test(arguments: cases)
    func fullDiskRefusesThenRecovers(_ c: Case) async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let (root, children, node) = (workspace.root, workspace.children, workspace.node)
        let disk = root + "/disk", sent = root + "/sent"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sent, withIntermediateDirectories: true)
        let mount = try await runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=\(c.diskMiB)m", "tmpfs", disk], in: root)
        try #require(mount.status == 0, "mount failed: \(mount.stderr)")
        defer { _ = umount2(disk, Int32(MNT_DETACH)) }
        let ballast = disk + "/ballast"
        try Data(count: c.ballastMiB << 20).write(to: URL(fileURLWithPath: ballast))

        let dataDir = disk + "/data"
        let config = root + "/node.toml"
        try """
        [node]
        id = "disk-test"
        data_dir = "\(dataDir)"
        admin = "127.0.0.1:\(node.adminPort)"

        [[listener]]
        name = "journal"
        address = "127.0.0.1:\(node.smtpPort)"

        [archive]
        min_free_bytes = \(c.minimumFree)
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try children.launch(node.binary, ["serve", "--config", config], log: node.log)
        try await NodeTestSupport.waitUntilListening(server, ports: [node.smtpPort], log: node.log)

        func fill(_ count: Int) async throws -> [Int] {
            let run = try await runProcess(NodeTestSupport.python, [
                NodeTestSupport.clientScript, "fill", "\(node.smtpPort)", sent, "\(count)", "\(c.messageKiB << 10)",
            ], in: root)
            try #require(run.status == 0, "fill client failed: \(run.stderr)")
            return String(decoding: run.stdout, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        }

        // Twice the disk's size: it fills up on the way.
        let codes = try await fill(c.diskMiB * 2048 / c.messageKiB)
        #expect(codes.contains(250), "nothing accepted before the disk filled: \(codes)")
        #expect(codes.contains(c.refusal), "expected \(c.refusal) while full, got \(codes)")
        #expect(codes.allSatisfy { $0 == 250 || $0 == 451 || $0 == 452 }, "unexpected replies: \(codes)")
        #expect(server.isRunning, "serve died on a full disk: \(NodeTestSupport.tail(node.log))")

        // Space comes back: the node accepts again without a restart (at its next probe of
        // the free space, whenever the machine lets it run).
        try FileManager.default.removeItem(atPath: ballast)
        var recovered = false
        let deadline = ContinuousClock.now + .seconds(patience)
        while !recovered && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(250))
            recovered = try await fill(1) == [250]
        }
        #expect(recovered, "still refusing after space was freed: \(NodeTestSupport.tail(node.log))")

        server.sendSignal(SIGTERM)
        #expect(await server.waitForExit(timeout: .seconds(patience)), "serve did not stop")

        let verify = try await runProcess(node.binary, ["archive", "verify", "--data-dir", dataDir], in: root)
        #expect(verify.status == 0, "verify: \(String(decoding: verify.stdout, as: UTF8.self)) \(verify.stderr)")
        let acked = NodeTests.acknowledged(in: sent)
        let listed = try await NodeTestSupport.archiveList(binary: node.binary, dataDir: dataDir, scratch: root)
        let sums = try await NodeTestSupport.sha256sums(directory: sent)
        for (seq, id) in acked {
            #expect(listed[id]?.sha256 == sums["\(seq).eml"], "acknowledged \(seq) (\(id)) is missing or differs")
        }
        print("disk full (\(c.name)): replies \(codes.count) (\(codes.filter { $0 == 250 }.count) accepted), \(acked.count) acknowledged in all")
    }
}
