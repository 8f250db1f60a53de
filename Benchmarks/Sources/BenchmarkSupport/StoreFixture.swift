import ArchiveStore
import Foundation
import Logging
import NIOCore

/// An `ArchiveStore` on tmpfs for the benchmarks that need one, in the state a node's
/// store is in after its first traffic: a compression dictionary trained from real mail
/// and no more dictionary sampling in the drafts.
///
/// tmpfs makes `fdatasync` nearly free, so what a commit costs beyond it (record append,
/// index insert, continuations) is what gets measured. That is the "without fsync" figure:
/// production code has no switch to skip the sync, and should not get one for this.
public final class StoreFixture: @unchecked Sendable {
    public private(set) var store: ArchiveStore?
    private var directory: String?
    private var sequence = 0

    public init() {}

    /// Opens a new store and trains its dictionary on the corpus without `excluded`, so
    /// the message measured is not in the dictionary it is compressed with (as for new
    /// mail on a running node).
    public func open(excluding excluded: String) async throws {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let path = base + "/archiverelay-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        directory = path
        var store = try await ArchiveStore.open(dataDirectory: path, logger: Self.logger)
        // The first training starts at 256 KiB of samples, on its own thread: feed the
        // corpus, then wait for the dictionary.
        let training = Corpus.messages.filter { $0.name != excluded }
        for message in training { _ = try await store.commit(finish(message.bytes, in: store)) }
        let deadline = ContinuousClock.now + .seconds(60)
        while store.compressionDictionaryID == nil {
            guard ContinuousClock.now < deadline else { throw FixtureError.noDictionary }
            try await Task.sleep(for: .milliseconds(10))
        }
        // One record compressed with it puts the dictionary into a segment; reopening then
        // resumes with it and ends the sampling the first trainings still do.
        _ = try await store.commit(finish(training[0].bytes, in: store))
        try await store.close()
        store = try await ArchiveStore.open(dataDirectory: path, logger: Self.logger)
        guard store.compressionDictionaryID != nil else { throw FixtureError.noDictionary }
        self.store = store
    }

    /// A finished message: `bytes` behind a unique `X-Benchmark-Sequence` header, so no
    /// two are duplicates the store would skip writing.
    public func finish(_ bytes: [UInt8], in store: ArchiveStore) throws -> FinishedMessage {
        sequence += 1
        var draft = try store.makeDraft(envelope: Self.envelope(sequence))
        try draft.append(bytes: Array("X-Benchmark-Sequence: \(sequence)\r\n".utf8))
        return try BenchmarkSupport.finish(draft, with: bytes)
    }

    public func close() async throws {
        defer { directory = nil }
        try await store?.close()
        store = nil
        guard let directory else { return }
        // The index's SQLite connection closes only when the last reference to the store
        // goes, on whichever thread drops it; deleting its -wal and -shm files then fails a
        // removal that listed them. Try again rather than leave 20 MB in /dev/shm.
        for _ in 0..<50 where FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.removeItem(atPath: directory)
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// An envelope as the listener builds it: two recipients and one trace header.
    public static func envelope(_ n: Int) -> ArchiveEnvelope {
        ArchiveEnvelope(
            receivedAt: Date(), listener: "smtp", clientAddress: "192.0.2.\(n % 250):40\(n % 100)",
            helo: "mx.example.test", tls: "TLSv1.3 TLS_AES_128_GCM_SHA256",
            sender: "sender\(n % 7)@example.test", recipients: ["archive@example.test", "r\(n % 50)@example.test"],
            traceHeaders: "Received: from mx.example.test (mx.example.test [192.0.2.\(n % 250)])\r\n\tby relay.example.test with ESMTPS id \(n)\r\n"
        )
    }

    static let logger: Logger = {
        var logger = Logger(label: "archiverelay-benchmarks")
        logger.logLevel = .critical
        return logger
    }()

    enum FixtureError: Error { case noDictionary }
}

/// Feeds `bytes` to `draft` in 16 KiB chunks, the listener's first read size, and
/// finishes the record.
public func finish(_ draft: consuming MessageDraft, with bytes: [UInt8]) throws -> FinishedMessage {
    var draft = draft
    for chunk in chunks(of: bytes, size: 16 << 10) { try draft.append(chunk) }
    return try draft.finish()
}
