import AdminEndpoint
import Foundation
import RelayConfiguration

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client for the node's own admin endpoint (the CLI's way to reach a
/// running node). Blocking, one request per connection, 10 s receive timeout unless the
/// request needs longer (`POST /archive/expire`). It sends the
/// node's local token (`LocalAdminToken`) and the OS user it runs as, which the node
/// records in the audit log. Plain HTTP only: a node whose endpoint speaks TLS is reached
/// by the CLI through its files while stopped, or with curl (docs/OPERATIONS.md).
struct AdminClient {
    enum Response: Equatable {
        case answered(Int, String)
        /// Nothing listens there (connection refused): the node is not running.
        case unreachable
    }

    let host: String
    let port: Int
    /// The bearer secret, when this user can read one.
    let token: String?
    /// How long to wait for the answer's bytes.
    let timeout: Int

    init(address: String, token: String?, timeout: Int = 10) throws {
        guard let (host, port) = HostPort.parse(address) else { throw QueueCLIError("--admin must be HOST:PORT, got \(address)") }
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout
    }

    func request(_ method: String, _ path: String) throws -> Response {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let info = list else {
            throw QueueCLIError("cannot resolve admin host \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { throw QueueCLIError("socket() failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: self.timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            if errno == ECONNREFUSED { return .unreachable }
            throw QueueCLIError("cannot reach the admin endpoint \(host):\(port): \(String(cString: strerror(errno)))")
        }
        let hostField = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(hostField)\r\nConnection: close\r\nContent-Length: 0\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        head += "\(AdminGate.operatorHeader.rawName): \(LocalAdminToken.operatorName)\r\n\r\n"
        let text = Array(head.utf8)
        guard text.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == text.count else {
            throw QueueCLIError("cannot send to the admin endpoint")
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw QueueCLIError("no answer from the admin endpoint: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            received += chunk[0..<n]
        }
        let response = String(decoding: received, as: UTF8.self)
        guard let headerEnd = response.range(of: "\r\n\r\n") else { throw QueueCLIError("malformed answer from the admin endpoint") }
        let statusLine = response[..<headerEnd.lowerBound].split(separator: "\r\n").first ?? ""
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, let status = Int(fields[1]) else { throw QueueCLIError("malformed status line from the admin endpoint") }
        return .answered(status, String(response[headerEnd.upperBound...]))
    }
}
