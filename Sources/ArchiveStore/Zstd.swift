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

/// Streaming zstd compression of one message into one frame, appended to a caller-owned
/// buffer so the compressed bytes land directly in the record being built.
///
/// A class because it owns pooled zstd resources, returned when it is released; not
/// Sendable, it lives inside one draft.
final class ZstdCompressor {
    private let resources: ZstdCompressionResources
    private var context: OpaquePointer { resources.context }

    init(level: Int32, dictionary: ZstdDictionary? = nil) throws(ZstdError) {
        guard let resources = ZstdCompressionResources.pool.take() else { throw ZstdError(reason: "ZSTD_createCCtx failed") }
        self.resources = resources
        _ = try ZstdError.check(ZSTD_CCtx_setParameter(resources.context, ZSTD_c_compressionLevel, level))
        if let table = dictionary?.compressionTable {
            _ = try ZstdError.check(ZSTD_CCtx_refCDict(resources.context, table))
            // The record header names the dictionary; the frame need not repeat it (4 bytes).
            _ = try ZstdError.check(ZSTD_CCtx_setParameter(resources.context, ZSTD_c_dictIDFlag, 0))
        }
        // The checksum lets verify catch a corrupted body even before the SHA-256 check.
        _ = try ZstdError.check(ZSTD_CCtx_setParameter(resources.context, ZSTD_c_checksumFlag, 1))
        // Body frames carry no content size (FORMAT.md), also when zstd knows it.
        _ = try ZstdError.check(ZSTD_CCtx_setParameter(resources.context, ZSTD_c_contentSizeFlag, 0))
    }

    deinit { ZstdCompressionResources.pool.give(resources) }

    func compress(_ input: UnsafeRawBufferPointer, into output: RecordBuffer) throws {
        try run(input, mode: ZSTD_e_continue, into: output)
    }

    func compress(_ input: [UInt8], into output: RecordBuffer) throws {
        try input.withUnsafeBytes { try compress($0, into: output) }
    }

    func finish(into output: RecordBuffer) throws {
        try run(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_end, into: output)
    }

    /// The whole frame in one call, for a message whose input is all here before any of
    /// it was compressed (most mail). zstd then knows the size and picks the parameters of
    /// its table for that size: smaller match tables, so less work for small messages.
    func compressWhole(_ input: [UInt8], into output: RecordBuffer) throws {
        try input.withUnsafeBytes { try run($0, mode: ZSTD_e_end, into: output) }
    }

    /// Output goes from zstd's scratch buffer straight into the record (its blocks or its
    /// spill file), a scratch buffer's worth at a time.
    private func run(_ input: UnsafeRawBufferPointer, mode: ZSTD_EndDirective, into output: RecordBuffer) throws {
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
            try resources.scratch.withUnsafeBytes { try output.append(UnsafeRawBufferPointer(rebasing: $0[..<produced])) }
            let done = mode == ZSTD_e_end ? remaining == 0 : inBuffer.pos == inBuffer.size
            if done { return }
        }
    }
}

/// Decompression of a stored body (one zstd frame).
enum ZstdDecompressor {
    /// Bodies up to this size are decompressed in one call straight into the result;
    /// larger ones in chunks, so a corrupt size field cannot make us allocate it up front.
    static let oneShotLimit = 32 << 20

    /// Decompresses `frame`; `expectedSize` bounds the output so a corrupt frame cannot
    /// balloon memory.
    static func decompress(_ frame: [UInt8], expectedSize: Int, dictionary: ZstdDictionary? = nil) throws(ZstdError) -> [UInt8] {
        let result = try decompress(frame, atMost: expectedSize, dictionary: dictionary)
        guard result.count == expectedSize else {
            throw ZstdError(reason: "decompressed \(result.count) bytes, expected \(expectedSize)")
        }
        return result
    }

    /// Decompresses a frame of unknown size, at most `limit` bytes (more is an error).
    static func decompress(_ frame: [UInt8], atMost limit: Int, dictionary: ZstdDictionary? = nil) throws(ZstdError) -> [UInt8] {
        if limit > 0 && limit <= oneShotLimit {
            return try frame.withUnsafeBytes { input in
                Result { () throws(ZstdError) in try decompress(input, exactSize: limit, dictionary: dictionary) }
            }.get()
        }
        var result = [UInt8]()
        result.reserveCapacity(min(limit, oneShotLimit))
        try decompress(frame, limit: limit, dictionary: dictionary) { chunk in result.append(contentsOf: chunk) }
        return result
    }

    /// One call into a buffer of `size` bytes: what a frame holds when it is all in memory
    /// and its size is known. Returns fewer bytes when the frame holds fewer; more is an error.
    static func decompress(_ input: UnsafeRawBufferPointer, exactSize size: Int, dictionary: ZstdDictionary?) throws(ZstdError) -> [UInt8] {
        guard let resources = ZstdDecompressionResources.pool.take() else { throw ZstdError(reason: "ZSTD_createDCtx failed") }
        defer { ZstdDecompressionResources.pool.give(resources) }
        var code = 0
        let output = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            if let table = dictionary?.decompressionTable {
                code = ZSTD_decompress_usingDDict(resources.context, buffer.baseAddress, size, input.baseAddress, input.count, table)
            } else {
                code = ZSTD_decompressDCtx(resources.context, buffer.baseAddress, size, input.baseAddress, input.count)
            }
            count = ZSTD_isError(code) != 0 ? 0 : code
        }
        _ = try ZstdError.check(code)
        return output
    }

    /// Streams the decompressed bytes to `sink` in chunks.
    static func decompress(_ frame: [UInt8], limit: Int, dictionary: ZstdDictionary? = nil,
                           sink: (ArraySlice<UInt8>) throws -> Void) throws(ZstdError) {
        guard let resources = ZstdDecompressionResources.pool.take() else { throw ZstdError(reason: "ZSTD_createDCtx failed") }
        defer { ZstdDecompressionResources.pool.give(resources) }
        let context = resources.context
        if let dictionary {
            _ = try ZstdError.check(ZSTD_DCtx_refDDict(context, dictionary.decompressionTable))
        }
        let capacity = resources.scratch.count
        var total = 0
        var failure: ZstdError?
        frame.withUnsafeBytes { input in
            var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            var lastHint = 1
            while true {
                var produced = 0
                var code = 0
                resources.scratch.withUnsafeMutableBytes { out in
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
                do { try sink(resources.scratch[0..<produced]) } catch {
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
