import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Ports for the servers a test runs as child processes (nodes, smtp-sink, aiosmtpd,
/// nginx): their configuration names the port before the process binds it.
///
/// Not "bind port 0, read it, close": Linux hands those out from its ephemeral range,
/// which the outgoing connections of every parallel test draw from too, and such a port
/// was seen taken by another test's listener before the node bound it ("Address already in
/// use"). These come from one counter below the ephemeral range (32768-60999 by default):
/// tests running in parallel in one process never get the same port, no outgoing
/// connection takes one, and each is checked free by binding it once. Another process
/// could still take one in the moment between; a start offset from the pid makes two
/// test runs on one machine unlikely to walk the same ports.
public enum TestPorts {
    static let range = 20_000..<32_768
    private static let counter = Atomic<Int>(Int(getpid()) * 97)

    /// The next port of the range that is free on 127.0.0.1.
    public static func next() -> Int? {
        for _ in 0..<range.count {
            let n = counter.add(1, ordering: .relaxed).newValue
            let port = range.lowerBound + n % range.count
            if isFree(port) { return port }
        }
        return nil
    }

    static func isFree(_ port: Int) -> Bool {
        withSocket(port: port) { fd, address in bind(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func canConnect(port: Int) -> Bool {
        withSocket(port: port) { fd, address in connect(fd, address, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }

    /// An IPv4 loopback socket address (any of 127.0.0.0/8; all of it is this machine).
    public static func loopback(port: Int, host: String = "127.0.0.1") -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        return address
    }

    private static func withSocket(port: Int, _ body: (Int32, UnsafePointer<sockaddr>) -> Bool) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body(fd, $0) } }
    }
}

/// A free TCP port on 127.0.0.1 for a test's server (`TestPorts`).
public func freePort() throws -> Int {
    guard let port = TestPorts.next() else { throw TestSupportError("no free port in \(TestPorts.range)") }
    return port
}

/// Why a test's helper could not do its part.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
