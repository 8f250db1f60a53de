import CZstd
import Foundation

/// A zstd failure, with zstd's own error name for the log.
public struct ZstdError: Error, Equatable, Sendable {
    public var reason: String

    static func check(_ code: Int) throws(ZstdError) -> Int {
        if ZSTD_isError(code) != 0 {
            throw ZstdError(reason: String(cString: ZSTD_getErrorName(code)))
        }
        return code
    }
}

/// A compression context and its output scratch, kept for reuse: creating a `ZSTD_CCtx`
/// and faulting in its tables for every message cost more CPU than compressing a 10 KB
/// message (measured with perf under smtp-source).
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

    /// Contexts waiting for the next message; bounded so a burst does not pin memory.
    /// (An NSLock rather than a `Mutex` global: ThreadSanitizer reports `withLock` on a
    /// static `Mutex` as an access race, and a clean TSan run is worth more here.)
    private static let poolLock = NSLock()
    nonisolated(unsafe) private static var pool: [ZstdCompressionResources] = []
    static let poolLimit = 64

    static func take() -> ZstdCompressionResources? {
        poolLock.lock()
        let pooled = pool.popLast()
        poolLock.unlock()
        return pooled ?? ZstdCompressionResources()
    }

    static func give(_ resources: ZstdCompressionResources) {
        ZSTD_CCtx_reset(resources.context, ZSTD_reset_session_and_parameters)
        poolLock.lock()
        if pool.count < poolLimit { pool.append(resources) }
        poolLock.unlock()
    }
}

/// Streaming zstd compression of one message into one frame, appended to a caller-owned
/// buffer so the compressed bytes land directly in the record being built.
///
/// A class because it owns pooled zstd resources, returned when it is released; not
/// Sendable, it lives inside one draft.
final class ZstdCompressor {
    private let resources: ZstdCompressionResources
    private var context: OpaquePointer { resources.context }

    init(level: Int32, dictionary: ZstdDictionary? = nil) throws(ZstdError) {
        guard let resources = ZstdCompressionResources.take() else { throw ZstdError(reason: "ZSTD_createCCtx failed") }
        self.resources = resources
        _ = try ZstdError.check(ZSTD_CCtx_setParameter(resources.context, ZSTD_c_compressionLevel, level))
        if let table = dictionary?.compressionTable {
            _ = try ZstdError.check(ZSTD_CCtx_refCDict(resources.context, table))
        }
        // The checksum lets verify catch a corrupted body even before the SHA-256 check.
        _ = try ZstdError.check(ZSTD_CCtx_setParameter(resources.context, ZSTD_c_checksumFlag, 1))
    }

    deinit { ZstdCompressionResources.give(resources) }

    func compress(_ input: UnsafeRawBufferPointer, into output: inout [UInt8]) throws(ZstdError) {
        try run(input, mode: ZSTD_e_continue, into: &output)
    }

    func finish(into output: inout [UInt8]) throws(ZstdError) {
        try run(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_end, into: &output)
    }

    private func run(_ input: UnsafeRawBufferPointer, mode: ZSTD_EndDirective, into output: inout [UInt8]) throws(ZstdError) {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        let capacity = resources.scratch.count
        while true {
            var produced = 0
            var code = 0
            resources.scratch.withUnsafeMutableBytes { out in
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: capacity, pos: 0)
                code = ZSTD_compressStream2(context, &outBuffer, &inBuffer, mode)
                produced = outBuffer.pos
            }
            let remaining = try ZstdError.check(code)
            output.append(contentsOf: resources.scratch[0..<produced])
            let done = mode == ZSTD_e_end ? remaining == 0 : inBuffer.pos == inBuffer.size
            if done { return }
        }
    }
}

/// Decompression of a stored body (one zstd frame).
enum ZstdDecompressor {
    /// Decompresses `frame`; `expectedSize` bounds the output so a corrupt frame cannot
    /// balloon memory.
    static func decompress(_ frame: [UInt8], expectedSize: Int, dictionary: ZstdDictionary? = nil) throws(ZstdError) -> [UInt8] {
        var result = [UInt8]()
        // The size comes from the record; reserve only a sane amount up front.
        result.reserveCapacity(min(expectedSize, 32 << 20))
        try decompress(frame, limit: expectedSize, dictionary: dictionary) { chunk in result.append(contentsOf: chunk) }
        guard result.count == expectedSize else {
            throw ZstdError(reason: "decompressed \(result.count) bytes, expected \(expectedSize)")
        }
        return result
    }

    /// Streams the decompressed bytes to `sink` in chunks.
    static func decompress(_ frame: [UInt8], limit: Int, dictionary: ZstdDictionary? = nil,
                           sink: (ArraySlice<UInt8>) throws -> Void) throws(ZstdError) {
        guard let context = ZSTD_createDCtx() else { throw ZstdError(reason: "ZSTD_createDCtx failed") }
        defer { ZSTD_freeDCtx(context) }
        if let dictionary {
            _ = try ZstdError.check(ZSTD_DCtx_refDDict(context, dictionary.decompressionTable))
        }
        var scratch = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        let capacity = scratch.count
        var total = 0
        var failure: ZstdError?
        frame.withUnsafeBytes { input in
            var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            var lastHint = 1
            while true {
                var produced = 0
                var code = 0
                scratch.withUnsafeMutableBytes { out in
                    var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: capacity, pos: 0)
                    code = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                    produced = outBuffer.pos
                }
                if ZSTD_isError(code) != 0 {
                    failure = ZstdError(reason: String(cString: ZSTD_getErrorName(code)))
                    return
                }
                lastHint = code
                total += produced
                if total > limit {
                    failure = ZstdError(reason: "decompressed size exceeds \(limit) bytes")
                    return
                }
                do { try sink(scratch[0..<produced]) } catch {
                    failure = ZstdError(reason: "output failed: \(error)")
                    return
                }
                if lastHint == 0 { return }  // frame complete
                if inBuffer.pos == inBuffer.size && produced < capacity {
                    failure = ZstdError(reason: "truncated zstd frame")
                    return
                }
            }
        }
        if let failure { throw failure }
    }
}
