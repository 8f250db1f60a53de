import DurableFiles
import Foundation

/// The memory that messages on their way into the archive hold together: the record
/// blocks (`RecordBuffer`) of open drafts and of finished messages not yet committed. A
/// draft whose next block would pass the limit writes the rest of its record to a spill
/// file in the data directory instead (docs/ARCHITECTURE.md, "Messages in flight"), so the
/// node's memory does not grow with the number and size of concurrent messages, whatever
/// their content: incompressible mail holds as many bytes as it has.
public final class InflightBudget: Sendable {
    /// 256 MiB: five incompressible messages of the default 50 MiB limit, or some 70,000
    /// records of typical mail (3.5 KB stored), held in memory before anything spills.
    public static let defaultLimit = 256 << 20
    /// Memory only and no limit: for drafts made without a store (tests, tools).
    static let unlimited = InflightBudget(limit: .max, spillDirectory: nil, metrics: nil)

    /// What the budget holds now and has held.
    public struct Usage: Sendable, Equatable {
        /// Bytes of record blocks in memory.
        public var held = 0
        /// The most `held` has been since the store opened.
        public var peak = 0
        /// Bytes in spill files.
        public var spilled = 0
        /// Drafts that went on in a spill file, since the store opened.
        public var spills = 0
    }

    public let limit: Int
    /// Where spill files are made; nil for a budget that never refuses memory.
    let spillDirectory: String?
    private let state = LockedValue(Usage())
    private let metrics: ArchiveMetrics?

    init(limit: Int, spillDirectory: String?, metrics: ArchiveMetrics?) {
        self.limit = max(0, limit)
        self.spillDirectory = spillDirectory
        self.metrics = metrics
    }

    public var usage: Usage { state.withLock { $0 } }

    /// Takes `bytes` for a block if they fit under the limit.
    func take(_ bytes: Int) -> Bool {
        state.withLock { usage in
            guard bytes <= limit - usage.held else { return false }
            usage.held += bytes
            metrics?.inflightBytes.record(usage.held)
            if usage.held > usage.peak {
                usage.peak = usage.held
                metrics?.inflightPeak.record(usage.peak)
            }
            return true
        }
    }

    /// A record's bytes are gone: `memory` of blocks, `spilled` of its spill file.
    func release(memory: Int, spilled: Int) {
        guard memory > 0 || spilled > 0 else { return }
        state.withLock { usage in
            usage.held -= memory
            usage.spilled -= spilled
            metrics?.inflightBytes.record(usage.held)
            metrics?.inflightSpilledBytes.record(usage.spilled)
        }
    }

    func addSpilled(_ bytes: Int) {
        state.withLock { usage in
            usage.spilled += bytes
            metrics?.inflightSpilledBytes.record(usage.spilled)
        }
    }

    /// A new spill file for one record, readable and writable by this user only. Its name
    /// is removed at once: the bytes go with the descriptor, at commit or abandon, and a
    /// crash leaves nothing behind (`prepareSpillDirectory` clears the rare exception).
    func makeSpillFile() throws -> SystemFile {
        guard let spillDirectory else {
            throw FileIOError(operation: "open", path: "(a draft without a spill directory)", errno: ENOENT)
        }
        // O_EXCL and O_NOFOLLOW: never an existing file, never through a planted link.
        let path = spillDirectory + "/draft-" + UUID().uuidString.lowercased()
        let file = try SystemFile.open(path, flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        _ = Glibc.unlink(path)
        state.withLock { $0.spills += 1 }
        metrics?.draftSpills.increment()
        return file
    }

    /// Makes the spill directory (0700) or empties what a crash left in it. Called at
    /// open, with the archive's lock held, before any draft exists.
    static func prepareSpillDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw FileIOError(operation: "mkdir", path: path, errno: errno)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw FileIOError(operation: "lstat", path: path, errno: errno) }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw FileIOError(operation: "mkdir", path: path, errno: ENOTDIR) }
        for name in try FileManager.default.contentsOfDirectory(atPath: path) where name.hasPrefix("draft-") {
            try Durable.unlinkIfPresent(path + "/" + name, faults: nil)
        }
    }
}
