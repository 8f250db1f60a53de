import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// What a route knows of a request besides the request: the client, and who is asking
/// (`AdminGate` sets `caller` for every request past the open paths).
public struct AdminContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// `host:port` of the peer, for the log line of a change.
    public let client: String
    public var caller: AdminCaller?

    public init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        client = source.channel.remoteAddress.map { address in
            guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
            return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        } ?? "?"
    }

    /// The caller, when its token's role is at least `role`; else 403 (401 when there is
    /// no caller, which only an open path has).
    public func require(_ role: AdminRole) throws(AdminFailure) -> AdminCaller {
        guard let caller else { throw .unauthorized("a bearer token is required") }
        guard caller.role >= role else {
            AdminMetrics.refusedRole()
            throw AdminFailure(.forbidden, "token \(caller.tokenName) has role \(caller.role.rawValue); this needs \(role.rawValue)")
        }
        return caller
    }
}

/// Who asks: the token's name and role, and the audit log's actor for what they do.
public struct AdminCaller: Sendable, Equatable {
    public var tokenName: String
    public var role: AdminRole
    /// `token:NAME`, or `user:NAME` for the node's own CLI naming its operating-system user.
    public var actor: String
}

/// An answer other than success: its status and a one-line reason, sent as
/// `{"error": "..."}` (401 also with `WWW-Authenticate: Bearer`).
public struct AdminFailure: Error, HTTPResponseError, Equatable {
    public var status: HTTPResponse.Status
    public var message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func unauthorized(_ message: String) -> AdminFailure { AdminFailure(.unauthorized, message) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = AdminJSON.response(status, ["error": message])
        if status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer realm=\"archiverelay\"" }
        return response
    }
}

/// JSON answers: sorted keys, no escaped slashes (stable for scripts and diffs).
public enum AdminJSON {
    public static func response(_ status: HTTPResponse.Status = .ok, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data(#"{"error":"the answer could not be encoded"}"#.utf8)
        return bytes(status, contentType: "application/json", Data(data + [UInt8(ascii: "\n")]))
    }

    public static func bytes(_ status: HTTPResponse.Status = .ok, contentType: String, _ body: some Sequence<UInt8>) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        headers[.xContentTypeOptions] = "nosniff"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: Array(body))))
    }
}
