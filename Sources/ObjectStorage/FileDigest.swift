import Crypto
import Foundation
import NIOCore
import NIOFileSystem

/// A file's size, SHA-256 (hex for the signature, base64 for `x-amz-checksum-sha256`)
/// and MD5 (base64, `Content-MD5`), read in chunks.
public struct FileDigest: Sendable, Equatable {
    public var size: Int64
    public var sha256Hex: String
    public var sha256Base64: String
    public var md5Base64: String

    public static func of(_ path: String) async throws -> FileDigest {
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            var sha = SHA256()
            var md5 = Insecure.MD5()
            var size: Int64 = 0
            for try await chunk in handle.readChunks(chunkLength: .kibibytes(256)) {
                sha.update(chunk)
                md5.update(chunk)
                size += Int64(chunk.readableBytes)
            }
            let digest = Array(sha.finalize())
            return FileDigest(size: size, sha256Hex: SignatureV4.hex(digest), sha256Base64: Data(digest).base64EncodedString(),
                              md5Base64: Data(md5.finalize()).base64EncodedString())
        }
    }
}

/// A file's chunks as they are sent, hashed on the way. Each chunk is handed on only
/// once the one after it was read, so the bytes are checked against the SHA-256 expected
/// before the last chunk goes out: a file that changed since it was hashed makes the
/// sequence throw while the server still lacks part of the body, and S3 never completes
/// the object.
struct CheckedChunks<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let path: String
    let expectedSHA256: String

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var hash = SHA256()
        var pending: ByteBuffer?
        var started = false
        var finished = false
        let path: String
        let expected: String

        mutating func next() async throws -> ByteBuffer? {
            if finished { return nil }
            if !started {
                started = true
                pending = try await read()
            }
            guard let current = pending else {
                try check()
                return nil
            }
            pending = try await read()
            if pending == nil { try check() }
            return current
        }

        private mutating func read() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            hash.update(chunk)
            return chunk
        }

        private mutating func check() throws {
            finished = true
            let sent = Data(hash.finalize()).base64EncodedString()
            guard sent == expected else { throw S3IntegrityError.bodyChanged(path: path, expected: expected, sent: sent) }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), path: path, expected: expectedSHA256)
    }
}

extension HashFunction {
    /// Hashes a buffer's readable bytes in place (no copy into Data).
    mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { update(bufferPointer: $0) }
    }
}
