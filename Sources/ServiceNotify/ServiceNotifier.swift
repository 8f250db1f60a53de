import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends the node's states to the service manager when it started the node with
/// `NOTIFY_SOCKET` (systemd `Type=notify`); does nothing otherwise. A datagram that cannot
/// go out is logged once (the first time) and never stops the node. `NOTIFY_SOCKET` stays
/// in the environment: the node starts no children that could misuse it.
public final class ServiceNotifier: Sendable {
    private let socket: NotifySocket?
    private let logger: Logger
    private let state = NSLock()
    private nonisolated(unsafe) var readySent = false
    private nonisolated(unsafe) var failureLogged = false

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        self.logger = logger
        socket = environment["NOTIFY_SOCKET"].flatMap(NotifySocket.init)
        if let value = environment["NOTIFY_SOCKET"], socket == nil {
            logger.warning("NOTIFY_SOCKET is not a usable socket address; the service manager is not told when the node is ready",
                           metadata: ["NOTIFY_SOCKET": "\(value)"])
        }
    }

    /// Whether a service manager listens.
    public var isActive: Bool { socket != nil }

    /// Startup finished.
    public func ready(status: String) {
        state.withLock { readySent = true }
        send(.ready(mainPID: getpid(), status: status))
    }

    /// A reload starts. Before `ready` nothing is sent: a READY=1 at its end would tell
    /// systemd the node serves while its listeners are not bound yet.
    public func reloading(status: String) {
        guard state.withLock({ readySent }) else { return }
        send(.reloading(monotonicMicroseconds: ServiceState.monotonicNow(), status: status))
    }

    /// A reload ended (see `reloading`).
    public func reloaded(status: String) {
        guard state.withLock({ readySent }) else { return }
        send(.reloaded(status: status))
    }

    public func stopping(status: String) { send(.stopping(status: status)) }

    public func watchdog() { send(.watchdog) }

    private func send(_ message: ServiceState) {
        guard let socket else { return }
        do {
            try socket.send(message.datagram)
        } catch {
            let first = state.withLock {
                defer { failureLogged = true }
                return !failureLogged
            }
            if first {
                logger.error("cannot notify the service manager; the node goes on (further failures are not logged)",
                             metadata: ["error": "\(error)"])
            }
        }
    }
}
