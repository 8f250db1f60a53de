import Foundation
import TestSupport

/// A TCP gate on 127.0.0.1 in front of a moto server (Scripts/gate_proxy.py): closed, every
/// connection is dropped at once (the endpoint is down); open, connections reach moto. It
/// starts closed and stops when the test process ends.
public final class MotoGate: @unchecked Sendable {
    public let port: Int
    private let process: Process
    private let stdin: Pipe
    private let stdout: FileHandle

    public static func start(inFrontOf server: MotoServer) async throws -> MotoGate {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", MotoServer.scripts.appendingPathComponent("gate_proxy.py").path, String(server.port)]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = try await MotoServer.firstLine(of: stdout.fileHandleForReading)
        struct Ready: Decodable { let port: Int }
        guard let data = line?.data(using: .utf8), let ready = try? JSONDecoder().decode(Ready.self, from: data) else {
            throw TestSupportError("gate_proxy.py did not start: \(line ?? "no output")")
        }
        return MotoGate(port: ready.port, process: process, stdin: stdin, stdout: stdout.fileHandleForReading)
    }

    private init(port: Int, process: Process, stdin: Pipe, stdout: FileHandle) {
        self.port = port
        self.process = process
        self.stdin = stdin
        self.stdout = stdout
    }

    public var endpoint: String { "http://127.0.0.1:\(port)" }

    public func open() async throws { try await command("open") }
    public func close() async throws { try await command("close") }

    /// Sends a command and waits for its "ok": the state has changed when this returns.
    private func command(_ text: String) async throws {
        try stdin.fileHandleForWriting.write(contentsOf: Data((text + "\n").utf8))
        guard try await MotoServer.firstLine(of: stdout) == "ok" else { throw TestSupportError("gate_proxy.py did not take \(text)") }
    }
}
