import Foundation

/// A value behind a pthread mutex (NSLock): the one lock type of the relay's modules.
/// Used instead of `Synchronization.Mutex`, whose Linux implementation waits on raw
/// futexes that ThreadSanitizer cannot see, so every correctly locked access showed up
/// as a race in `make sanitize`.
package final class LockedValue<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    package init(_ value: Value) { self.value = value }

    package func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
