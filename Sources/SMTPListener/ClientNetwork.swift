import NIOCore

/// An IPv4 or IPv6 network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`, or one address),
/// for client allowlists and trusted proxies. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`)
/// match the IPv4 networks they map, so a dual-stack socket cannot dodge an IPv4 allowlist.
public struct ClientNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The network address, 4 or 16 octets.
    public let address: [UInt8]
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = ClientNetwork.parseAddress(String(parts[0])) else { return nil }
        let bits = address.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p) else { return nil }
            prefix = p
        }
        self.address = ClientNetwork.masked(address, prefix)
        self.prefixLength = prefix
    }

    /// This machine: 127.0.0.0/8 and ::1.
    public static let loopback = ["127.0.0.0/8", "::1"].compactMap(ClientNetwork.init)

    public var description: String {
        let text: String
        if address.count == 4 {
            text = address.map(String.init).joined(separator: ".")
        } else {
            text = stride(from: 0, to: 16, by: 2)
                .map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return "\(text)/\(prefixLength)"
    }

    /// Whether `octets` (4 or 16, as from `ClientNetwork.octets(of:)`) lies in this network.
    public func contains(_ octets: [UInt8]) -> Bool {
        let candidate = ClientNetwork.unmapped(octets)
        guard candidate.count == address.count else { return false }
        return ClientNetwork.masked(candidate, prefixLength) == address
    }

    public func contains(_ socketAddress: SocketAddress) -> Bool {
        guard let octets = ClientNetwork.octets(of: socketAddress) else { return false }
        return contains(octets)
    }

    /// The raw octets of an IP socket address; nil for Unix domain sockets.
    public static func octets(of socketAddress: SocketAddress) -> [UInt8]? {
        switch socketAddress {
        case .v4(let a):
            return withUnsafeBytes(of: a.address.sin_addr) { Array($0) }
        case .v6(let a):
            return withUnsafeBytes(of: a.address.sin6_addr) { Array($0) }
        case .unixDomainSocket:
            return nil
        }
    }

    static func unmapped(_ octets: [UInt8]) -> [UInt8] {
        if octets.count == 16, octets[0..<10].allSatisfy({ $0 == 0 }), octets[10] == 0xFF, octets[11] == 0xFF {
            return Array(octets[12..<16])
        }
        return octets
    }

    static func masked(_ octets: [UInt8], _ prefix: Int) -> [UInt8] {
        octets.enumerated().map { index, byte in
            let keep = min(8, max(0, prefix - index * 8))
            return keep == 8 ? byte : byte & ~(UInt8(0xFF) >> keep)
        }
    }

    /// Parses a literal IPv4 or IPv6 address into network-order octets.
    public static func parseAddress(_ text: String) -> [UInt8]? {
        if let v4 = try? SocketAddress(ipAddress: text, port: 0) {
            return octets(of: v4).map(unmapped)
        }
        return nil
    }
}
