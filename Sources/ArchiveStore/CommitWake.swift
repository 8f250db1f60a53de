import NIOCore

/// When the archive's writer thread learns of a commit.
///
/// The writer takes everything queued when it wakes and syncs it with one `fdatasync`.
/// Woken for each message, it starts a sync for the first message of a burst while the
/// rest of the burst is still being finished on the same event loop; they wait for the next
/// sync. Woken once at the end of the loop's tick, it syncs the burst together.
/// Nothing waits on a timer: the wake runs right after the tasks the loop already has, so
/// at a light load it comes microseconds later. It lowered the writer's and the node's CPU
/// per message without moving the acknowledgment's p99 (bench/README.md, "Figures behind
/// the code").
public enum CommitWake: Sendable {
    /// Wakes the writer now (callers not on an event loop, tests, tools).
    case now
    /// Wakes it once the loop has run the tasks it has now: every commit the loop's
    /// sessions make meanwhile shares that one wake.
    case afterTick(of: any EventLoop)
}
