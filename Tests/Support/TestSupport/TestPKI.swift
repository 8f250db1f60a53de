import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A certificate and its private key: the paths of two PEM files.
public struct TestIdentity: Sendable, Hashable {
    public let certificate: String
    public let key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// The tests' certificates, made one way: a throwaway CA, a leaf it signed for localhost
/// and 127.0.0.1 (for a server or a client), and a self-signed stranger with the same names
/// that the CA never signed. Made with the openssl command line, as the tests did before
/// (swift-crypto makes keys, not certificates); RSA, so ECDHE-RSA suites can be offered.
/// NIOSSL objects are loaded from the files by the tests that need them.
public struct TestPKI: Sendable {
    public let directory: String
    /// The CA's certificate: a trust store (`ca_file`, `client_ca_file`) that accepts `leaf`.
    public var authority: String { directory + "/ca.pem" }
    public var leaf: TestIdentity { TestIdentity(certificate: directory + "/leaf.pem", key: directory + "/leaf.key") }
    public var stranger: TestIdentity { TestIdentity(certificate: directory + "/stranger.pem", key: directory + "/stranger.key") }

    static let files = ["ca.pem", "leaf.pem", "leaf.key", "stranger.pem", "stranger.key"]

    /// The set made once per test process (RSA keys take a while on a loaded machine), in a
    /// directory removed when the process exits. Read only: a test that changes certificate
    /// files works on its own copies (`copy(to:)`).
    public static func shared() async throws -> TestPKI {
        let task = SharedPKI.cell.withLock { task in
            if let task { return task }
            let made = Task { try await make(in: SharedPKI.directory) }
            task = made
            atexit { try? FileManager.default.removeItem(atPath: SharedPKI.directory) }
            return made
        }
        return try await task.value
    }

    /// The shared set's files copied into `directory` (created if need be; the caller removes it).
    public static func copy(to directory: String) async throws -> TestPKI {
        let shared = try await shared()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in files {
            try FileManager.default.copyItem(atPath: shared.directory + "/" + file, toPath: directory + "/" + file)
        }
        return TestPKI(directory: directory)
    }

    /// Makes a new set in `directory` with openssl, valid for two days.
    static func make(in directory: String) async throws -> TestPKI {
        let pki = TestPKI(directory: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let names = "subjectAltName = DNS:localhost, IP:127.0.0.1"
        let leafExtensions = directory + "/leaf.ext", request = directory + "/leaf.csr", key = directory + "/ca.key"
        try writeFile(leafExtensions, Array("""
            basicConstraints = CA:FALSE
            keyUsage = digitalSignature, keyEncipherment
            extendedKeyUsage = serverAuth, clientAuth
            \(names)

            """.utf8))
        let newKey = ["-newkey", "rsa:2048", "-nodes"], days = ["-days", "2"]
        try await openssl(["req", "-x509"] + newKey + days + ["-subj", "/CN=archiverelay test CA", "-keyout", key, "-out", pki.authority], in: directory)
        try await openssl(["req"] + newKey + ["-subj", "/CN=localhost", "-keyout", pki.leaf.key, "-out", request], in: directory)
        try await openssl(["x509", "-req", "-in", request, "-CA", pki.authority, "-CAkey", key, "-CAserial", directory + "/ca.srl",
                           "-CAcreateserial", "-extfile", leafExtensions, "-out", pki.leaf.certificate] + days, in: directory)
        try await openssl(["req", "-x509"] + newKey + days + ["-subj", "/CN=localhost", "-addext", names.replacingOccurrences(of: " ", with: ""),
                           "-keyout", pki.stranger.key, "-out", pki.stranger.certificate], in: directory)
        return pki
    }

    static func openssl(_ arguments: [String], in directory: String) async throws {
        let run = try await runProcess("/usr/bin/openssl", arguments, in: directory)
        guard run.status == 0 else {
            throw TestSupportError("openssl \(arguments.prefix(2).joined(separator: " ")) exited with \(run.status): \(run.stderr)")
        }
    }
}

/// The once-made set behind `TestPKI.shared()`.
private enum SharedPKI {
    static let directory = FileManager.default.temporaryDirectory.appendingPathComponent("archiverelay-pki-\(UUID().uuidString)").path
    static let cell = LockedCell<Task<TestPKI, any Error>?>(nil)
}

/// A value under an NSLock (a pthread mutex ThreadSanitizer understands).
final class LockedCell<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}
