import ArchiveStore
import Benchmark
import BenchmarkSupport

let storedBytes = BenchmarkMetric.custom("stored bytes", useScalingFactor: false)

/// A finished record for a real ~10 KB message: SHA-256, zstd level 3 (the default),
/// header scan for Message-ID and Subject, metadata section, checksums.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        // The record's size on disk tells what the dictionary buys for the time it costs.
        metrics: [.wallClock, .mallocCountTotal, .throughput, storedBytes],
        scalingFactor: .one,
        maxDuration: .seconds(3)
    )
    let message = Corpus.message(near: 10_000)
    let envelope = StoreFixture.envelope(1)

    Benchmark("Record encoding, \(message.bytes.count) B message, zstd 3, no dictionary") { benchmark in
        for _ in benchmark.scaledIterations {
            let draft = try MessageDraft(envelope: envelope, compressionLevel: 3)
            benchmark.measurement(storedBytes, try finish(draft, with: message.bytes).storedSize)
        }
    }

    // A node compresses with the dictionary its store trained; the only public way to
    // such a draft is the store's own, so this one needs a (tmpfs) store.
    let fixture = StoreFixture()
    Benchmark("Record encoding, \(message.bytes.count) B message, zstd 3, trained dictionary") { benchmark in
        guard let store = fixture.store else { fatalError("fixture not open") }
        for _ in benchmark.scaledIterations {
            benchmark.measurement(storedBytes, try finish(store.makeDraft(envelope: envelope), with: message.bytes).storedSize)
        }
    } setup: {
        try await fixture.open(excluding: message.name)
    } teardown: {
        try await fixture.close()
    }
}
