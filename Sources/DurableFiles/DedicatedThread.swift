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
    /// - Parameter niceness: added to the thread's scheduling niceness (Linux threads each
    ///   have their own): background work that must not delay sessions or commits runs
    ///   with a positive value. Lowering one's own priority needs no privilege; a failure
    ///   leaves the thread at the process's priority.
    public static func start(name: String, niceness: Int32 = 0, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= 15, "thread name longer than Linux allows: \(name)")
        let thread = Thread {
            nameCurrentThread(name)
            if niceness != 0 { lowerPriority(by: niceness) }
            body()
        }
        thread.name = name
        thread.start()
    }

    private static func lowerPriority(by niceness: Int32) {
        #if os(Linux)
        // On Linux the niceness belongs to each thread, and `who` 0 names the calling one
        // (setpriority(2), NOTES).
        let process = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let current = getpriority(process, 0)
        guard errno == 0 else { return }
        _ = setpriority(process, 0, min(19, current + niceness))
        #endif
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
