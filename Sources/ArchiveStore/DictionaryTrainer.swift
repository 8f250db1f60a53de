import DurableFiles
import Foundation
import Logging

/// Trains the archive's zstd dictionary from the node's own recent traffic and hands the
/// newest one to new drafts.
///
/// Schedule: samples (each packed message's first `sampleLimit` bytes, and the encoded
/// metadata of its message record and of its arrival record, which the dictionary also
/// compresses) are collected from the start; a dictionary is
/// trained when they reach 256 KiB, again at 2 MiB and at 8 MiB,
/// so a new node benefits within its first few dozen messages and then settles on a
/// dictionary trained from thousands. After that the dictionary is renewed from fresh
/// samples every `retrainAfterBytes` of traffic, so it follows changes in the mail mix.
/// Training runs on its own thread; drafts never wait for it. A node restarted keeps
/// using the newest dictionary stored in its archive.
final class DictionaryTrainer: Sendable {
    static let sampleLimit = 32 << 10
    static let schedule = [256 << 10, 2 << 20, 8 << 20]
    /// Largest dictionary trained; zstd's own default size, enough for header boilerplate.
    static let maximumSize = 112 << 10

    private struct State {
        var current: ZstdDictionary?
        var samples: [[UInt8]] = []
        var sampleBytes = 0
        /// Index into `schedule` of the next training; `schedule.count` once settled.
        var stage = 0
        var collecting = true
        var training = false
        var bytesSinceTraining: UInt64 = 0
    }

    private let state = LockedValue(State())
    private let level: Int32
    private let retrainAfterBytes: UInt64
    private let logger: Logger
    let enabled: Bool

    init(options: ArchiveStoreOptions, logger: Logger) {
        self.level = Int32(options.compressionLevel)
        self.retrainAfterBytes = UInt64(max(options.maxSegmentBytes, 1 << 20))
        self.logger = logger
        self.enabled = options.trainsDictionary
    }

    /// Continues with the dictionary found in the archive at open, if any: the training
    /// schedule counts as done, the next renewal comes after `retrainAfterBytes`.
    func resume(with dictionary: ZstdDictionary?) {
        guard let dictionary else { return }
        state.withLock {
            $0.current = dictionary
            $0.stage = Self.schedule.count
            $0.collecting = false
        }
    }

    /// What a new draft compresses with, and how many leading bytes it should keep.
    func draftParameters() -> (dictionary: ZstdDictionary?, sampleLimit: Int) {
        state.withLock { ($0.current, enabled && $0.collecting ? Self.sampleLimit : 0) }
    }

    /// Takes a finished message's sample and size; starts a training when one is due.
    func offer(_ message: FinishedMessage) {
        // The message record's metadata holds the first arrival; a later arrival's record
        // is the arrival alone. Both are compressed with the dictionary.
        let metadata = message.sample.isEmpty ? [] : [RecordCodec.encodeMetadata(message.metadata, arrival: message.arrival)]
        offer(sample: message.sample, metadata: metadata, size: message.originalSize)
    }

    private func offer(sample: [UInt8], metadata: [[UInt8]], size: UInt64) {
        guard enabled else { return }
        let job: [[UInt8]]? = state.withLock { s in
            s.bytesSinceTraining += size
            if !s.collecting, s.stage >= Self.schedule.count, s.bytesSinceTraining >= retrainAfterBytes, !s.training {
                s.collecting = true   // renewal: gather a fresh set
            }
            guard s.collecting, !sample.isEmpty else { return nil }
            s.samples.append(sample)
            s.samples += metadata
            s.sampleBytes += sample.count + metadata.reduce(0) { $0 + $1.count }
            let target = Self.schedule[min(s.stage, Self.schedule.count - 1)]
            guard s.sampleBytes >= target, !s.training else { return nil }
            s.training = true
            return s.samples
        }
        guard let job else { return }
        // At niceness 10: a training takes tens to hundreds of milliseconds of CPU, which
        // at normal priority held up sessions and commits (a 4 ms stall of the event
        // loops in a latency run); a busy node trains a little later instead. Not 19:
        // under the parallel test suite a training then waited for CPU for over 5 s.
        DedicatedThread.start(name: "archive-dict", niceness: 10) { [self] in train(job) }
    }

    private func train(_ samples: [[UInt8]]) {
        let total = samples.reduce(0) { $0 + $1.count }
        // Half the sample volume: measured on the shared corpus, a larger dictionary from
        // few samples still beats a smaller one (bench/corpus_ratio.py).
        let capacity = min(Self.maximumSize, max(16 << 10, total / 2))
        let started = ContinuousClock.now
        let dictionary = ZstdDictionary.train(samples: samples, capacity: capacity, compressionLevel: level)
        state.withLock { s in
            s.training = false
            s.stage = min(s.stage + 1, Self.schedule.count)
            if s.stage >= Self.schedule.count {
                s.collecting = false
                s.samples = []
                s.sampleBytes = 0
                s.bytesSinceTraining = 0
            }
            if let dictionary { s.current = dictionary }
        }
        let elapsed = ContinuousClock.now - started
        if let dictionary {
            logger.info("archive compression dictionary trained", metadata: [
                "dictionary": "\(dictionary.id)", "bytes": "\(dictionary.bytes.count)",
                "samples": "\(samples.count)", "sample_bytes": "\(total)", "elapsed": "\(elapsed)",
            ])
        } else {
            logger.notice("archive compression dictionary not trained (samples too few or too random)", metadata: ["samples": "\(samples.count)"])
        }
    }
}
