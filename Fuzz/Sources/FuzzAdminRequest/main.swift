import AdminEndpoint
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// Any bytes as what a client sends the admin endpoint: NIO's HTTP parser, then every
/// request head through the access policy and the request parser. A parse is a request or
/// a typed refusal, never a trap (`?=` once killed the node).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
    defer { _ = try? channel.finish() }
    guard (try? channel.writeInbound(ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count)))) != nil else { return 0 }
    let policy = AdminAccessPolicy(allowedHostNames: ["archive.example"])
    while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
        guard case .head(let head) = part else { continue }
        _ = policy.refusal(for: head)
        if let request = try? AdminRequest(method: head.method, uri: head.uri) {
            precondition(!request.query.keys.contains(""), "an empty key was kept")
        }
    }
    return 0
}
