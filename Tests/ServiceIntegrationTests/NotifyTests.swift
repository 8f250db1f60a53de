import Foundation
import Logging
@testable import ServiceNotify
import Testing

/// The sd_notify datagrams, the addresses and watchdog settings the environment gives, and
/// a failed send that is logged once. The node's use of them: NodeTests/NotifyNodeTests.
@Suite struct NotifyTests {
    @Test func datagramsAreNewlineSeparatedAssignments() {
        #expect(ServiceState.ready(mainPID: 12, status: "up").datagram == "READY=1\nMAINPID=12\nSTATUS=up")
        #expect(ServiceState.reloading(monotonicMicroseconds: 99, status: "r").datagram == "RELOADING=1\nMONOTONIC_USEC=99\nSTATUS=r")
        #expect(ServiceState.reloaded(status: "done").datagram == "READY=1\nSTATUS=done")
        #expect(ServiceState.stopping(status: "bye").datagram == "STOPPING=1\nSTATUS=bye")
        #expect(ServiceState.watchdog.datagram == "WATCHDOG=1")
        // A status cannot add an assignment of its own.
        #expect(ServiceState.reloaded(status: "file\nREADY=1\r\nx").datagram == "READY=1\nSTATUS=file READY=1 x")
    }

    @Test func monotonicMicrosecondsMoveForward() {
        let first = ServiceState.monotonicNow()
        #expect(first > 0)
        #expect(ServiceState.monotonicNow() >= first)
    }

    @Test func socketAddressesArePathsOrAbstractNames() {
        #expect(NotifySocket("/run/systemd/notify")?.address == Array("/run/systemd/notify".utf8))
        #expect(NotifySocket("@sd-notify")?.address == [0] + Array("sd-notify".utf8))
        for unusable in ["", "relative/path", "@", "/" + String(repeating: "x", count: 200), "/a\u{0}b"] {
            #expect(NotifySocket(unusable) == nil, "\(unusable)")
        }
    }

    @Test func watchdogSettingsFollowTheEnvironment() {
        let two = WatchdogSettings(environment: ["WATCHDOG_USEC": "2000000"], pid: 7)
        #expect(two?.timeout == .seconds(2))
        #expect(two?.pingInterval == .seconds(1))
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "7"], pid: 7) != nil)
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "8"], pid: 7) == nil)
        for unusable in ["", "0", "-5", "2s", "99999999999999999999999"] {
            #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": unusable], pid: 7) == nil, "\(unusable)")
        }
        #expect(WatchdogSettings(environment: [:], pid: 7) == nil)
    }

    /// A datagram socket bound where `address` says (the bytes of `sun_path`, a leading NUL
    /// for an abstract name), posing as systemd.
    struct Receiver {
        let descriptor: Int32

        init(address: [UInt8]) throws {
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var local = sockaddr_un()
            local.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &local.sun_path) { path in
                for (index, byte) in address.enumerated() { path[index] = byte }
            }
            let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + address.count + (address.first == 0 ? 0 : 1))
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
            try #require(descriptor >= 0 && bound == 0, "bind: \(String(cString: strerror(errno)))")
            var wait = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        }

        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            return count < 0 ? nil : String(decoding: buffer[..<count], as: UTF8.self)
        }

        func close() { _ = Glibc.close(descriptor) }
    }

    @Test func datagramsReachAPathAndAnAbstractName() throws {
        let path = NSTemporaryDirectory() + "notify-\(getpid()).sock"
        let abstract = "@archiverelay-test-\(getpid())"
        defer { unlink(path) }
        for name in [path, abstract] {
            let socket = try #require(NotifySocket(name))
            let receiver = try Receiver(address: socket.address)
            defer { receiver.close() }
            try socket.send("READY=1\nSTATUS=\(name)")
            #expect(receiver.receive() == "READY=1\nSTATUS=\(name)")
        }
    }

    /// Collects what the notifier logs.
    final class LogLines: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        func add(_ message: String) { lock.withLock { messages.append(message) } }
        var all: [String] { lock.withLock { messages } }
    }

    struct CollectingHandler: LogHandler {
        let lines: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { lines.add("\(event.level): \(event.message)") }
    }

    @Test func aSocketNobodyListensOnIsLoggedOnceAndNeverStopsTheNode() {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in CollectingHandler(lines: lines) }
        let missing = NSTemporaryDirectory() + "no-such-notify-socket-\(getpid())"
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": missing], logger: logger)
        #expect(notifier.isActive)
        notifier.ready(status: "up")
        notifier.watchdog()
        notifier.reloading(status: "r")
        notifier.reloaded(status: "r")
        notifier.stopping(status: "s")
        #expect(lines.all.count == 1, "\(lines.all)")
        #expect(lines.all.first?.hasPrefix("error: cannot notify the service manager") == true)
    }

    @Test func withoutNotifySocketNothingIsSentOrLogged() {
        let lines = LogLines()
        let notifier = ServiceNotifier(environment: [:], logger: Logger(label: "test") { _ in CollectingHandler(lines: lines) })
        #expect(!notifier.isActive)
        notifier.ready(status: "up")
        #expect(lines.all.isEmpty)
        let unusable = ServiceNotifier(environment: ["NOTIFY_SOCKET": "relative"], logger: Logger(label: "test") { _ in CollectingHandler(lines: lines) })
        #expect(!unusable.isActive)
        #expect(lines.all.count == 1)
    }
}
