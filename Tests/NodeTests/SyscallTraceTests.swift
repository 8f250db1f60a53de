import Foundation
import Testing

/// The strace parser `SyncOrderTests` relies on, on lines in the shapes strace 6 writes
/// with `-f -y -xx`: complete calls, calls split by another thread's event, padding before
/// the `=`, signals.
@Suite struct SyscallTraceTests {
    /// `text` hex-escaped as `-xx` prints it.
    static func hex(_ text: String) -> String { text.utf8.map { String(format: "\\x%02x", $0) }.joined() }

    @Test func joinsTheHalvesOfInterruptedCallsByThread() throws {
        let segment = Self.hex("/d/archive/00000001.seg"), client = Self.hex("250 2.0.0 Ok: stored as ABC\r\n")
        let trace = """
        100 pwrite64(12<\(segment)>, "\(Self.hex("ARCR"))", 4, 72) = 4
        100 fdatasync(12<\(segment)> <unfinished ...>
        101 write(5<\(Self.hex("TCP:[1]"))>, "\(Self.hex("220 hi\r\n"))", 8) = 8
        100 <... fdatasync resumed>)          = 0
        101 --- SIGCHLD {si_signo=SIGCHLD} ---
        101 write(5<\(Self.hex("TCP:[1]"))>, "\(client)", 30 <unfinished ...>
        102 openat(AT_FDCWD<\(Self.hex("/d"))>, "\(Self.hex("/d/x"))", O_WRONLY|O_CREAT|O_CLOEXEC, 0640) = -1 EACCES (Permission denied)
        101 <... write resumed>)              = 30
        +++ exited with 0 +++
        """
        let calls = SyscallTrace.parse(trace)
        try #require(calls.map(\.name) == ["pwrite64", "write", "fdatasync", "openat", "write"])
        let write = calls[0], sync = calls[2], reply = calls[4]
        #expect(write.descriptorPath == "/d/archive/00000001.seg" && write.lastNumber == 72 && write.strings == [Array("ARCR".utf8)])
        #expect(sync.entered == 1 && sync.returned == 3 && sync.succeeded)
        #expect(reply.entered == 5 && reply.returned == 7 && reply.strings == [Array("250 2.0.0 Ok: stored as ABC\r\n".utf8)])
        #expect(write.precedes(sync) && sync.precedes(reply) && !reply.precedes(sync))
        #expect(calls[3].value == -1 && !calls[3].succeeded)
    }

    @Test func findsTheRepliesAndTheSyncBetween() {
        let segment = Self.hex("/d/archive/00000001.seg")
        let trace = """
        100 pwrite64(12<\(segment)>, "\(Self.hex("ARCR"))", 4, 72) = 4
        101 write(5<\(Self.hex("TCP:[1]"))>, "\(Self.hex("250 2.0.0 Ok: stored as ABC\r\n"))", 30) = 30
        100 fdatasync(12<\(segment)>) = 0
        """
        let order = SyncOrder(calls: SyscallTrace.parse(trace), dataDirectory: "/d",
                              listed: ["ABC": .init(sha256: "", size: 4, segment: 1, offset: 72)])
        #expect(order.replies.map(\.id) == ["ABC"])
        // The sync came after the 250: the order is broken.
        #expect(order.violations().count == 1)
    }
}
