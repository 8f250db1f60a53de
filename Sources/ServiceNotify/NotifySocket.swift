import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The service manager's notification socket, `NOTIFY_SOCKET` (sd_notify(3)): a path, or
/// with a leading `@` a name in Linux's abstract namespace. Each message is one datagram
/// on an AF_UNIX SOCK_DGRAM socket opened for it, as libsystemd does.
public struct NotifySocket: Equatable, Sendable {
    /// The address bytes as they go into `sun_path` (an abstract name starts with NUL).
    let address: [UInt8]

    /// Nil for an empty value, one that is neither absolute nor abstract, or one too long
    /// for `sun_path` (108 bytes with the path's terminating NUL).
    public init?(_ value: String) {
        var bytes = Array(value.utf8)
        guard let first = bytes.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@") else { return nil }
        if first == UInt8(ascii: "@") {
            bytes[0] = 0
            guard bytes.count > 1, bytes.count <= Self.pathCapacity else { return nil }
        } else {
            guard bytes.count < Self.pathCapacity, !bytes.contains(0) else { return nil }
        }
        address = bytes
    }

    static let pathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)

    /// Sends `message` as one datagram.
    public func send(_ message: String) throws(NotifyError) {
        #if canImport(Darwin)
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #else
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #endif
        guard fd >= 0 else { throw NotifyError(operation: "socket", code: errno) }
        defer { close(fd) }
        var peer = sockaddr_un()
        peer.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &peer.sun_path) { path in
            for (index, byte) in address.enumerated() { path[index] = byte }
        }
        // An abstract name is exactly its bytes; a path also takes its NUL.
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        let length = socklen_t(pathOffset + address.count + (address[0] == 0 ? 0 : 1))
        let bytes = Array(message.utf8)
        let sent = bytes.withUnsafeBytes { payload in
            withUnsafePointer(to: &peer) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, payload.baseAddress, payload.count, 0, $0, length) }
            }
        }
        guard sent == bytes.count else { throw NotifyError(operation: "sendto", code: sent < 0 ? errno : EMSGSIZE) }
    }
}

/// A notification that did not go out: the call that failed and its errno.
public struct NotifyError: Error, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    public var description: String { "\(operation): \(String(cString: strerror(code)))" }
}
