import Foundation
import TestSupport
import Testing

/// A node that cannot start says which part of its configuration is at fault and why, in
/// one line, and exits non-zero.
@Suite(.timeLimit(NodeTestSupport.scaledMinutes(2)))
struct StartupErrorTests {
    /// A listening socket on 127.0.0.1:`port`, closed by `close()`.
    struct HeldPort {
        let port: Int
        let descriptor: Int32

        init() throws {
            port = try freePort()
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = TestPorts.loopback(port: port)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(descriptor, 1) == 0 else { throw NodeTestError("cannot hold port \(port)") }
        }

        func close() { _ = Glibc.close(descriptor) }
    }

    /// The last line the node wrote to stderr, and its exit status; as nobody when the
    /// tests run as root and `unprivileged` is set.
    static func start(_ arguments: [String], in root: String, unprivileged: Bool = false) async throws -> (status: Int32, line: String) {
        let binary = try NodeTestSupport.binary()
        let command = unprivileged ? NodeTestSupport.asNobody(binary, ["serve"] + arguments) : (binary, ["serve"] + arguments)
        let run = try await runProcess(command.0, command.1, in: root)
        let line = run.stderr.split(separator: "\n").last.map(String.init) ?? ""
        return (run.status, line)
    }

    /// The SMTP listener's port, then the admin endpoint's, held by another socket.
    @Test(arguments: [(true, "listener \"journal\""), (false, "admin endpoint")])
    func aPortInUseIsNamed(listenerHeld: Bool, named: String) async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let held = try HeldPort()
        defer { held.close() }
        let free = try freePort()
        let (smtp, admin) = listenerHeld ? (held.port, free) : (free, held.port)
        let result = try await Self.start(["--listen", "127.0.0.1:\(smtp)", "--admin", "127.0.0.1:\(admin)",
                                           "--data-dir", workspace.root + "/data"], in: workspace.root)
        #expect(result.status != 0)
        #expect(result.line.contains("\(named) cannot listen on 127.0.0.1:\(held.port): Address already in use"), "\(result.line)")
    }

    /// Whether this kernel reserves port 25 for privileged processes (containers often
    /// lower `ip_unprivileged_port_start` to 0).
    static let port25IsPrivileged: Bool = {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_unprivileged_port_start", encoding: .utf8)) ?? "1024"
        return (Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1024) > 25
    }()

    /// Root may bind port 25 and write anywhere: these two run as nobody (or as the
    /// unprivileged user running the tests).
    @Test(.enabled(if: port25IsPrivileged, "this kernel lets any user bind port 25"))
    func aPrivilegedPortNamesTheCapability() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        #expect(chmod(workspace.root, 0o777) == 0)
        let admin = try freePort()
        let result = try await Self.start(["--listen", "127.0.0.1:25", "--admin", "127.0.0.1:\(admin)",
                                           "--data-dir", workspace.root + "/data"], in: workspace.root, unprivileged: true)
        #expect(result.status != 0)
        #expect(result.line.contains("listener \"journal\" cannot listen on 127.0.0.1:25: Permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE"), "\(result.line)")
    }

    /// A data directory the node's user may not write, and one it may not create (its
    /// parent is read-only).
    @Test(arguments: [true, false])
    func aDataDirectoryTheNodeCannotWriteIsNamed(exists: Bool) async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let parent = workspace.root + "/parent", data = parent + "/data"
        try FileManager.default.createDirectory(atPath: exists ? data : parent, withIntermediateDirectories: true)
        // Owned by root (or by the test's user): read-only either way.
        #expect(chmod(exists ? data : parent, 0o555) == 0)
        let (smtp, admin) = (try freePort(), try freePort())
        let result = try await Self.start(["--listen", "127.0.0.1:\(smtp)", "--admin", "127.0.0.1:\(admin)", "--data-dir", data],
                                          in: workspace.root, unprivileged: true)
        #expect(result.status != 0)
        let expected = exists ? "the data directory \(data) is not writable by this user"
                              : "cannot create the data directory \(data): Permission denied"
        #expect(result.line.contains(expected), "\(result.line)")
        #expect(!FileManager.default.fileExists(atPath: data + "/archive"))
    }
}
