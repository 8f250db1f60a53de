import Benchmark
import BenchmarkSupport
import Crypto

/// SHA-256 as `MessageDraft` computes it: one hasher fed each received chunk.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        maxDuration: .seconds(3)
    )
    for (label, size) in [("10 KB", 10_000), ("1 MB", 1 << 20)] {
        let message = chunks(of: Corpus.body(size: size), size: 16 << 10)
        Benchmark("SHA-256, \(label) message in 16 KiB chunks") { benchmark in
            for _ in benchmark.scaledIterations {
                var hasher = SHA256()
                for chunk in message {
                    chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                }
                blackHole(hasher.finalize())
            }
        }
    }
}
