#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the node tells the service manager, and the datagram that says it (sd_notify(3):
/// newline-separated `KEY=value` assignments).
public enum ServiceState: Equatable, Sendable {
    /// Startup finished: every listener accepts and the archive is open.
    case ready(mainPID: Int32, status: String)
    /// A reload starts; `monotonicMicroseconds` is CLOCK_MONOTONIC now, which systemd
    /// requires with `RELOADING=1` to tell this reload from an earlier one.
    case reloading(monotonicMicroseconds: UInt64, status: String)
    /// A reload ended, applied or refused (the status says which): serving again.
    case reloaded(status: String)
    /// Graceful shutdown starts.
    case stopping(status: String)
    /// The watchdog's keep-alive.
    case watchdog

    public var datagram: String {
        switch self {
        case .ready(let pid, let status): "READY=1\nMAINPID=\(pid)\nSTATUS=\(Self.oneLine(status))"
        case .reloading(let usec, let status): "RELOADING=1\nMONOTONIC_USEC=\(usec)\nSTATUS=\(Self.oneLine(status))"
        case .reloaded(let status): "READY=1\nSTATUS=\(Self.oneLine(status))"
        case .stopping(let status): "STOPPING=1\nSTATUS=\(Self.oneLine(status))"
        case .watchdog: "WATCHDOG=1"
        }
    }

    /// A status is one assignment: a line break in it would start another (a file name
    /// with a newline could otherwise say `READY=1`).
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    /// CLOCK_MONOTONIC in microseconds.
    public static func monotonicNow() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
