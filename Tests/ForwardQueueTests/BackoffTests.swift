import Foundation
import Testing
@testable import ForwardQueue

/// Jitter from a fixed list, for schedules that must come out the same every run.
struct FixedJitter: JitterSource {
    let value: Double
    func next() -> Double { value }
}

@Suite struct BackoffTests {
    static let schedule: [(failures: Int, jitter: Double, expected: TimeInterval)] = [
        (0, 0.5, 0),
        (1, 0.0, 1),      // half of 1 s is below the minimum: clamped to 1
        (1, 0.99, 1),
        (2, 0.0, 1),      // nominal 2: [1, 2)
        (2, 0.5, 1.5),
        (3, 0.0, 2),      // nominal 4: [2, 4)
        (3, 1.0, 4),
        (5, 0.5, 12),     // nominal 16
        (9, 0.0, 128),    // nominal 256
        (10, 0.0, 150),   // nominal capped at 300
        (10, 1.0, 300),
        (1000, 0.5, 225), // no overflow far out
    ]

    @Test(arguments: schedule)
    func delayFollowsTheSchedule(_ row: (failures: Int, jitter: Double, expected: TimeInterval)) {
        let backoff = Backoff(minimum: 1, maximum: 300)
        #expect(abs(backoff.delay(afterFailures: row.failures, jitter: row.jitter) - row.expected) < 1e-9)
    }

    @Test func delayStaysWithinBoundsForAnyJitter() {
        let backoff = Backoff(minimum: 1, maximum: 300)
        for failures in 1...40 {
            for step in 0..<10 {
                let delay = backoff.delay(afterFailures: failures, jitter: Double(step) / 10)
                #expect(delay >= 1 && delay <= 300)
                #expect(delay <= backoff.nominal(afterFailures: failures))
            }
        }
    }
}
