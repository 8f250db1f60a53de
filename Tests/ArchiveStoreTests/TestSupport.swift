import DurableFiles
import Foundation
import Logging
import NIOCore
@testable import ArchiveStore
import TestRandom
import TestSupport

let testLogger: Logger = {
    var logger = Logger(label: "archive-test")
    logger.logLevel = .critical
    return logger
}()

/// Real messages from the read-only SpamAssassin corpus (falls back to synthetic mail
/// when the corpus is absent so the tests still exercise the store).
enum Corpus {
    static let directory = "/work/shared/corpus/spamassassin"

    static let messages: [[UInt8]] = {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0 != "LICENSE.txt" }.sorted()
        let loaded = names.compactMap { FileManager.default.contents(atPath: directory + "/" + $0).map { [UInt8]($0) } }
        return loaded.isEmpty ? (0..<20).map { synthetic($0) } : loaded
    }()

    static func synthetic(_ n: Int, bodyLines: Int = 20) -> [UInt8] {
        var text = "Message-ID: <msg-\(n)-\(UUID().uuidString)@example.test>\r\nSubject: test \(n)\r\nFrom: a@example.test\r\n\r\n"
        for i in 0..<bodyLines { text += "line \(i) of message \(n)\r\n" }
        return Array(text.utf8)
    }
}

/// `count` reproducible random (incompressible) bytes.
func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

func envelope(_ n: Int = 0, at date: Date? = nil) -> ArchiveEnvelope {
    ArchiveEnvelope(
        receivedAt: date ?? Date(timeIntervalSince1970: 1_700_000_000 + Double(n) * 60), listener: "journal", clientAddress: "192.0.2.\(n % 250):2525", helo: "mx.example.test",
        tls: n.isMultiple(of: 2) ? "TLSv1.3 TLS_AES_128_GCM_SHA256" : nil,
        sender: "sender\(n % 3)@example.test", recipients: ["r\(n)@example.test", "audit@example.test"],
        traceHeaders: "Received: from mx.example.test by archiverelay; \(n)\r\n"
    )
}

/// Feeds `bytes` to a draft in chunks of `chunkSize`, as the listener would.
func finished(_ bytes: [UInt8], envelope env: ArchiveEnvelope, chunkSize: Int = 1000, level: Int = 3,
              budget: InflightBudget? = nil) throws -> FinishedMessage {
    var draft = try MessageDraft(envelope: env, compressionLevel: level, budget: budget)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + chunkSize)
        var buffer = ByteBufferAllocator().buffer(capacity: end - start)
        buffer.writeBytes(bytes[start..<end])
        try draft.append(buffer)
        start = end
    }
    return try draft.finish()
}

func openStore(_ dir: String, options: ArchiveStoreOptions = ArchiveStoreOptions()) async throws -> ArchiveStore {
    try await ArchiveStore.open(dataDirectory: dir, options: options, logger: testLogger)
}

@discardableResult
func commit(_ store: ArchiveStore, _ bytes: [UInt8], _ n: Int = 0) async throws -> ArchiveReceipt {
    try await store.commit(finished(bytes, envelope: envelope(n)))
}

/// Twenty messages over several segments of 8 KiB, the store closed (everything indexed).
func rotatedArchive(_ dir: String) async throws -> [ArchiveReceipt] {
    var options = ArchiveStoreOptions()
    options.maxSegmentBytes = 8 << 10
    let store = try await openStore(dir, options: options)
    var receipts: [ArchiveReceipt] = []
    for n in 0..<20 { receipts.append(try await commit(store, Corpus.messages[n], n)) }
    try await store.close()
    return receipts
}

func segmentPaths(_ dir: String) -> [String] {
    let archive = dir + "/archive"
    return ((try? FileManager.default.contentsOfDirectory(atPath: archive)) ?? [])
        .filter { $0.hasSuffix(".seg") }.sorted().map { archive + "/" + $0 }
}

/// A free-space probe (`ArchiveStoreOptions.freeSpaceProbe`) reporting plenty of space,
/// counting the writer thread's wakes: it probes each time it wakes, at most once per
/// `freeSpaceRecheckInterval`. With nothing queued it wakes only at its idle timeout, once
/// it has no zeros left to write ahead, so a probe that begins after a commit returned
/// shows the idle writer has settled (and its next idle timeout is a full tick away).
final class WriterWakes: Sendable {
    private let count = LockedValue(0)
    var probe: @Sendable (String) throws -> UInt64 { { [count] _ in count.withLock { $0 += 1 }; return 1 << 40 } }
    var seen: Int { count.withLock { $0 } }

    /// Waits for a probe that begins after this call; whether one came.
    func next() async throws -> Bool {
        let before = seen
        return try await eventually { self.seen > before }
    }
}

/// Fails the syncs of one kind while armed, the group commit's (`beforeSync`) or those of
/// the zeros written ahead while idle (`beforeIdleSync`); counts the calls of that kind.
final class SyncFault: DurableFaultInjector, @unchecked Sendable {
    enum Kind { case commit, idle }
    private let kind: Kind
    private let lock = NSLock()
    private var armed = false
    private var count = 0
    struct Injected: Error {}
    init(_ kind: Kind = .commit) { self.kind = kind }
    func arm(_ on: Bool) { lock.withLock { armed = on } }
    var calls: Int { lock.withLock { count } }
    func beforeSync() throws { try check(.commit) }
    func beforeIdleSync() throws { try check(.idle) }
    private func check(_ called: Kind) throws {
        guard called == kind else { return }
        try lock.withLock {
            count += 1
            if armed { throw Injected() }
        }
    }
}

/// A settable free-space value for the injected probe.
final class FakeDisk: @unchecked Sendable {
    private let lock = NSLock()
    private var free: UInt64
    init(free: UInt64) { self.free = free }
    func set(_ value: UInt64) { lock.lock(); free = value; lock.unlock() }
    var probe: @Sendable (String) throws -> UInt64 { { [self] _ in lock.lock(); defer { lock.unlock() }; return free } }
}
