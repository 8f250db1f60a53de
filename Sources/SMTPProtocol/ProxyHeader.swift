import NIOCore

/// The PROXY protocol header a load balancer (nginx stream `proxy_protocol on`, HAProxy)
/// sends before the client's bytes, naming the real client
/// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt).
public struct ProxyHeader: Hashable, Sendable {
    /// The real client; nil for `PROXY UNKNOWN` and v2 `LOCAL` (the proxy's own health checks),
    /// after which the connection's own peer address stands.
    public var source: SocketAddress?
    public var destination: SocketAddress?
    public var version: Int
}

/// Why a PROXY header was refused; the connection is closed without a reply.
public enum ProxyHeaderError: Error, Hashable, Sendable {
    case notAProxyHeader
    case malformed(String)
    case unsupported(String)
}

/// Parses PROXY protocol v1 (text) and v2 (binary) headers.
public enum ProxyHeaderParser {
    /// v2 starts with these 12 octets; they cannot begin any SMTP command or v1 header.
    public static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// v1 headers are at most 107 octets including CRLF.
    static let v1MaximumLength = 107

    /// Parses a header at the start of `buffer`, consuming it. Returns nil when more bytes are needed.
    public static func parse(_ buffer: inout ByteBuffer) throws(ProxyHeaderError) -> ProxyHeader? {
        let view = buffer.readableBytesView
        guard let first = view.first else { return nil }
        if first == v2Signature[0] {
            let prefix = Array(view.prefix(v2Signature.count))
            guard prefix == Array(v2Signature.prefix(prefix.count)) else { throw .notAProxyHeader }
            return try parseV2(&buffer)
        }
        let v1Prefix = Array("PROXY ".utf8)
        let prefix = Array(view.prefix(v1Prefix.count))
        guard prefix == Array(v1Prefix.prefix(prefix.count)) else { throw .notAProxyHeader }
        return try parseV1(&buffer)
    }

    static func parseV1(_ buffer: inout ByteBuffer) throws(ProxyHeaderError) -> ProxyHeader? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count >= v1MaximumLength { throw .malformed("v1 header too long") }
            return nil
        }
        let length = lf - view.startIndex + 1
        guard length <= v1MaximumLength, length >= 2, view[lf - 1] == UInt8(ascii: "\r") else {
            throw .malformed("v1 header must end in CRLF within 107 octets")
        }
        let line = String(decoding: view.prefix(length - 2), as: UTF8.self)
        let words = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard words.count >= 2, words[0] == "PROXY" else { throw .malformed("bad v1 header") }
        let header: ProxyHeader
        switch words[1] {
        case "UNKNOWN":
            header = ProxyHeader(source: nil, destination: nil, version: 1)
        case "TCP4", "TCP6":
            guard words.count == 6 else { throw .malformed("v1 header needs 4 address fields") }
            let isV6 = words[1] == "TCP6"
            guard let source = address(words[2], words[4], v6: isV6),
                  let destination = address(words[3], words[5], v6: isV6)
            else { throw .malformed("bad address in v1 header") }
            header = ProxyHeader(source: source, destination: destination, version: 1)
        default:
            throw .unsupported("v1 protocol \(words[1])")
        }
        buffer.moveReaderIndex(forwardBy: length)
        return header
    }

    static func address(_ ip: String, _ port: String, v6: Bool) -> SocketAddress? {
        guard !port.isEmpty, port.count <= 5, port.allSatisfy({ ("0"..."9").contains($0) }),
              let p = Int(port), p <= 65535, !(port.count > 1 && port.first == "0"),
              let address = try? SocketAddress(ipAddress: ip, port: p)
        else { return nil }
        switch address {
        case .v4 where !v6, .v6 where v6: return address
        default: return nil
        }
    }

    static func parseV2(_ buffer: inout ByteBuffer) throws(ProxyHeaderError) -> ProxyHeader? {
        guard buffer.readableBytes >= 16 else { return nil }
        let start = buffer.readerIndex
        guard let versionCommand = buffer.getInteger(at: start + 12, as: UInt8.self),
              let family = buffer.getInteger(at: start + 13, as: UInt8.self),
              let length = buffer.getInteger(at: start + 14, as: UInt16.self)
        else { return nil }
        guard versionCommand >> 4 == 2 else { throw .malformed("v2 version must be 2") }
        guard buffer.readableBytes >= 16 + Int(length) else { return nil }
        let command = versionCommand & 0x0F
        guard command <= 1 else { throw .malformed("v2 command \(command)") }
        var body = buffer.getSlice(at: start + 16, length: Int(length)) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: 16 + Int(length))
        if command == 0 {  // LOCAL: the proxy speaking for itself
            return ProxyHeader(source: nil, destination: nil, version: 2)
        }
        switch family {
        case 0x11:  // TCP over IPv4
            guard let src = body.readBytes(length: 4), let dst = body.readBytes(length: 4),
                  let sport = body.readInteger(as: UInt16.self), let dport = body.readInteger(as: UInt16.self)
            else { throw .malformed("v2 IPv4 block too short") }
            return ProxyHeader(source: socketAddress(src, sport), destination: socketAddress(dst, dport), version: 2)
        case 0x21:  // TCP over IPv6
            guard let src = body.readBytes(length: 16), let dst = body.readBytes(length: 16),
                  let sport = body.readInteger(as: UInt16.self), let dport = body.readInteger(as: UInt16.self)
            else { throw .malformed("v2 IPv6 block too short") }
            return ProxyHeader(source: socketAddress(src, sport), destination: socketAddress(dst, dport), version: 2)
        case 0x00:  // UNSPEC
            return ProxyHeader(source: nil, destination: nil, version: 2)
        default:
            throw .unsupported("v2 address family \(family)")
        }
    }

    static func socketAddress(_ octets: [UInt8], _ port: UInt16) -> SocketAddress? {
        var buffer = ByteBuffer(bytes: octets)
        return try? SocketAddress(packedIPAddress: buffer.readSlice(length: octets.count) ?? buffer, port: Int(port))
    }
}
