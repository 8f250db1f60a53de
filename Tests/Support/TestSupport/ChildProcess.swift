import Foundation

/// What a program run to its end by `runProcess` left.
public struct ProcessRun: Sendable {
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: String
}

/// Runs a program to its end with stdout and stderr captured through files (no pipe
/// buffer limits) in `directory` (not its working directory), off the cooperative pool; `environment` is added to the
/// test's own.
public func runProcess(_ executable: String, _ arguments: [String], in directory: String,
                       environment: [String: String] = [:]) async throws -> ProcessRun {
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
    return ProcessRun(status: status, stdout: stdout, stderr: stderr)
}
