import CZstd
import DurableFiles
import Synchronization

/// A zstd dictionary trained from the node's own recent traffic. Small messages share
/// most of their header text (Received chains, MIME boilerplate, mailer names); a
/// dictionary lets each message's frame refer to that text instead of repeating it.
///
/// Immutable after creation, so it is shared freely between drafts and the writer. The
/// prepared compression and decompression tables are built once.
public final class ZstdDictionary: @unchecked Sendable, Equatable {
    /// zstd's dictionary id (in the dictionary's own header); nonzero.
    public let id: UInt32
    /// The dictionary exactly as stored in a dictionary record.
    public let bytes: [UInt8]
    let compressionTable: OpaquePointer?
    let decompressionTable: OpaquePointer
    /// Drafts and finished messages compressed with this dictionary that are not yet
    /// written (see `DictionaryLease`).
    let unwritten = Atomic<Int>(0)

    /// Wraps stored dictionary bytes; nil when they are not a zstd dictionary.
    /// - Parameter compressionLevel: level for compressing with it; nil for read-only use.
    init?(bytes: [UInt8], compressionLevel: Int32?) {
        let id = bytes.withUnsafeBytes { ZDICT_getDictID($0.baseAddress, $0.count) }
        guard id != 0 else { return nil }
        guard let ddict = bytes.withUnsafeBytes({ ZSTD_createDDict($0.baseAddress, $0.count) }) else { return nil }
        var cdict: OpaquePointer?
        if let level = compressionLevel {
            cdict = bytes.withUnsafeBytes { ZSTD_createCDict($0.baseAddress, $0.count, level) }
            if cdict == nil {
                ZSTD_freeDDict(ddict)
                return nil
            }
        }
        self.id = id
        self.bytes = bytes
        self.compressionTable = cdict
        self.decompressionTable = ddict
    }

    public static func == (a: ZstdDictionary, b: ZstdDictionary) -> Bool { a.id == b.id && a.bytes == b.bytes }

    deinit {
        if let compressionTable { ZSTD_freeCDict(compressionTable) }
        ZSTD_freeDDict(decompressionTable)
    }

    /// Up to this much sample data the dictionary is trained with COVER, beyond it with
    /// fastCOVER (zstd's default): COVER's search costs about 1 s of CPU per MiB of samples
    /// (fastCOVER 0.15 s), and a busy node renews its dictionary from 8 MiB of samples
    /// every 256 MiB of traffic.
    static let exactTrainingLimit = 1 << 20

    /// One COVER training at a time in the process: libzstd 1.5.4 (Debian 12) keeps
    /// COVER's sort context in a global variable (later versions use qsort_r), and two
    /// trainings at once (stores open side by side, as in the tests) crashed inside it.
    private static let coverTraining = LockedValue(())

    /// Trains a dictionary of at most `capacity` bytes from message prefixes. Returns nil
    /// when zstd finds nothing worth keeping (too few or too random samples).
    static func train(samples: [[UInt8]], capacity: Int, compressionLevel: Int32) -> ZstdDictionary? {
        guard samples.count >= 8 else { return nil }
        let joined = samples.flatMap { $0 }
        let sizes = samples.map { $0.count }
        var dictionary = [UInt8](repeating: 0, count: capacity)
        let produced = dictionary.withUnsafeMutableBytes { out in
            joined.withUnsafeBytes { input in
                if joined.count <= exactTrainingLimit {
                    // COVER with a short search (d = 8, 8 values of k): a better dictionary
                    // than zstd's default (fastCOVER) on the shared corpus for a little more
                    // training time (bench/README.md, "Figures behind the code").
                    var parameters = ZDICT_cover_params_t()
                    parameters.d = 8
                    parameters.steps = 8
                    parameters.nbThreads = 1
                    parameters.zParams.compressionLevel = compressionLevel
                    return coverTraining.withLock { _ in
                        ZDICT_optimizeTrainFromBuffer_cover(out.baseAddress, capacity, input.baseAddress, sizes,
                                                            UInt32(sizes.count), &parameters)
                    }
                }
                return ZDICT_trainFromBuffer(out.baseAddress, capacity, input.baseAddress, sizes, UInt32(sizes.count))
            }
        }
        guard ZDICT_isError(produced) == 0, produced > 0 else { return nil }
        return ZstdDictionary(bytes: Array(dictionary[0..<produced]), compressionLevel: compressionLevel)
    }
}

/// Marks one message compressed with `dictionary` and not yet in a segment. When the
/// writer switches segments for a newer dictionary it carries the old one along only if
/// such messages still exist.
final class DictionaryLease: Sendable {
    let dictionary: ZstdDictionary

    init(_ dictionary: ZstdDictionary) {
        self.dictionary = dictionary
        dictionary.unwritten.add(1, ordering: .relaxed)
    }

    deinit { dictionary.unwritten.subtract(1, ordering: .relaxed) }
}

/// One-shot zstd for the small metadata section of a record, with the record's dictionary.
enum ZstdSection {
    static func compress(_ input: [UInt8], dictionary: ZstdDictionary?, level: Int32) throws(ZstdError) -> [UInt8] {
        guard let resources = ZstdCompressionResources.pool.take() else { throw ZstdError(reason: "ZSTD_createCCtx failed") }
        defer { ZstdCompressionResources.pool.give(resources) }
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let capacity = output.count
        let written = output.withUnsafeMutableBytes { out in
            input.withUnsafeBytes { src in
                if let table = dictionary?.compressionTable {
                    // The frame keeps its content size (the reader bounds its allocation by
                    // it) but not the dictionary id: the record header names the dictionary.
                    let context = resources.context
                    let referenced = ZSTD_CCtx_refCDict(context, table)
                    guard ZSTD_isError(referenced) == 0 else { return referenced }
                    let flagged = ZSTD_CCtx_setParameter(context, ZSTD_c_dictIDFlag, 0)
                    guard ZSTD_isError(flagged) == 0 else { return flagged }
                    return ZSTD_compress2(context, out.baseAddress, capacity, src.baseAddress, src.count)
                }
                return ZSTD_compressCCtx(resources.context, out.baseAddress, capacity, src.baseAddress, src.count, level)
            }
        }
        output.removeSubrange(try ZstdError.check(written)...)
        return output
    }

    /// Decompresses a frame that records its content size, refusing anything over `limit`.
    static func decompress(_ frame: ArraySlice<UInt8>, dictionary: ZstdDictionary?, limit: Int) throws(ZstdError) -> [UInt8] {
        let size = frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
        guard size != ZSTD_CONTENTSIZE_ERROR, size != ZSTD_CONTENTSIZE_UNKNOWN, size <= UInt64(limit) else {
            throw ZstdError(reason: "metadata frame size unknown or over \(limit) bytes")
        }
        let output = try frame.withUnsafeBytes { input in
            Result { () throws(ZstdError) in try ZstdDecompressor.decompress(input, exactSize: Int(size), dictionary: dictionary) }
        }.get()
        guard output.count == Int(size) else { throw ZstdError(reason: "metadata frame shorter than its declared size") }
        return output
    }
}
