import NIOCore
@testable import SMTPListener
import SMTPProtocol
import Testing

struct ProxyHeaderTests {
    @Test(arguments: [
        ("PROXY TCP4 192.0.2.10 198.51.100.1 56324 25\r\nEHLO", "192.0.2.10", "EHLO"),
        ("PROXY TCP6 2001:db8::1 2001:db8::2 1000 25\r\n", "2001:db8::1", ""),
    ])
    func parsesV1(input: String, source: String, rest: String) throws {
        var buffer = ByteBuffer(string: input)
        let header = try ProxyHeaderParser.parse(&buffer)
        #expect(header?.source?.ipAddress == source)
        #expect(String(buffer: buffer) == rest)
    }

    @Test func v1Unknown() throws {
        var buffer = ByteBuffer(string: "PROXY UNKNOWN\r\n")
        let header = try ProxyHeaderParser.parse(&buffer)
        #expect(header != nil && header?.source == nil)
    }

    @Test(arguments: ["PROXY TCP4 192.0.2.10 198.51.100.1 56324\r\n", "PROXY TCP4 2001:db8::1 198.51.100.1 1 2\r\n",
                      "PROXY TCP4 192.0.2.10 198.51.100.1 99999 25\r\n", "PROXY TCP4 192.0.2.10 198.51.100.1 1 2\n",
                      "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n", "EHLO x\r\n", "PROXY TCP4 " + String(repeating: "1", count: 120)])
    func refusesMalformedV1(input: String) {
        var buffer = ByteBuffer(string: input)
        #expect(throws: ProxyHeaderError.self) { try ProxyHeaderParser.parse(&buffer) }
    }

    @Test func incompleteV1WaitsForMore() throws {
        var buffer = ByteBuffer(string: "PROXY TCP4 192.0.2.10")
        #expect(try ProxyHeaderParser.parse(&buffer) == nil)
    }

    @Test func parsesV2() throws {
        var bytes = ProxyHeaderParser.v2Signature
        bytes += [0x21, 0x11, 0x00, 0x0C, 192, 0, 2, 77, 198, 51, 100, 1, 0x30, 0x39, 0x00, 0x19]
        bytes += Array("EHLO".utf8)
        var buffer = ByteBuffer(bytes: bytes)
        let header = try ProxyHeaderParser.parse(&buffer)
        #expect(header?.source?.ipAddress == "192.0.2.77")
        #expect(header?.source?.port == 12345)
        #expect(String(buffer: buffer) == "EHLO")
    }

    @Test func v2LocalHasNoSource() throws {
        var buffer = ByteBuffer(bytes: ProxyHeaderParser.v2Signature + [0x20, 0x00, 0x00, 0x00])
        let header = try ProxyHeaderParser.parse(&buffer)
        #expect(header != nil && header?.source == nil)
    }

    @Test func v2BadVersionIsRefused() {
        var buffer = ByteBuffer(bytes: ProxyHeaderParser.v2Signature + [0x31, 0x11, 0x00, 0x00])
        #expect(throws: ProxyHeaderError.self) { try ProxyHeaderParser.parse(&buffer) }
    }
}

struct ClientNetworkTests {
    @Test(arguments: [
        ("127.0.0.0/8", "127.1.2.3", true), ("127.0.0.0/8", "128.0.0.1", false),
        ("10.1.0.0/16", "10.1.255.255", true), ("10.1.0.0/16", "10.2.0.0", false),
        ("192.0.2.5", "192.0.2.5", true), ("192.0.2.5", "192.0.2.6", false),
        ("0.0.0.0/0", "203.0.113.9", true),
        ("2001:db8::/32", "2001:db8:ffff::1", true), ("2001:db8::/32", "2001:db9::1", false),
        ("::1", "::1", true), ("127.0.0.0/8", "::ffff:127.0.0.1", true), ("10.0.0.0/8", "::1", false),
    ])
    func matches(network: String, address: String, expected: Bool) throws {
        let net = try #require(ClientNetwork(network))
        let socket = try SocketAddress(ipAddress: address, port: 25)
        #expect(net.contains(socket) == expected)
    }

    @Test(arguments: ["", "10.0.0.0/33", "2001:db8::/129", "example.com", "10.0.0.0/x"])
    func refusesBadNotation(text: String) {
        #expect(ClientNetwork(text) == nil)
    }
}

struct SocketAddressTextTests {
    /// Logged listener addresses read as the configuration writes them.
    @Test(arguments: [
        ("127.0.0.1", 2525, "127.0.0.1:2525"),
        ("::1", 25, "[::1]:25"),
        ("2001:db8::25", 587, "[2001:db8::25]:587"),
    ])
    func hostAndPort(ip: String, port: Int, text: String) throws {
        #expect(try SocketAddress(ipAddress: ip, port: port).hostAndPort == text)
    }
}
