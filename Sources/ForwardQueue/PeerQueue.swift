import Foundation

/// Whether a peer is reachable, as far as the deliverer knows.
public enum PeerState: String, Sendable, Codable, Equatable {
    /// No session tried yet.
    case unknown
    case up
    /// Sessions failed; the next probe is due at `PeerQueue.nextProbe`.
    case down
}

extension [String: PeerQueue] {
    /// Adds `entry` to its connection's queue. A connection not configured (any more) gets
    /// a queue without settings that keeps its entries, undelivered; returns true when
    /// this made one.
    @discardableResult
    mutating func add(_ entry: QueueEntry) -> Bool {
        let name = entry.item.connection
        let unconfigured = self[name] == nil
        if unconfigured { self[name] = PeerQueue(settings: PeerSettings(name: name, host: "")) }
        self[name]?.add(entry)
        return unconfigured
    }
}

/// The in-memory queue of one peer: its entries in FIFO (id) order, what is being
/// delivered, the retry state of each entry and of the peer. Pure: the caller passes the
/// time and the jitter, and writes the journal records it gets back.
struct PeerQueue {
    private(set) var settings: PeerSettings
    private(set) var backoff: Backoff
    private(set) var entries: [UInt64: QueueEntry] = [:]
    /// Ids waiting for delivery, ascending; `head` skips ids already taken from the front.
    private var waiting: [UInt64] = []
    private var head = 0
    private(set) var inFlight: Set<UInt64> = []
    private(set) var bytes: UInt64 = 0
    /// How many entries refer to each stored message (`waitForDelivery` asks by message).
    private var copies: [MessageReference: Int] = [:]
    private(set) var peerState = PeerState.unknown
    private(set) var peerFailures = 0
    private(set) var nextProbe: Date?
    /// When a session last failed: an operator's retry probes no sooner than `min_backoff` after.
    private(set) var lastFailureAt: Date?
    private(set) var lastPeerError: String?
    /// A probe session is under way while the peer is down: no other session starts.
    private(set) var probing = false
    /// Messages skipped for this peer because the queue was full (`drop-forward`).
    var droppedWhenFull = 0

    init(settings: PeerSettings) {
        self.settings = settings
        self.backoff = Backoff(minimum: settings.minBackoff, maximum: settings.maxBackoff)
    }

    /// New settings from a reload; entries, retry state and the peer's state stay.
    mutating func reconfigure(_ settings: PeerSettings) {
        self.settings = settings
        self.backoff = Backoff(minimum: settings.minBackoff, maximum: settings.maxBackoff)
    }

    var depth: Int { entries.count }
    func holdsCopy(of reference: MessageReference) -> Bool { copies[reference] != nil }
    var heldCount: Int { entries.values.reduce(0) { $0 + ($1.isHeld ? 1 : 0) } }
    var oldestEnqueuedAt: Date? { entries.values.map(\.enqueuedAt).min() }

    /// The synchronous admission check: is there room for one more message of `size`?
    func admit(size: UInt64) -> Admission {
        if depth < settings.queueLimit, bytes + size <= settings.queueMaxBytes { return .accept }
        return settings.onFull == .tempfail ? .full : .dropForward
    }

    mutating func add(_ entry: QueueEntry) {
        guard entries[entry.id] == nil else { return }
        entries[entry.id] = entry
        bytes += entry.item.size
        copies[entry.item.reference, default: 0] += 1
        if !entry.isHeld { insertWaiting(entry.id) }
    }

    enum Claim: Equatable {
        case deliver(QueueEntry)
        /// Nothing to do now; look again at `until` (nil: when something changes).
        case wait(until: Date?)
    }

    /// The first waiting entry that is due, in FIFO order. While the peer is down only one
    /// session (the probe) may start, at the backoff interval; a worker whose session is
    /// open (`connected`) goes on regardless.
    mutating func claim(now: Date, connected: Bool) -> Claim {
        var becomesProbe = false
        if !connected && peerState == .down {
            if probing { return .wait(until: nil) }
            if let nextProbe, now < nextProbe { return .wait(until: nextProbe) }
            becomesProbe = true
        }
        var earliest: Date?
        var index = head
        while index < waiting.count {
            let id = waiting[index]
            if let entry = entries[id] {
                if let due = entry.nextAttempt, due > now {
                    earliest = min(earliest ?? due, due)
                } else {
                    take(at: index)
                    inFlight.insert(id)
                    if becomesProbe { probing = true }
                    return .deliver(entry)
                }
            }
            index += 1
        }
        return .wait(until: earliest)
    }

    /// 250 to the final dot: the entry is gone.
    mutating func delivered(_ id: UInt64) {
        inFlight.remove(id)
        remove(id)
    }

    /// A 4xx for this message, or a session that broke while it was in flight. Returns a
    /// `held` record when its retries are used up.
    mutating func deferred(_ id: UInt64, reason: String, now: Date, jitter: Double, backOff: Bool) -> JournalRecord? {
        inFlight.remove(id)
        guard var entry = entries[id] else { return nil }
        entry.attempts += 1
        entry.lastAttemptAt = now
        entry.lastError = reason
        if entry.isHeld {  // held by an operator while in flight
            entries[id] = entry
            return nil
        }
        if settings.maxRetries > 0 && entry.attempts > settings.maxRetries {
            entries[id] = entry
            return hold(id, reason: "retries exhausted (\(entry.attempts) attempts): \(reason)")
        }
        entry.nextAttempt = backOff ? now.addingTimeInterval(backoff.delay(afterFailures: entry.attempts, jitter: jitter)) : nil
        entries[id] = entry
        insertWaiting(id)
        return nil
    }

    /// A 5xx (or a message the peer cannot take): into hold, never deleted silently.
    mutating func rejected(_ id: UInt64, reason: String) -> JournalRecord? {
        inFlight.remove(id)
        guard var entry = entries[id] else { return nil }
        entry.attempts += 1
        entries[id] = entry
        return hold(id, reason: reason)
    }

    /// Moves an entry to hold; nil when there is no such entry or it is held already.
    mutating func hold(_ id: UInt64, reason: String) -> JournalRecord? {
        guard var entry = entries[id], !entry.isHeld else { return nil }
        entry.isHeld = true
        entry.lastError = reason
        entry.nextAttempt = nil
        entries[id] = entry
        removeWaiting(id)
        return .held(id: id, reason: reason)
    }

    mutating func release(_ id: UInt64) -> JournalRecord? {
        guard var entry = entries[id], entry.isHeld else { return nil }
        entry.isHeld = false
        entry.attempts = 0
        entry.nextAttempt = nil
        entries[id] = entry
        if !inFlight.contains(id) { insertWaiting(id) }
        return .released(id: id)
    }

    /// Makes a waiting entry due now (and the peer probed now if it is down), but never
    /// sooner than `min_backoff` after the entry's last attempt or the peer's last failure:
    /// retries sent in a loop must not become a connection flood against the peer.
    mutating func retryNow(_ id: UInt64, now: Date) -> Bool {
        guard var entry = entries[id], !entry.isHeld else { return false }
        entry.nextAttempt = entry.lastAttemptAt.map { max(now, $0.addingTimeInterval(settings.minBackoff)) }
        entries[id] = entry
        if peerState == .down, let scheduled = nextProbe {
            let floor = lastFailureAt.map { max(now, $0.addingTimeInterval(settings.minBackoff)) } ?? now
            nextProbe = min(scheduled, floor)
        }
        return true
    }

    mutating func remove(_ id: UInt64) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        bytes -= min(bytes, entry.item.size)
        let left = (copies[entry.item.reference] ?? 1) - 1
        copies[entry.item.reference] = left > 0 ? left : nil
        removeWaiting(id)
    }

    mutating func peerUp() {
        peerState = .up
        peerFailures = 0
        nextProbe = nil
        probing = false
    }

    /// A session could not be set up (or broke): back off the whole peer. While the peer
    /// is already down and no probe runs, the failure is from a session begun before it
    /// went down: it does not push the next probe further out.
    mutating func peerFailed(reason: String, now: Date, jitter: Double) {
        if peerState == .down && !probing {
            lastPeerError = reason
            return
        }
        peerState = .down
        peerFailures += 1
        lastFailureAt = now
        lastPeerError = reason
        probing = false
        nextProbe = now.addingTimeInterval(backoff.delay(afterFailures: peerFailures, jitter: jitter))
    }

    // MARK: The waiting list

    private mutating func take(at index: Int) {
        if index == head {
            head += 1
            if head > 1024 && head * 2 > waiting.count {
                waiting.removeFirst(head)
                head = 0
            }
        } else {
            waiting.remove(at: index)
        }
    }

    private mutating func insertWaiting(_ id: UInt64) {
        if waiting.count == head || waiting[waiting.count - 1] < id {
            waiting.append(id)
            return
        }
        var low = head, high = waiting.count
        while low < high {
            let mid = (low + high) / 2
            if waiting[mid] < id { low = mid + 1 } else { high = mid }
        }
        if low < waiting.count && waiting[low] == id { return }
        waiting.insert(id, at: low)
    }

    private mutating func removeWaiting(_ id: UInt64) {
        var low = head, high = waiting.count
        while low < high {
            let mid = (low + high) / 2
            if waiting[mid] < id { low = mid + 1 } else { high = mid }
        }
        if low < waiting.count && waiting[low] == id { take(at: low) }
    }
}
