// The floor SwiftNIO sets for an SMTP server on this machine: a sink that answers the
// protocol and keeps nothing, like Postfix's smtp-sink, written the leanest way NIO
// allows (one callback-driven handler per connection, replies written once per read).
// `bench/nio_floor.sh` runs it beside smtp-sink and the node to split the node's cost
// per message into NIO's part and ours (bench/README.md, "What limits (2)").
//
// Usage: NIOFloorSink PORT [EVENT_LOOPS]   (binds 127.0.0.1 only)
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Where the sink is in a message body: the end is a line holding only ".".
enum BodyState {
    case lineStart, dot, dotCR, inLine
}

final class FloorSession: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var command: [UInt8] = []
    private var body: BodyState?
    private var replies = ByteBuffer()
    private var quitting = false

    func channelActive(context: ChannelHandlerContext) {
        replies.writeStaticString("220 floor ESMTP\r\n")
        flush(context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        bytes.withUnsafeReadableBytes { consume($0) }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush(context: context)
    }

    private func flush(context: ChannelHandlerContext) {
        guard replies.readableBytes > 0 else { return }
        let out = replies
        replies = context.channel.allocator.buffer(capacity: 64)
        if quitting {
            context.writeAndFlush(wrapOutboundOut(out)).whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        }
    }

    private func consume(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        var i = 0
        while i < bytes.count {
            if let state = body {
                i = scanBody(base, from: i, count: bytes.count, state: state)
                continue
            }
            let byte = bytes[i]
            i += 1
            command.append(byte)
            if byte == UInt8(ascii: "\n") {
                answer(command)
                command.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Advances through body bytes; returns the index after what it consumed.
    private func scanBody(_ base: UnsafeRawPointer, from start: Int, count: Int, state: BodyState) -> Int {
        var i = start
        var state = state
        while i < count {
            let byte = base.load(fromByteOffset: i, as: UInt8.self)
            switch state {
            case .lineStart:
                state = byte == UInt8(ascii: ".") ? .dot : .inLine
                i += 1
                if byte == UInt8(ascii: "\n") { state = .lineStart }
            case .dot:
                state = byte == UInt8(ascii: "\r") ? .dotCR : (byte == UInt8(ascii: "\n") ? .lineStart : .inLine)
                i += 1
            case .dotCR:
                i += 1
                if byte == UInt8(ascii: "\n") {
                    body = nil
                    replies.writeStaticString("250 2.0.0 Ok: queued\r\n")
                    return i
                }
                state = .inLine
            case .inLine:
                // The rest of the line in one memchr.
                guard let lf = memchr(base + i, Int32(UInt8(ascii: "\n")), count - i) else {
                    body = .inLine
                    return count
                }
                i = base.distance(to: UnsafeRawPointer(lf)) + 1
                state = .lineStart
            }
        }
        body = state
        return i
    }

    private func answer(_ line: [UInt8]) {
        let verb = line.prefix(4).map { $0 | 0x20 }  // lower-case ASCII letters
        switch String(decoding: verb, as: UTF8.self) {
        case "helo", "ehlo": replies.writeStaticString("250 floor\r\n")
        case "mail", "rcpt", "rset", "noop": replies.writeStaticString("250 2.0.0 Ok\r\n")
        case "data":
            replies.writeStaticString("354 End data with <CR><LF>.<CR><LF>\r\n")
            body = .lineStart
        case "quit":
            replies.writeStaticString("221 2.0.0 Bye\r\n")
            quitting = true
        default: replies.writeStaticString("502 5.5.2 Error: command not recognized\r\n")
        }
    }
}

let arguments = CommandLine.arguments.dropFirst()
guard let port = arguments.first.flatMap({ Int($0) }) else {
    print("usage: NIOFloorSink PORT [EVENT_LOOPS]")
    exit(2)
}
let loops = arguments.dropFirst().first.flatMap { Int($0) } ?? System.coreCount
let group = MultiThreadedEventLoopGroup(numberOfThreads: loops)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: 1000)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FloorSession()) }
    }
    .bind(host: "127.0.0.1", port: port).wait()
print("NIOFloorSink on 127.0.0.1:\(port), \(loops) event loop(s)")
try server.closeFuture.wait()
