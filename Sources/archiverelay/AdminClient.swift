import AdminEndpoint
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import RelayConfiguration

#if canImport(Glibc)
import Glibc
#endif

/// The CLI's way to reach a running node: one request to its admin endpoint, over HTTP or
/// (`https://` or a CA file given) TLS, on AsyncHTTPClient. It sends the node's local
/// token (`LocalAdminToken`) and the OS user it runs as, which the node records in the
/// audit log. 10 s for the answer unless the request needs longer (`POST /archive/expire`).
struct AdminClient {
    enum Response: Equatable {
        case answered(Int, String)
        /// Nothing listens there (connection refused): the node is not running.
        case unreachable
    }

    let host: String
    let port: Int
    let useTLS: Bool
    /// The bearer secret, when this user can read one.
    let token: String?
    /// PEM file of the certificate(s) to trust for the endpoint's TLS certificate; the
    /// system's roots when nil.
    let caFile: String?
    /// How long to wait for the answer.
    let timeout: Int

    /// `address`: `HOST:PORT`, `http://HOST:PORT` or `https://HOST:PORT`; a CA file without
    /// a scheme means https.
    init(address: String, token: String?, caFile: String? = nil, timeout: Int = 10) throws {
        var rest = Substring(address)
        var scheme: String?
        for prefix in ["http://", "https://"] where address.lowercased().hasPrefix(prefix) {
            scheme = String(prefix.dropLast(3))
            rest = rest.dropFirst(prefix.count)
        }
        guard let (host, port) = HostPort.parse(String(rest)) else {
            throw QueueCLIError("--admin must be HOST:PORT, http://HOST:PORT or https://HOST:PORT, got \(address)")
        }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) { throw QueueCLIError("cannot read the CA file \(caFile)") }
        self.host = host
        self.port = port
        self.useTLS = scheme.map { $0 == "https" } ?? (caFile != nil)
        self.token = token
        self.caFile = caFile
        self.timeout = timeout
    }

    var url: String {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        return (useTLS ? "https://" : "http://") + authority
    }

    func request(_ method: String, _ path: String) async throws -> Response {
        // A stopped node is the usual reason nothing answers: tell it at once (the HTTP
        // client would retry the connection until its connect timeout).
        guard try isListening() else { return .unreachable }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile { tls.trustRoots = .file(caFile) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow,
                                                                        timeout: .init(connect: .seconds(10))))
        var request = HTTPClientRequest(url: url + path)
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: AdminGate.operatorHeader.rawName, value: LocalAdminToken.operatorName)
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeout)))
            var body = try await response.body.collect(upTo: 1 << 30)
            try await client.shutdown()
            return .answered(Int(response.status.code), body.readString(length: body.readableBytes) ?? "")
        } catch {
            try? await client.shutdown()
            throw QueueCLIError("no answer from the admin endpoint \(url): \(Self.reason(error))")
        }
    }

    /// A TLS failure says what to check (the CA given, https on a plain endpoint).
    private static func reason(_ error: any Error) -> String {
        switch error {
        case is NIOSSLError, is BoringSSLError:
            return "TLS: \(error) (does the endpoint speak TLS, and is its CA given with --admin-ca?)"
        default:
            return String(describing: error)
        }
    }

    /// Whether anything accepts TCP connections at the address (connection refused: no).
    private func isListening() throws -> Bool {
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
        guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            if errno == ECONNREFUSED { return false }
            throw QueueCLIError("cannot reach the admin endpoint \(host):\(port): \(String(cString: strerror(errno)))")
        }
        return true
    }
}
