import AdminEndpoint
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOSSL
import Synchronization
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// An admin endpoint on 127.0.0.1 with one token per role and a route of each kind: an
/// open probe, a read, a change (which counts what it did) and an admin read.
final class AdminTestServer: Sendable {
    static let secrets: [AdminRole: String] = [.read: "arlt_reader", .operate: "arlt_operator", .admin: "arlt_admin"]
    static let local = "arlt_local"

    final class Count: Sendable {
        let value = Atomic<Int>(0)
        func add() { value.add(1, ordering: .relaxed) }
        var now: Int { value.load(ordering: .relaxed) }
    }

    let endpoint: AdminEndpoint
    private let changes = Count()
    private let answers = Count()
    var port: Int { endpoint.localAddress.port ?? 0 }
    var changed: Int { changes.now }
    var answered: Int { answers.now }

    init(limits: AdminLimits = AdminLimits(), tls: TLSConfiguration? = nil, bigBodyBytes: Int = 3) async throws {
        let tokens = AdminTokenSet(
            tokens: Self.secrets.map { AdminToken(name: "\($0.key.rawValue)-token", role: $0.key, sha256: AdminToken.digest($0.value)) },
            local: AdminToken(name: "local", role: .admin, sha256: AdminToken.digest(Self.local)))
        let settings = AdminEndpointSettings(host: "127.0.0.1", port: 0, limits: limits, tls: tls)
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: bigBodyBytes)
        let (changes, answers) = (changes, answers)
        endpoint = try await AdminEndpoint.start(settings, tokens: AdminTokenRing(tokens), logger: Logger(label: "admin-test")) { router in
            router.get("/healthz") { _, _ in
                answers.add()
                return AdminJSON.bytes(contentType: "text/plain", Array("ok\n".utf8))
            }
            router.get("/big") { _, context in
                _ = try context.require(.read)
                answers.add()
                return AdminJSON.bytes(contentType: "text/plain", big)
            }
            router.get("/read") { _, context in
                let caller = try context.require(.read)
                return AdminJSON.response(.ok, ["actor": caller.actor])
            }
            router.post("/change") { _, context in
                _ = try context.require(.operate)
                changes.add()
                return AdminJSON.response(.ok, ["result": "changed"])
            }
            router.refuse([.get], on: "/change", use: "POST")
            router.get("/audit") { _, context in
                _ = try context.require(.admin)
                return AdminJSON.response(.ok, ["entries": [String]()])
            }
        }
    }

    /// What curl got: the status (0 when it got no HTTP answer), the body and the headers.
    struct Answer: Sendable {
        var status: Int
        var body: String
        var headers: String
    }

    /// Asks with curl (`arguments` before the URL), over https when `caFile` is given.
    func curl(_ path: String, _ arguments: [String] = [], caFile: String? = nil, scheme: String? = nil) async throws -> Answer {
        let directory = FileManager.default.temporaryDirectory.path
        let headers = directory + "/curl-headers-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: headers) }
        let https = scheme ?? (caFile == nil ? "http" : "https")
        let run = try await runProcess("/usr/bin/curl", ["-s", "-S", "--max-time", "60", "-D", headers, "-w", "\n%{http_code}"]
            + (caFile.map { ["--cacert", $0] } ?? []) + arguments + ["\(https)://127.0.0.1:\(port)\(path)"], in: directory)
        let text = String(decoding: run.stdout, as: UTF8.self)
        let status = text.split(separator: "\n").last.flatMap { Int($0) } ?? 0
        let body = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().joined(separator: "\n")
        return Answer(status: status, body: body, headers: (try? String(contentsOfFile: headers, encoding: .utf8)) ?? "")
    }

    static func bearer(_ secret: String) -> [String] { ["-H", "Authorization: Bearer \(secret)"] }

    /// A blocking client socket: small kernel buffers (so the server's, not the client's,
    /// bound what is in flight) and a receive timeout.
    final class Client: @unchecked Sendable {
        let fd: Int32

        init(port: Int, sendTimeoutSeconds: Int = 0) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var small: Int32 = 64 * 1024
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
            var receive = timeval(tv_sec: 60, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive, socklen_t(MemoryLayout<timeval>.size))
            if sendTimeoutSeconds > 0 {
                var send = timeval(tv_sec: sendTimeoutSeconds, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send, socklen_t(MemoryLayout<timeval>.size))
            }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        }

        deinit { close(fd) }

        /// Writes all of `bytes` or as much as the kernel took before the send timeout.
        @discardableResult
        func send(_ bytes: [UInt8]) -> Int {
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                sent += n
            }
            return sent
        }

        /// Everything until the server closes (or the receive timeout).
        func readToEnd() -> [UInt8] {
            var received: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return received }
                received += chunk[0..<n]
            }
        }

        /// True when the server closed the connection (EOF) within the receive timeout.
        func closedByServer() -> Bool {
            var byte: UInt8 = 0
            while true {
                let n = recv(fd, &byte, 1, 0)
                if n < 0 && errno == EINTR { continue }
                return n == 0 || (n < 0 && errno == ECONNRESET)
            }
        }
    }

    /// Runs blocking socket calls on a thread of their own: the responder runs on Swift's
    /// cooperative pool, which has one thread per core and must not wait on the client.
    static func off<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }
}
