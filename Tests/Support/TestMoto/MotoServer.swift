import Foundation
import Synchronization
import TestSupport

/// A moto S3 server on 127.0.0.1 (Scripts/moto_fixture.py), one per test process and
/// shared by its tests, each in buckets of its own. moto picks its port by binding port
/// 0, so two test processes never collide. Its signature checks are on: requests signed
/// with other keys than `accessKey`/`secretKey` are refused. It stops when the test
/// process ends, however it ends (its standard input closes), or after an hour.
public struct MotoServer: Sendable {
    public let port: Int
    public let accessKey: String
    public let secretKey: String
    /// The CA that signed the server's certificate when it speaks HTTPS.
    public let authority: String?
    public var endpoint: String { "\(authority == nil ? "http" : "https")://127.0.0.1:\(port)" }

    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts")

    /// The process's server, started by the first caller.
    public static func shared() async throws -> MotoServer {
        try await Starter.shared.server()
    }

    private actor Starter {
        static let shared = Starter()
        private var started: Task<Started, any Error>?

        func server() async throws -> MotoServer {
            if let started { return try await started.value.server }
            let task = Task { try await MotoServer.start(tls: nil) }
            started = task
            return try await task.value.server
        }

        /// Servers started apart from the shared one: their stdin pipes stay open here.
        private static let others = Mutex<[Started]>([])
        nonisolated static func keep(_ started: Started) { others.withLock { $0.append(started) } }
    }

    /// The server and the write end of its standard input, kept open until the process ends.
    fileprivate struct Started: @unchecked Sendable {
        let server: MotoServer
        let stdin: Pipe
    }

    /// The first line moto_fixture.py prints.
    private struct Ready: Decodable {
        let port: Int
        let access_key: String
        let secret_key: String
    }

    /// A server of its own that speaks HTTPS with `identity`, whose certificate `authority`
    /// signed (TestPKI's leaf and CA); it too stops with the test process.
    public static func startTLS(identity: TestIdentity, authority: String) async throws -> MotoServer {
        let started = try await start(tls: [identity.certificate, identity.key, authority])
        Starter.keep(started)
        return started.server
    }

    private static func start(tls: [String]?) async throws -> Started {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scripts.appendingPathComponent("moto_fixture.py").path] + (tls ?? [])
        // The pipe's write end stays open in this process until it exits: then moto reads
        // end of file and stops. Its log goes nowhere (a pipe nobody reads could fill).
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        let line = try await firstLine(of: stdout.fileHandleForReading)
        guard let data = line?.data(using: .utf8), let ready = try? JSONDecoder().decode(Ready.self, from: data) else {
            throw TestSupportError("moto_fixture.py did not start (is moto[server] installed? make deps-test): \(line ?? "no output")")
        }
        return Started(server: MotoServer(port: ready.port, accessKey: ready.access_key, secretKey: ready.secret_key, authority: tls?.last),
                       stdin: stdin)
    }

    /// Reads up to the first newline, off the cooperative pool, with a generous limit.
    static func firstLine(of handle: FileHandle) async throws -> String? {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                var bytes: [UInt8] = []
                while bytes.count < 4096 {
                    let chunk = handle.readData(ofLength: 1)
                    guard let byte = chunk.first else { break }
                    if byte == UInt8(ascii: "\n") { break }
                    bytes.append(byte)
                }
                continuation.resume(returning: bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    /// Runs Scripts/s3_oracle.py (boto3) against this server and decodes its JSON answer.
    public func oracle<T: Decodable>(_ type: T.Type, _ arguments: String...) async throws -> T {
        var environment = ["MOTO_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey]
        if let authority { environment["AWS_CA_BUNDLE"] = authority }
        let run = try await withTempDirectory("s3-oracle") { [environment] directory in
            try await runProcess("/usr/bin/env", ["python3", Self.scripts.appendingPathComponent("s3_oracle.py").path] + arguments,
                                 in: directory, environment: environment)
        }
        guard run.status == 0 else { throw TestSupportError("s3_oracle.py \(arguments) failed: \(run.stderr)") }
        return try JSONDecoder().decode(T.self, from: Data(run.stdout))
    }

    /// A new bucket with Object Lock enabled (and so versioning), named after `label`.
    public func makeBucket(_ label: String) async throws -> String {
        let name = "\(label)-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try await oracle(String.self, "create-bucket", name)
        return name
    }
}
