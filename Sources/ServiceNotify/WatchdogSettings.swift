/// The service manager's watchdog (`WatchdogSec=`), from `WATCHDOG_USEC` and
/// `WATCHDOG_PID` (sd_watchdog_enabled(3)): nil when it is off or meant for another process.
public struct WatchdogSettings: Equatable, Sendable {
    /// How long the service manager waits for a ping before it kills the node.
    public let timeout: Duration

    /// Pings go out at half the timeout, as sd_watchdog_enabled(3) advises: one late ping
    /// is not yet a kill.
    public var pingInterval: Duration { timeout / 2 }

    public init?(environment: [String: String], pid: Int32) {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0, usec <= UInt64(Int64.max) else { return nil }
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        timeout = .microseconds(Int64(usec))
    }
}
