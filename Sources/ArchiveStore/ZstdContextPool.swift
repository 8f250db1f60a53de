import CZstd
import DurableFiles
import Foundation

/// zstd contexts waiting for the next record, bounded so a burst does not pin memory.
/// Creating a context and faulting in its tables for every message cost more CPU than
/// compressing (or decompressing) a 10 KB message (measured with perf under smtp-source
/// and during catch-up).
final class ZstdContextPool<Context: AnyObject>: @unchecked Sendable {
    private let idle = LockedValue<[Context]>([])
    private let limit: Int
    private let make: () -> Context?
    private let reset: (Context) -> Void

    init(limit: Int = 64, make: @escaping () -> Context?, reset: @escaping (Context) -> Void) {
        self.limit = limit
        self.make = make
        self.reset = reset
    }

    /// A context for the caller alone; nil only when zstd cannot allocate one.
    func take() -> Context? {
        idle.withLock { $0.popLast() } ?? make()
    }

    /// Returns a context, reset to its defaults (no dictionary, no parameters).
    func give(_ context: Context) {
        reset(context)
        let limit = self.limit
        idle.withLock { idle in
            if idle.count < limit { idle.append(context) }
        }
    }
}

/// A compression context and its output scratch.
final class ZstdCompressionResources: @unchecked Sendable {
    // Only ever used by one compressor at a time: the pool hands it out exclusively.
    let context: OpaquePointer
    var scratch: [UInt8]

    init?() {
        guard let context = ZSTD_createCCtx() else { return nil }
        self.context = context
        self.scratch = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
    }

    deinit { ZSTD_freeCCtx(context) }

    static let pool = ZstdContextPool(make: { ZstdCompressionResources() },
                                      reset: { ZSTD_CCtx_reset($0.context, ZSTD_reset_session_and_parameters) })
}

/// A decompression context and its output scratch (for bodies decompressed in chunks).
final class ZstdDecompressionResources: @unchecked Sendable {
    // Only ever used by one decompression at a time: the pool hands it out exclusively.
    let context: OpaquePointer
    var scratch: [UInt8]

    init?() {
        guard let context = ZSTD_createDCtx() else { return nil }
        self.context = context
        self.scratch = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
    }

    deinit { ZSTD_freeDCtx(context) }

    static let pool = ZstdContextPool(make: { ZstdDecompressionResources() },
                                      reset: { ZSTD_DCtx_reset($0.context, ZSTD_reset_session_and_parameters) })
}
