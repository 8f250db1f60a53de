import NIOCore
import NIOHTTP1

/// What a route answers: status, content type and body.
public struct AdminResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus, contentType: String, body: ByteBuffer) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A `text/plain` answer.
    public static func text(_ status: HTTPResponseStatus, _ text: String) -> AdminResponse {
        AdminResponse(status: status, contentType: "text/plain; charset=utf-8", body: ByteBuffer(string: text))
    }
}

/// The routes: one answer per request that passed the access policy and parsed.
public typealias AdminResponder = @Sendable (AdminRequest) async -> AdminResponse
