import Foundation

/// A fresh directory under the system's temporary directory; the caller removes it
/// (`removeTempDirectory`, from a `defer` or a tear-down).
public func makeTempDirectory(_ label: String = "test") throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("archiverelay-\(label)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Removes a directory `makeTempDirectory` made, with everything in it.
public func removeTempDirectory(_ path: String) {
    try? FileManager.default.removeItem(atPath: path)
}

/// A fresh temporary directory for `body`, removed when it returns or throws.
public func withTempDirectory<T>(_ label: String = "test", _ body: (String) async throws -> T) async throws -> T {
    let path = try makeTempDirectory(label)
    defer { removeTempDirectory(path) }
    return try await body(path)
}
