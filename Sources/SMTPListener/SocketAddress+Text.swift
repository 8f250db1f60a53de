import NIOCore

extension SocketAddress {
    /// `127.0.0.1:2525` or `[::1]:2525`, as addresses are written in the configuration
    /// (NIO's own description reads `[IPv4]127.0.0.1/127.0.0.1:2525`).
    public var hostAndPort: String {
        guard let ip = ipAddress, let port else { return "\(self)" }
        if case .v6 = self { return "[\(ip)]:\(port)" }
        return "\(ip):\(port)"
    }
}
