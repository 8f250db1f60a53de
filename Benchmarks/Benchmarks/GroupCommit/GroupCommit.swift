import ArchiveStore
import Benchmark
import BenchmarkSupport

let batch = 64

/// 64 sessions finishing their messages at once, each waiting for its own commit: the
/// store's writer groups them under as few fdatasyncs as it can. The store is on tmpfs,
/// so the figure is the commit path without the disk (see `StoreFixture`).
let benchmarks: @Sendable () -> Void = {
    let message = Corpus.message(near: 10_000)
    let fixture = StoreFixture()
    Benchmark(
        "Group commit, \(batch) concurrent commits of \(message.bytes.count) B (tmpfs)",
        configuration: .init(
            // fdatasync batches it took: 1 when the writer caught all 64 in one group.
            metrics: [.wallClock, .mallocCountTotal, .custom("sync batches", useScalingFactor: false)],
            maxDuration: .seconds(5),
            maxIterations: 1000
        )
    ) { benchmark in
        guard let store = fixture.store else { fatalError("fixture not open") }
        // The records are built outside the measurement: that is the encoding benchmark.
        let messages = try (0..<batch).map { _ in try fixture.finish(message.bytes, in: store) }
        benchmark.startMeasurement()
        let receipts = try await withThrowingTaskGroup(of: ArchiveReceipt.self) { group in
            for finished in messages { group.addTask { try await store.commit(finished) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        benchmark.stopMeasurement()
        precondition(receipts.allSatisfy { !$0.isDuplicate })
        // Each receipt names the size of its batch, so the sizes' reciprocals add up to
        // the number of batches.
        let batches = receipts.reduce(0.0) { $0 + 1 / Double($1.batchSize) }
        benchmark.measurement(.custom("sync batches", useScalingFactor: false), Int(batches.rounded()))
    } setup: {
        try await fixture.open(excluding: message.name)
    } teardown: {
        try await fixture.close()
    }
}
