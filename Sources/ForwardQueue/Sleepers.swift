import NIOCore

/// What a caller suspended in the queue waits for.
enum SleepReason: Hashable, Sendable {
    /// An idle delivery worker of this connection: an entry that arrives, a change of the
    /// peer's state, an operator's retry or release, a reload.
    case work(connection: String)
    /// `waitForDelivery`: a peer's 250 for a copy of this message, or no copy left.
    case delivery(MessageReference)
    /// The worker supervisor: a reload of the connections or of their certificates.
    case supervision
}

/// Callers suspended until the event they wait for, their deadline or their task's
/// cancellation, whichever comes first. Kept in the queue's book: each is resumed exactly
/// once, by whoever takes it out under the book's lock. A deadline is one task scheduled on
/// an event loop and cancelled when something else wins, so nothing outlives its caller.
struct Sleepers {
    struct Sleeper {
        var reason: SleepReason
        var continuation: CheckedContinuation<Bool, Never>
        var timer: Scheduled<Void>?

        /// `woken`: true for the event waited for, false for the deadline or a cancellation.
        func resume(woken: Bool) {
            timer?.cancel()
            continuation.resume(returning: woken)
        }
    }

    private var sleepers: [UInt64: Sleeper] = [:]
    private var keys: [SleepReason: [UInt64]] = [:]
    private var lastKey: UInt64 = 0

    var isEmpty: Bool { sleepers.isEmpty }

    func count(_ reason: SleepReason) -> Int { keys[reason]?.count ?? 0 }

    /// A key for a caller about to sleep (its cancellation handler needs it first).
    mutating func newKey() -> UInt64 {
        lastKey += 1
        return lastKey
    }

    mutating func add(_ key: UInt64, _ reason: SleepReason, _ continuation: CheckedContinuation<Bool, Never>) {
        sleepers[key] = Sleeper(reason: reason, continuation: continuation)
        keys[reason, default: []].append(key)
    }

    mutating func setTimer(_ timer: Scheduled<Void>, for key: UInt64) {
        sleepers[key]?.timer = timer
    }

    /// Takes one sleeper out, if it still sleeps.
    mutating func remove(_ key: UInt64) -> Sleeper? {
        guard let sleeper = sleepers.removeValue(forKey: key) else { return nil }
        keys[sleeper.reason]?.removeAll { $0 == key }
        if keys[sleeper.reason]?.isEmpty == true { keys[sleeper.reason] = nil }
        return sleeper
    }

    /// Takes out every sleeper waiting for `reason`.
    mutating func removeAll(_ reason: SleepReason) -> [Sleeper] {
        guard let taken = keys.removeValue(forKey: reason) else { return [] }
        return taken.compactMap { sleepers.removeValue(forKey: $0) }
    }

    /// Takes out the idle workers of the connections of `entries`.
    mutating func removeWorkers(for entries: [QueueEntry]) -> [Sleeper] {
        entries.flatMap { removeAll(.work(connection: $0.item.connection)) }
    }

    /// Takes out every sleeper whose reason `matches`.
    mutating func removeAll(where matches: (SleepReason) -> Bool) -> [Sleeper] {
        keys.keys.filter(matches).flatMap { removeAll($0) }
    }
}

extension [Sleepers.Sleeper] {
    /// Resumes them (call outside the book's lock).
    func resume(woken: Bool) {
        for sleeper in self { sleeper.resume(woken: woken) }
    }
}

extension ForwardQueue {
    /// `sleep`'s check, made under the book's lock: answer at once, or sleep.
    enum SleepDecision {
        case answer(Bool)
        /// Sleep until woken for `reason` or until `deadline` (nil: no deadline).
        case sleep(SleepReason, until: NIODeadline?)
    }

    /// `sleep`'s first look: answered at once, or the key to sleep under (decided again
    /// when the sleeper is registered).
    private enum SleepStart {
        case answered(Bool)
        case sleeping(key: UInt64)
    }

    /// Suspends the caller as `decide` says. Returns its answer, true when woken for the
    /// reason, false at the deadline or when the caller's task is cancelled (at once).
    /// `decide` runs under the book's lock and the sleeper is registered under the same
    /// hold, so no wake between its check and the sleep is lost. The deadline's timer runs
    /// on `loop`. An answer at once (a busy worker's next entry, a copy already delivered)
    /// costs one hold of the lock and no continuation.
    func sleep(on loop: any EventLoop, _ decide: (inout QueueBook) -> SleepDecision) async -> Bool {
        let start = book.withLock { book -> SleepStart in
            if case .answer(let answer) = decide(&book) { return .answered(answer) }
            return .sleeping(key: book.sleepers.newKey())
        }
        let key: UInt64
        switch start {
        case .answered(let answer): return answer
        case .sleeping(let sleepKey): key = sleepKey
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let asleep = book.withLock { book in
                    switch decide(&book) {
                    case .answer(let answer):
                        continuation.resume(returning: answer)
                        return false
                    case .sleep(let reason, let deadline):
                        book.sleepers.add(key, reason, continuation)
                        if let deadline {
                            book.sleepers.setTimer(loop.scheduleTask(deadline: deadline) { self.endSleep(key) }, for: key)
                        }
                        return true
                    }
                }
                // Cancelled before the handler was installed: it found nothing to end.
                if asleep && Task.isCancelled { endSleep(key) }
            }
        } onCancel: {
            self.endSleep(key)
        }
    }

    /// Ends one sleep at its deadline or cancellation, if it still sleeps.
    private func endSleep(_ key: UInt64) {
        book.withLock { $0.sleepers.remove(key) }?.resume(woken: false)
    }

    /// Wakes everyone who sleeps for `reason`.
    func wake(_ reason: SleepReason) {
        book.withLock { $0.sleepers.removeAll(reason) }.resume(woken: true)
    }

    /// Wakes every idle worker (a reload, an operator's retry or release).
    func wakeAllWorkers() {
        book.withLock { book in
            book.sleepers.removeAll { if case .work = $0 { true } else { false } }
        }.resume(woken: true)
    }

    /// A deadline `seconds` from now on the event loops' clock, at least a millisecond
    /// ahead (a due time just passed is looked at again, not spun on), at most 30 years.
    static func deadline(in seconds: Double) -> NIODeadline {
        NIODeadline.now() + .nanoseconds(Int64(Swift.min(Swift.max(seconds, 0.001), 1e9) * 1e9))
    }
}
