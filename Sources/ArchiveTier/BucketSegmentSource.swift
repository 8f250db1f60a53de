import ArchiveStore
import DurableFiles
import Foundation
import NIOCore
import NIOPosix
import ObjectStorage
import SessionTransport

/// Reads evicted segments from the tier's bucket with ranged GETs (`RemoteSegmentSource`,
/// docs/FORMAT.md "Evicted segments"), of the version the stub names.
///
/// Its callers are synchronous (reader threads, the `archive` commands), so each read runs
/// as a task on an event loop of the source's own and the calling thread waits for it.
/// Nothing it waits for needs a thread the caller may be holding: not Swift's cooperative
/// pool, not the process's other event loops.
public final class BucketSegmentSource: RemoteSegmentSource {
    private let configuration: S3Configuration
    /// Made at the first read: a command that reads no evicted segment needs neither
    /// credentials nor a thread.
    private let connection = LockedValue<Connection?>(nil)
    /// The endpoint as errors name it.
    public let endpoint: String

    private struct Connection: Sendable {
        var client: S3Client
        var group: MultiThreadedEventLoopGroup
        var executor: EventLoopTaskExecutor
    }

    public init(configuration: S3Configuration) {
        self.configuration = configuration
        let end = configuration.endpoint
        endpoint = "\(end.useTLS ? "https" : "http")://\(end.host):\(end.port)"
    }

    deinit { shutdown() }

    public func read(_ segment: EvictedSegment, at physicalOffset: Int, count: Int) throws -> [UInt8] {
        guard let range = ByteRange(offset: Int64(physicalOffset), count: Int64(count)) else { return [] }
        do {
            let connection = try connected()
            return try Self.wait(on: connection.executor) {
                var buffer = try await connection.client.getObject(key: segment.key, range: range, versionID: segment.versionID)
                return buffer.readBytes(length: buffer.readableBytes) ?? []
            }
        } catch {
            throw BucketReadError(key: segment.key, versionID: segment.versionID, endpoint: endpoint, reason: "\(error)")
        }
    }

    /// Closes the connections and stops the source's thread (a later read starts them again).
    public func shutdown() {
        guard let open = connection.withLock({ open in defer { open = nil }; return open }) else { return }
        _ = try? Self.wait(on: open.executor) { try await open.client.shutdown() }
        try? open.group.syncShutdownGracefully()
    }

    private func connected() throws -> Connection {
        try connection.withLock { open in
            if let open { return open }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            do {
                let made = Connection(client: try S3Client(configuration: configuration, eventLoopGroup: group), group: group,
                                      executor: EventLoopTaskExecutor(group.next()))
                open = made
                return made
            } catch {
                try? group.syncShutdownGracefully()
                throw error
            }
        }
    }

    /// Runs `work` on the source's own event loop and waits for its result. Called on that
    /// loop it would wait for itself: refused instead.
    private static func wait<T: Sendable>(on executor: EventLoopTaskExecutor,
                                          _ work: @escaping @Sendable () async throws -> T) throws -> T {
        guard !executor.eventLoop.inEventLoop else { throw CancellationError() }
        let outcome = LockedValue<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: executor) {
            let result: Result<T, any Error>
            do { result = .success(try await work()) } catch { result = .failure(error) }
            outcome.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        guard let result = outcome.withLock({ $0 }) else { throw CancellationError() }
        return try result.get()
    }
}

/// A ranged read of an evicted segment failed: which object, from where, and why.
public struct BucketReadError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var versionID: String?
    public var endpoint: String
    public var reason: String

    public var description: String {
        "reading \(key)" + (versionID.map { " (version \($0))" } ?? "") + " from \(endpoint): \(reason)"
    }
}
