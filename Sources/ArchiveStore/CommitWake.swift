import NIOCore

/// When the archive's writer thread learns of a commit.
///
/// The writer takes everything queued when it wakes and syncs it with one `fdatasync`.
/// Woken for each message, it starts a sync for the first message of a burst while the
/// rest of the burst is still being finished on the same event loop; they wait for the next
/// sync. Woken once at the end of the loop's tick, it syncs the burst together.
/// Nothing waits on a timer: the wake runs right after the tasks the loop already has, so
/// at a light load it comes microseconds later.
///
/// Measured on the 2-core benchmark machine, `smtp-source` with 20 sessions of 10 KB
/// messages against a node with one event loop, 4 alternating rounds. The writer's CPU per
/// message fell from 56–62 to 46–50 µs. The whole node's CPU fell from 294 to 272 µs per
/// message (medians). The p99 at 1,850 msg/s offered stayed at 1.39 ms (medians of 3).
/// With two loops on the two cores there was no difference beyond the noise.
public enum CommitWake: Sendable {
    /// Wakes the writer now (callers not on an event loop, tests, tools).
    case now
    /// Wakes it once the loop has run the tasks it has now: every commit the loop's
    /// sessions make meanwhile shares that one wake.
    case afterTick(of: any EventLoop)
}
