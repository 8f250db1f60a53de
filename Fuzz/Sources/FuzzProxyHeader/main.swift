import NIOCore
import SMTPProtocol

/// Any bytes as the start of a proxied connection: a header, a need for more, or an error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeRawBufferPointer(start: start, count: count))
    let before = buffer.readableBytes
    if let header = try? ProxyHeaderParser.parse(&buffer) {
        precondition(buffer.readableBytes < before, "a header was returned without consuming it")
        _ = header.source?.ipAddress
    }
    return 0
}
