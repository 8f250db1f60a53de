import Foundation
import NIOCore

/// A listening socket that could not be bound, in an operator's words: which listener,
/// which address, what the kernel said, and for the usual causes what to do.
public struct ListenFailure: Error, CustomStringConvertible {
    /// `listener "journal"`, `admin endpoint`.
    public let what: String
    public let address: String
    public let underlying: any Error

    public init(what: String, host: String, port: Int, underlying: any Error) {
        self.what = what
        self.address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        self.underlying = underlying
    }

    public var description: String {
        guard let io = underlying as? IOError else { return "\(what) cannot listen on \(address): \(underlying)" }
        var text = "\(what) cannot listen on \(address): \(String(cString: strerror(io.errnoCode)))"
        switch io.errnoCode {
        case EACCES: text += " (ports below 1024 need root or CAP_NET_BIND_SERVICE; see OPERATIONS.md)"
        case EADDRINUSE: text += " (another process, or another listener in this configuration, has it)"
        case EADDRNOTAVAIL: text += " (no interface of this machine has that address)"
        default: break
        }
        return text
    }
}
