import Foundation

/// A source of jitter in `[0, 1)`; tests inject a fixed sequence.
public protocol JitterSource: Sendable {
    func next() -> Double
}

/// The system random generator.
public struct RandomJitter: JitterSource {
    public init() {}
    public func next() -> Double { Double.random(in: 0..<1) }
}

/// Exponential backoff with jitter: after the n-th failure (n ≥ 1) the nominal delay is
/// `min × 2^(n-1)`, capped at `max`; the actual delay is drawn from the upper half of it
/// ("equal jitter"), never below `min`. Half the spread keeps probes of many nodes from
/// lining up while a peer restarts, and the lower bound keeps the schedule predictable.
public struct Backoff: Sendable, Equatable {
    public var minimum: TimeInterval
    public var maximum: TimeInterval

    public init(minimum: TimeInterval, maximum: TimeInterval) {
        self.minimum = max(0.001, minimum)
        self.maximum = max(self.minimum, maximum)
    }

    /// The nominal (unjittered) delay after `failures` consecutive failures.
    public func nominal(afterFailures failures: Int) -> TimeInterval {
        guard failures > 0 else { return 0 }
        let exponent = min(failures - 1, 62)
        let delay = minimum * pow(2, Double(exponent))
        return min(maximum, delay)
    }

    /// The delay to wait, with `jitter` in `[0, 1)` choosing a point in the upper half.
    public func delay(afterFailures failures: Int, jitter: Double) -> TimeInterval {
        let nominal = nominal(afterFailures: failures)
        guard nominal > 0 else { return 0 }
        let fraction = min(max(jitter, 0), 1)
        return max(minimum, nominal / 2 + nominal / 2 * fraction)
    }
}
