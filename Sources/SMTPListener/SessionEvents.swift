import DurableFiles
import NIOCore
import SMTPProtocol

/// Everything a session reads, in the order it happened: the client's bytes and the
/// connection's own events, so the session loop sees one ordered stream.
enum SessionInput: Sendable {
    case bytes(ByteBuffer)
    case proxyHeader(ProxyHeader)
    /// The TLS handshake finished; carries the protocol version ("TLSv1.3").
    case tlsEstablished(String)
    /// The session's deadline passed while it was waiting for the client.
    case timeout
    /// The listener is shutting down.
    case shutdown
}

/// Sent down a session's pipeline to tell it the listener is shutting down.
struct SessionShutdownEvent: Sendable {}

/// The instant by which the client must have sent what the session waits for. The session
/// task sets it; the channel's event loop checks it, so no per-command timer is armed.
final class SessionDeadline: Sendable {
    private let value = LockedValue(NIODeadline.distantFuture)

    /// The session is waiting for the client until `deadline`.
    func wait(until deadline: NIODeadline) { value.withLock { $0 = deadline } }
    /// The session is working (storing a message); the client is not to blame for the wait.
    func busy() { value.withLock { $0 = .distantFuture } }
    var current: NIODeadline { value.withLock { $0 } }
}

/// Reads the PROXY protocol header that a trusted load balancer sends first, announces it as
/// an inbound user event, passes any bytes after it on, and leaves the pipeline. Anything
/// that is not a well-formed header closes the connection.
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var buffered = ByteBuffer()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffered.writeBuffer(&incoming)
        do {
            guard let header = try ProxyHeaderParser.parse(&buffered) else { return }
            context.fireUserInboundEventTriggered(header)
            if buffered.readableBytes > 0 {
                context.fireChannelRead(wrapInboundOut(buffered))
            }
            buffered = ByteBuffer()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
        }
    }
}
