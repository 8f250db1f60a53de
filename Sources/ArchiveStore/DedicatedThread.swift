import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The archive's and the queue's own threads (writer, index, dictionary training, queue
/// writer), named so that `top -H`, `perf` and a debugger show what each one is.
///
/// `Thread.name` set before `start()` does not reach the kernel on Linux (the thread kept
/// the name of the one that created it, "com.apple.root.default-qos" cut to 15 bytes), so
/// the thread names itself first thing, through `/proc/thread-self/comm` (Glibc's module
/// does not export `pthread_setname_np`, and `prctl` is variadic). Linux takes at most 15
/// bytes; a failure only leaves the old name.
public enum DedicatedThread {
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= 15, "thread name longer than Linux allows: \(name)")
        let thread = Thread {
            nameCurrentThread(name)
            body()
        }
        thread.name = name
        thread.start()
    }

    private static func nameCurrentThread(_ name: String) {
        #if os(Linux)
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #endif
    }
}
