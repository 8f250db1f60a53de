import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Helpers for tests that drive the real `archiverelay` binary as child processes.
enum NodeTestSupport {
    /// The package root: Tests/NodeTests/<this file> → three levels up.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().standardized
    static let corpus = packageRoot.appendingPathComponent("../shared/corpus/spamassassin").standardized.path
    static let clientScript = packageRoot.appendingPathComponent("Tests/NodeTests/Scripts/smtp_client.py").path
    static var python: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/local/bin/python3"
    }

    /// A time limit of `minutes` for a normal run, scaled for a soak or a sanitizer run.
    static func scaledMinutes(_ minutes: Int) -> TimeLimitTrait.Duration { .minutes(minutes * TestScale.time) }

    /// The built `archiverelay` executable (`swift build` / `swift test` put it in .build/debug).
    /// The unprivileged user that tests run the node as when they run as root.
    static let nobody: uid_t = 65534

    /// `executable arguments` as a command run by `nobody` when the tests run as root
    /// (`setpriv` execs it: same PID), else unchanged (already unprivileged).
    static func asNobody(_ executable: String, _ arguments: [String]) -> (executable: String, arguments: [String]) {
        guard geteuid() == 0 else { return (executable, arguments) }
        return ("/usr/bin/setpriv", ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", executable] + arguments)
    }

    static func binary() throws -> String {
        let candidates = [
            ProcessInfo.processInfo.environment["ARCHIVERELAY_BINARY"],
            packageRoot.appendingPathComponent(".build/debug/archiverelay").path,
        ].compactMap { $0 }
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw NodeTestError("archiverelay binary not found (looked at \(candidates)); run `swift build --build-tests` in \(packageRoot.path) first")
        }
        return path
    }

    /// Waits until `process` listens on every port; throws with the log's tail when it
    /// exits first or is not listening after `seconds`.
    static func waitUntilListening(_ process: Process, ports: [Int], log: String, seconds: Int = patience) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !ports.allSatisfy(TestPorts.canConnect(port:)) {
            guard process.isRunning else {
                throw NodeTestError("\(process.executableURL?.lastPathComponent ?? "child") exited with \(process.terminationStatus) before listening; log:\n\(tail(log))")
            }
            guard ContinuousClock.now < deadline else {
                throw NodeTestError("nothing listens on \(ports) after \(seconds) s; log:\n\(tail(log))")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    /// `sha256sum` over every file of `directory` (name → lowercase hex).
    static func sha256sums(directory: String) async throws -> [String: String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        guard !files.isEmpty else { return [:] }
        let scratch = try makeTempDirectory("node")
        defer { removeTempDirectory(scratch) }
        var sums: [String: String] = [:]
        for start in stride(from: 0, to: files.count, by: 500) {
            let batch = files[start..<min(files.count, start + 500)].map { directory + "/" + $0 }
            let run = try await runProcess("/usr/bin/sha256sum", ["--"] + batch, in: scratch)
            guard run.status == 0 else { throw NodeTestError("sha256sum failed: \(run.stderr)") }
            for line in String(decoding: run.stdout, as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let path = parts[1].hasPrefix("*") ? parts[1].dropFirst() : parts[1]
                sums[URL(fileURLWithPath: String(path)).lastPathComponent] = String(parts[0])
            }
        }
        return sums
    }

    /// One message of `archive list --json`.
    struct ListedMessage {
        var sha256: String
        var size: Int
        /// Where its record is: segment sequence and byte offset.
        var segment: UInt64
        var offset: Int
    }

    /// `archive list --json` parsed: id → its listing.
    static func archiveList(binary: String, dataDir: String, scratch: String) async throws -> [String: ListedMessage] {
        let run = try await runProcess(binary, ["archive", "list", "--json", "--data-dir", dataDir], in: scratch)
        guard run.status == 0 else { throw NodeTestError("archive list failed (\(run.status)): \(run.stderr)") }
        var entries: [String: ListedMessage] = [:]
        for line in run.stdout.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                  let id = object["id"] as? String, let sha = object["sha256"] as? String,
                  let size = (object["size"] as? NSNumber)?.intValue,
                  let segment = (object["segment"] as? NSNumber)?.uint64Value, let offset = (object["offset"] as? NSNumber)?.intValue
            else { throw NodeTestError("unexpected list line: \(String(decoding: line, as: UTF8.self))") }
            entries[id] = ListedMessage(sha256: sha, size: size, segment: segment, offset: offset)
        }
        return entries
    }

    static func tail(_ path: String, bytes: Int = 3000) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(no log)" }
        return String(decoding: data.suffix(bytes), as: UTF8.self)
    }
}

struct NodeTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Child processes of one test; whatever is still running is SIGKILLed by `killAll`
/// (called from a `defer`, so also when the test fails or throws).
final class ChildProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var processes: [Process] = []

    func launch(_ executable: String, _ arguments: [String], log: String, environment: [String: String] = [:]) throws -> Process {
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try? handle.close()
        lock.withLock { processes.append(process) }
        return process
    }

    func killAll() {
        for process in lock.withLock({ processes }) where process.isRunning {
            let pid = process.processIdentifier
            kill(pid, SIGKILL)
            // Not `waitUntilExit`: Foundation sometimes never notices a SIGKILLed child
            // (nginx stayed a zombie and the wait hung for good). Reap it ourselves.
            for _ in 0..<500 where process.isRunning {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) != 0 { break }
                usleep(10_000)
            }
        }
    }
}

extension Process {
    /// Polls until the process has exited; false on timeout.
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    func sendSignal(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }
}

/// A test's own temp directory, its child processes and a node configured inside it;
/// `tearDown` kills every child and removes the directory, whatever the test's outcome.
struct NodeWorkspace {
    let root: String
    let children = ChildProcesses()
    let node: NodeTests.Node

    init() throws {
        // Everything that can fail comes before the directory exists, so nothing leaks.
        let binary = try NodeTestSupport.binary()
        let smtpPort = try freePort(), adminPort = try freePort()
        root = try makeTempDirectory("node")
        node = NodeTests.Node(binary: binary, smtpPort: smtpPort, adminPort: adminPort,
                              dataDir: root + "/data", log: root + "/serve.log")
    }

    func tearDown() {
        children.killAll()
        removeTempDirectory(root)
    }
}
