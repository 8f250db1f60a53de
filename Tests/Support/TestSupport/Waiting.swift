import Foundation

/// How the environment stretches the tests' limits.
public enum TestScale {
    /// `make soak` sets ARCHIVERELAY_SOAK (default 1): the volume fault tests multiply
    /// their kills and messages, and their time limits, by it.
    public static let soak = max(1, ProcessInfo.processInfo.environment["ARCHIVERELAY_SOAK"].flatMap(Int.init) ?? 1)

    /// `make sanitize` sets ARCHIVERELAY_TIME_SCALE: tests run 5-15x slower under a
    /// sanitizer (and so does every node binary they start). Default: the soak factor.
    public static let time = max(1, ProcessInfo.processInfo.environment["ARCHIVERELAY_TIME_SCALE"].flatMap(Int.init) ?? soak)
}

/// Seconds a wait gives what takes well under a second on an idle machine (a condition in
/// the process, a node starting or stopping, a copy reaching its peer): CI runs the whole
/// suite in parallel on two shared cores, where a thread can wait seconds for its turn. A
/// wait checks the outcome; only a hang takes this long.
public let patience = 60 * TestScale.time

/// Polls `condition` until it holds or `seconds` pass; whether it held. The pause between
/// polls grows from 10 ms to 200 ms: quick outcomes are seen at once, and a slow condition
/// (one that runs a CLI) is not run back to back. It sleeps, so it holds no thread of the
/// cooperative pool; it throws when the task is cancelled.
public func eventually(within seconds: Int = patience, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    var pause = Duration.milliseconds(10)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: pause)
        pause = min(pause * 2, .milliseconds(200))
    }
    return try await condition()
}
