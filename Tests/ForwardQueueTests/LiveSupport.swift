import ArchiveStore
import Foundation
import TestSupport
import Testing
@testable import ForwardQueue

#if canImport(Glibc)
import Glibc
#endif

struct LiveTestError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

enum Live {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts").path

    /// Seconds a test's server process lives at most: longer than any suite's time limit,
    /// so it outlives its test only when the test process dies.
    static let serverLifetime = 1200

    /// Archives `count` small messages concurrently (group commit) and returns their
    /// locations and bytes, in submission order.
    static func archive(_ store: ArchiveStore, count: Int, tag: String) async throws -> [(MessageReference, [UInt8])] {
        var results = [(MessageReference, [UInt8])?](repeating: nil, count: count)
        let chunk = 200
        for start in stride(from: 0, to: count, by: chunk) {
            try await withThrowingTaskGroup(of: (Int, MessageReference, [UInt8]).self) { group in
                for n in start..<min(count, start + chunk) {
                    group.addTask {
                        let bytes = Array("Message-ID: <\(tag)-\(n)@example.test>\r\nSubject: \(n)\r\n\r\n.leading dot line \(n)\r\nbody\r\n".utf8)
                        let envelope = ArchiveEnvelope(receivedAt: Date(), listener: "journal", clientAddress: "127.0.0.1:1", helo: "h",
                                                       tls: nil, sender: "journal@example.test", recipients: ["audit@example.test"])
                        var draft = try store.makeDraft(envelope: envelope)
                        try draft.append(bytes: bytes)
                        let receipt = try await store.commit(try draft.finish())
                        return (n, .archive(segment: receipt.segment, offset: receipt.offset), bytes)
                    }
                }
                for try await (n, reference, bytes) in group { results[n] = (reference, bytes) }
            }
        }
        return results.compactMap { $0 }
    }
}

/// `recording_peer.py` (aiosmtpd) as a child process on 127.0.0.1:`port`.
final class RecordingPeer {
    let port: Int
    let directory: String
    private let process = Process()

    init(port: Int, directory: String, name: String = "peer.test", tls: TestIdentity? = nil) throws {
        self.port = port
        self.directory = directory
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Live.scripts + "/recording_peer.py", "\(port)", directory, "--name", name, "--lifetime", "\(Live.serverLifetime)"]
            + (tls.map { ["--tls-cert", $0.certificate, "--tls-key", $0.key] } ?? [])
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func waitReady() async throws {
        guard try await eventually({ FileManager.default.fileExists(atPath: directory + "/READY") }) else {
            throw LiveTestError("the test peer did not start")
        }
    }

    /// The recorded messages in arrival order.
    func messages() -> [[UInt8]] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".eml") }.sorted()
        return names.map { readFile(directory + "/" + $0) }
    }

    func stop() {
        _ = FileManager.default.createFile(atPath: directory + "/STOP", contents: nil)  // the peer polls for it; a failure shows as a peer that does not stop
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
    }
}

/// Runs `queue.run()` in a task for the duration of `body`, then cancels it and closes the queue.
func whileDelivering<T>(_ queue: ForwardQueue, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await queue.run() }
    do {
        let result = try await body()
        task.cancel()
        _ = await task.result
        await queue.close()
        return result
    } catch {
        task.cancel()
        _ = await task.result
        await queue.close()
        throw error
    }
}

/// Postfix's smtp-sink on 127.0.0.1:`port`, under a shell that stops it when its stdin
/// closes (the test ends or dies) or after `Live.serverLifetime`, whichever comes first.
final class SinkPeer {
    private let process = Process()
    private let stdin = Pipe()

    init(port: Int) throws {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "/usr/sbin/smtp-sink -u nobody 127.0.0.1:\(port) 1000 & pid=$!; (sleep \(Live.serverLifetime); kill -9 $pid 2>/dev/null) & read line; kill -9 $pid"]
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    func waitReady(port: Int) async throws -> Bool {
        try await eventually { TestPorts.canConnect(port: port) }
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        // Polled: Foundation's waitUntilExit can hang when called from a task.
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
    }
}
