import ArchiveStore
import Foundation
import TestSupport
import Testing
@testable import ForwardQueue

#if canImport(Glibc)
import Glibc
#endif

/// `faulty_peer.py` (standard-library asyncio) as a child process on 127.0.0.1:`port`,
/// misbehaving as `mode` says (see the script's doc string).
final class FaultyPeer {
    /// One line of the peer's `events.log`.
    struct Event {
        var time: Double
        var connection: Int
        var name: String
        var detail: String
    }

    let port: Int
    let directory: String
    private let process = Process()

    init(port: Int, directory: String, mode: String, arguments: [String] = []) throws {
        self.port = port
        self.directory = directory
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Live.scripts + "/faulty_peer.py", "\(port)", directory, mode, "--lifetime", "\(Live.serverLifetime)"] + arguments
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func waitReady() async throws {
        guard try await eventually({ FileManager.default.fileExists(atPath: directory + "/READY") }) else {
            throw LiveTestError("the faulty peer did not start")
        }
    }

    /// Messages the peer genuinely accepted (stored before its one real 250), in order.
    func messages() -> [[UInt8]] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".eml") }.sorted()
        return names.map { readFile(directory + "/" + $0) }
    }

    func events() -> [Event] {
        String(decoding: readFile(directory + "/events.log"), as: UTF8.self).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 3).map(String.init)
            guard fields.count >= 3, let time = Double(fields[0]), let connection = Int(fields[1]) else { return nil }
            return Event(time: time, connection: connection, name: fields[2], detail: fields.count > 3 ? fields[3] : "")
        }
    }

    /// Connections on which the peer received a whole message after it had sent a reply
    /// that answers no command: a client in step closes such a session instead.
    func contentAfterUnsolicitedReply() -> [Int] {
        var unsolicited = Set<Int>(), offending = Set<Int>()
        for event in events() {
            if event.name == "unsolicited" { unsolicited.insert(event.connection) }
            if event.name == "dot" && unsolicited.contains(event.connection) { offending.insert(event.connection) }
        }
        return offending.sorted()
    }

    /// Stops the peer; its open connections close with the process. Blocking, for `defer`.
    func stop() {
        _ = FileManager.default.createFile(atPath: directory + "/STOP", contents: nil)  // the peer polls for it; a failure shows as a peer that does not stop
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
    }

    /// Stops the peer and waits for it without holding a cooperative pool thread.
    func stopAndWait() async {
        _ = FileManager.default.createFile(atPath: directory + "/STOP", contents: nil)  // the peer polls for it; a failure shows as a peer that does not stop
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        stop()
    }
}

/// Archived messages queued for one connection, each with a trace prefix naming its index,
/// and the check every fault test ends with: an entry leaves the queue only when a peer
/// stored exactly its bytes (a real 250), so nothing is lost.
struct Backlog {
    let messages: [(MessageReference, [UInt8])]
    let ids: [UInt64]

    static func enqueue(_ count: Int, tag: String, store: ArchiveStore, queue: ForwardQueue, connection: String = "peer-a") async throws -> Backlog {
        let messages = try await Live.archive(store, count: count, tag: tag)
        let ids = try await queue.enqueue(messages.enumerated().map { n, message in
            QueueItem(connection: connection, reference: message.0, size: UInt64(message.1.count), sender: "journal@example.test",
                      recipients: ["audit@example.test"], prefix: Self.prefix(n))
        })
        return Backlog(messages: messages, ids: ids)
    }

    static func prefix(_ n: Int) -> [UInt8] { Array("X-Archiverelay-Trace: fault \(n)\r\n".utf8) }

    /// What a peer must store for message `n`: the trace prefix, then the archived bytes.
    func expected(_ n: Int) -> [UInt8] { Self.prefix(n) + messages[n].1 }
    var allExpected: Set<[UInt8]> { Set(messages.indices.map(expected)) }

    /// Indexes of messages gone from the queue that no peer stored. The snapshot is taken
    /// before the peers' files are read, so a delivery racing the check cannot look lost.
    func lost(_ queue: ForwardQueue, stored: () -> [[UInt8]]) -> [Int] {
        let remaining = Set(queue.snapshot().entries.map(\.id))
        let kept = Set(stored())
        return ids.indices.filter { !remaining.contains(ids[$0]) && !kept.contains(expected($0)) }
    }

    /// Stored messages that are not byte for byte one of the backlog's.
    func foreign(_ stored: [[UInt8]]) -> Int { stored.filter { !allExpected.contains($0) }.count }

    /// Waits until the queue is empty, checking at every poll that nothing left it unstored.
    /// Returns whether it drained and every index ever seen lost.
    func drain(_ queue: ForwardQueue, seconds: Int = patience, stored: () -> [[UInt8]]) async throws -> (drained: Bool, lost: Set<Int>) {
        var lost = Set<Int>()
        let drained = try await eventually(within: seconds) {
            lost.formUnion(self.lost(queue, stored: stored))
            return queue.snapshot().connections.first?.depth == 0
        }
        lost.formUnion(self.lost(queue, stored: stored))
        return (drained, lost)
    }

    /// Like `eventually`, checking for lost messages at every poll as well.
    func watch(_ queue: ForwardQueue, seconds: Int = patience, stored: () -> [[UInt8]], until condition: () -> Bool) async throws -> (met: Bool, lost: Set<Int>) {
        var lost = Set<Int>()
        let met = try await eventually(within: seconds) {
            lost.formUnion(self.lost(queue, stored: stored))
            return condition()
        }
        return (met, lost)
    }
}

extension PeerSettings {
    /// A plain connection to 127.0.0.1:`port` with timeouts and backoff small enough for tests.
    static func fault(port: Int, connections: Int = 1) -> PeerSettings {
        var s = PeerSettings(name: "peer-a", host: "127.0.0.1", port: port)
        s.tls = .none
        s.maxConnections = connections
        s.minBackoff = 0.3
        s.maxBackoff = 0.6
        s.connectTimeout = 2
        s.commandTimeout = 5
        s.dataTimeout = 5
        s.idleTimeout = 1
        return s
    }
}
