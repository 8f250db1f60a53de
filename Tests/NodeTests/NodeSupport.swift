import Foundation
import TestPorts
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

    /// `make soak` sets ARCHIVERELAY_SOAK (default 1): the volume fault tests multiply
    /// their kills and messages, and their time limits, by it.
    static let soakFactor = max(1, ProcessInfo.processInfo.environment["ARCHIVERELAY_SOAK"].flatMap(Int.init) ?? 1)

    /// `make sanitize` sets ARCHIVERELAY_TIME_SCALE: the node tests run 5-15x slower
    /// under a sanitizer (every CLI call they make is instrumented too). Default: the soak
    /// factor.
    static let timeScale = max(1, ProcessInfo.processInfo.environment["ARCHIVERELAY_TIME_SCALE"].flatMap(Int.init) ?? soakFactor)

    /// A time limit of `minutes` for a normal run, scaled for a soak or a sanitizer run.
    static func scaledMinutes(_ minutes: Int) -> TimeLimitTrait.Duration { .minutes(minutes * timeScale) }

    /// Seconds a wait gives what takes well under a second on an idle machine (a node
    /// starting or stopping, a copy reaching its peer): CI runs the whole suite in parallel
    /// on two shared cores. A wait checks the outcome; only a hang takes this long.
    static let patience = 60 * timeScale

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

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("archiverelay-node-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.path
    }

    /// A TCP port on 127.0.0.1 for a child process's server (`TestPorts`).
    static func freePort() throws -> Int {
        guard let port = TestPorts.next() else { throw NodeTestError("no free port in \(TestPorts.self)") }
        return port
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    /// Waits until `process` listens on every port; throws with the log's tail when it
    /// exits first or is not listening after `seconds`.
    static func waitUntilListening(_ process: Process, ports: [Int], log: String, seconds: Int = patience) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !ports.allSatisfy(canConnect(port:)) {
            guard process.isRunning else {
                throw NodeTestError("\(process.executableURL?.lastPathComponent ?? "child") exited with \(process.terminationStatus) before listening; log:\n\(tail(log))")
            }
            guard ContinuousClock.now < deadline else {
                throw NodeTestError("nothing listens on \(ports) after \(seconds) s; log:\n\(tail(log))")
            }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    static func canConnect(port: Int) -> Bool { TestPorts.canConnect(port: port) }

    static func loopback(port: Int, host: String = "127.0.0.1") -> sockaddr_in { TestPorts.loopback(port: port, host: host) }

    /// Runs a program to its end with stdout and stderr captured through files (no pipe
    /// buffer limits), off the cooperative pool; `environment` is added to the test's own.
    static func run(_ executable: String, _ arguments: [String], in directory: String, environment: [String: String] = [:]) async throws
        -> (status: Int32, stdout: [UInt8], stderr: String)
    {
        let tag = UUID().uuidString
        let outPath = directory + "/run-\(tag).out", errPath = directory + "/run-\(tag).err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            if !environment.isEmpty {
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            }
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = out
            process.standardError = err
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try? out.close()
        try? err.close()
        let stdout = try [UInt8](Data(contentsOf: URL(fileURLWithPath: outPath)))
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return (status, stdout, stderr)
    }

    /// `sha256sum` over every file of `directory` (name → lowercase hex).
    static func sha256sums(directory: String) async throws -> [String: String] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        guard !files.isEmpty else { return [:] }
        let scratch = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var sums: [String: String] = [:]
        for start in stride(from: 0, to: files.count, by: 500) {
            let batch = files[start..<min(files.count, start + 500)].map { directory + "/" + $0 }
            let run = try await run("/usr/bin/sha256sum", ["--"] + batch, in: scratch)
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
        let run = try await run(binary, ["archive", "list", "--json", "--data-dir", dataDir], in: scratch)
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

/// Where two byte strings first differ, with a little context; nil when they are equal.
func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> String? {
    guard a != b else { return nil }
    let index = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
    func show(_ x: [UInt8]) -> String { String(decoding: x[index..<min(x.count, index + 40)], as: UTF8.self).debugDescription }
    return "lengths \(a.count) and \(b.count), first difference at \(index): \(show(a)) vs \(show(b))"
}

/// Child processes of one test; whatever is still running is SIGKILLed by `killAll`
/// (called from a `defer`, so also when the test fails or throws).
final class ChildProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var processes: [Process] = []

    func launch(_ executable: String, _ arguments: [String], log: String) throws -> Process {
        if !FileManager.default.fileExists(atPath: log) { _ = FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
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
        let smtpPort = try NodeTestSupport.freePort(), adminPort = try NodeTestSupport.freePort()
        root = try NodeTestSupport.temporaryDirectory()
        node = NodeTests.Node(binary: binary, smtpPort: smtpPort, adminPort: adminPort,
                              dataDir: root + "/data", log: root + "/serve.log")
    }

    func tearDown() {
        children.killAll()
        try? FileManager.default.removeItem(atPath: root)
    }
}
