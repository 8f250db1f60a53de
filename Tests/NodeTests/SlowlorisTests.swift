import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Slowloris: a thousand connections that send nothing, or a byte now and then and never
/// a whole line, must not keep a good client out, must not get past the per-client limit,
/// and must be closed with 421 4.4.2 when the command timeout runs out (a timeout per
/// line, so dripping bytes does not keep a session alive).
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(3)))
struct SlowlorisTests {
    static let sources = (2...11).map { "127.0.0.\($0)" }  // 10 client addresses, 100 sessions each
    static let perClient = 100
    /// `command_timeout_seconds`: long enough that the good client is surely served while
    /// every slow session is still open, and the 101st session asked while the first
    /// hundred are, on a machine as loaded as CI.
    static let commandTimeout = 60

    @Test func aThousandSlowSessionsTimeOutWhileAGoodClientGetsThrough() async throws {
        try raiseOpenFileLimit(to: 4096)
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let node = try ChainNode(id: "slowloris", root: workspace.root)
        try node.writeConfig("", journalExtra: """
            max_connections = 1100
            max_connections_per_client = \(Self.perClient)
            command_timeout_seconds = \(Self.commandTimeout)
            """)
        let process = try await node.start(workspace.children)

        var slow: [RawClient] = []
        var extras: [RawClient] = []
        defer { for client in slow + extras { client.close() } }
        // A burst of connections; a session has begun once its greeting came.
        func begun(_ clients: [RawClient]) { for client in clients { _ = client.transcript(waitingUpTo: patience, until: "\r\n") } }
        let openStart = ContinuousClock.now
        for source in Self.sources {
            for _ in 0..<Self.perClient { slow.append(try RawClient(from: source, port: node.journalPort)) }
            // One session more from the first busy address is turned away: asked once its
            // hundred have begun, and at once, long before any of them can time out.
            if extras.isEmpty {
                begun(slow)
                extras.append(try RawClient(from: source, port: node.journalPort))
            }
        }
        begun(slow)
        print("slowloris: opened \(slow.count) in \(ContinuousClock.now - openStart)")
        let drippers = Set(slow.indices.filter { $0 % 2 == 0 })

        // While half of them drip a command a byte at a time, a good client sends mail. Each
        // round looks at every slow session, so the test sees when they end, however long
        // the machine takes (up to the timeout and the patience again).
        let message = try ChainTests.message(workspace.root, "good-under-slowloris")
        let good = GoodClient()
        let goodSend = Task { try await good.send(message, port: node.journalPort, root: workspace.root) }
        let rssWithAllOpen = residentKiB(process.processIdentifier)
        let command = Array("EHLO slowloris.example".utf8)
        let endBy = ContinuousClock.now + .seconds(Self.commandTimeout + patience)
        var endedBeforeTheGoodReply: Int?
        var round = 0
        while ContinuousClock.now < endBy {
            let served = good.isDone  // before the look: sessions ending meanwhile count as ended before it
            var open = 0
            for (index, client) in slow.enumerated() {
                _ = client.transcript(waitingUpTo: 0)
                guard !client.sawEnd else { continue }
                open += 1
                if drippers.contains(index) { client.send([command[round % command.count]]) }
            }
            if served && endedBeforeTheGoodReply == nil { endedBeforeTheGoodReply = slow.count - open }
            if served && open == 0 { break }
            round += 1
            try await Task.sleep(for: .milliseconds(500))
        }
        let goodReply = try await goodSend.value
        #expect(goodReply.code == 250, "the good client got \(goodReply.code) while 1,000 slow sessions were open")
        #expect(endedBeforeTheGoodReply == 0,
                "\(endedBeforeTheGoodReply.map(String.init) ?? "all") slow sessions had timed out before the good client's 250 (after \(goodReply.seconds) s)")

        let refused = extras[0].transcript(waitingUpTo: patience)  // up to its close
        #expect(refused.contains("421 4.7.0"), "session \(Self.perClient + 1) from \(Self.sources[0]) was not refused: \(refused.debugDescription)")

        // Every session was told and closed, the dripping ones included (they were sent a
        // byte until they ended).
        var timedOut = 0, samples: [String] = []
        for (index, client) in slow.enumerated() {
            let transcript = client.transcript(waitingUpTo: 0)  // no waiting: the loop above saw them end, or gave up
            if transcript.hasPrefix("220 ") && transcript.contains("421 4.4.2") && client.sawEnd {
                timedOut += 1
            } else if samples.count < 3 {
                samples.append("#\(index)\(index % 2 == 0 ? " (dripping)" : ""): \(transcript.debugDescription)")
            }
        }
        #expect(timedOut == slow.count, "\(slow.count - timedOut) of \(slow.count) slow sessions were not ended with 421 4.4.2 within \(Self.commandTimeout + patience) s, e.g. \(samples)")

        // The node is unharmed: another message goes through.
        let after = try await ChainNode.send(try ChainTests.message(workspace.root, "after-slowloris"), port: node.journalPort, root: workspace.root)
        #expect(after.code == 250)
        print("slowloris: \(slow.count) slow sessions, \(drippers.count) dripping; node RSS \(rssWithAllOpen / 1024) MiB with all open; good client's 250 after \(String(format: "%.3f", goodReply.seconds)) s; \(timedOut) ended with 421 4.4.2")
        #expect(rssWithAllOpen < 256 * 1024, "node RSS \(rssWithAllOpen) KiB with 1,000 idle sessions")
        await node.stop(process)
    }

    func raiseOpenFileLimit(to wanted: rlim_t) throws {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw NodeTestError("getrlimit failed") }
        limit.rlim_cur = min(max(limit.rlim_cur, wanted), limit.rlim_max)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        try #require(limit.rlim_cur >= 1200, "this test needs 1,200 open files; the hard limit is \(limit.rlim_max)")
    }

    func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}

/// The good client's one message, sent beside the slow sessions; `isDone` once its reply came.
final class GoodClient: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    var isDone: Bool { lock.withLock { done } }

    func send(_ path: String, port: Int, root: String) async throws -> (code: Int, seconds: Double, id: String) {
        defer { lock.withLock { done = true } }
        return try await ChainNode.send(path, port: port, root: root)
    }
}

/// A plain blocking TCP client bound to a chosen loopback source address.
final class RawClient {
    private let fd: Int32
    private var received: [UInt8] = []
    private(set) var sawEnd = false

    init(from source: String, port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NodeTestError("socket() failed: errno \(errno)") }
        var local = TestPorts.loopback(port: 0, host: source)
        var remote = TestPorts.loopback(port: port)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) == 0 } }
        let connected = bound && withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) == 0 }
        }
        guard connected else {
            let error = errno
            Glibc.close(fd)
            throw NodeTestError("connect from \(source) to 127.0.0.1:\(port) failed: errno \(error)")
        }
    }

    /// Sends without raising SIGPIPE when the server has already closed.
    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// What the server sent, reading until it closes, `seconds` pass without data, or
    /// (when given) what was received ends with `suffix`.
    func transcript(waitingUpTo seconds: Int, until suffix: String? = nil) -> String {
        var pollfd = Glibc.pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var buffer = [UInt8](repeating: 0, count: 4096)
        func complete() -> Bool { suffix.map { String(decoding: received, as: UTF8.self).hasSuffix($0) } ?? false }
        while !sawEnd, !complete(), poll(&pollfd, 1, Int32(seconds * 1000)) > 0 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { sawEnd = true } else { received += buffer[0..<n] }
        }
        return String(decoding: received, as: UTF8.self)
    }

    func close() { Glibc.close(fd) }
}
