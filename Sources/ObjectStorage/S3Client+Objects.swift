import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOFileSystem
import NIOHTTP1

extension S3Client {
    /// Uploads the file at `path` as `key`, streamed in chunks, never whole in memory. The
    /// file is read twice: once for its SHA-256 and MD5, which sign the payload and go out
    /// as `x-amz-checksum-sha256` and `Content-MD5` (Object Lock wants one of them), then
    /// to send it, hashing again; bytes that differ from the first pass (or from
    /// `expectedSHA256`, base64, when the caller knows it) abort the upload before its last
    /// byte, so S3 never completes the object. The server's echo of the checksum must equal
    /// ours. A caller that hashed the file already passes its `digest` (the file is then
    /// read once here, to send it, and checked against that digest).
    public func putObject(key: String, fromFile path: String, lock: ObjectLockRequest = ObjectLockRequest(),
                          expectedSHA256: String? = nil, digest known: FileDigest? = nil) async throws -> PutObjectResult {
        let digest = if let known { known } else { try await FileDigest.of(path) }
        let sha256 = expectedSHA256 ?? digest.sha256Base64
        var headers = [HTTPField("content-md5", digest.md5Base64), HTTPField("content-type", "application/octet-stream"),
                       HTTPField("x-amz-sdk-checksum-algorithm", "SHA256"), HTTPField("x-amz-checksum-sha256", sha256)]
        if let retention = lock.retention {
            headers.append(HTTPField("x-amz-object-lock-mode", retention.mode.rawValue))
            headers.append(HTTPField("x-amz-object-lock-retain-until-date", S3Timestamp.format(retention.retainUntil)))
        }
        if lock.legalHold { headers.append(HTTPField("x-amz-object-lock-legal-hold", "ON")) }
        let response = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            let chunks = CheckedChunks(base: handle.readChunks(in: 0..<digest.size, chunkLength: .kibibytes(256)),
                                       path: path, expectedSHA256: sha256)
            return try await send(.PUT, key: key, headers: headers, body: .stream(chunks, length: .known(digest.size)),
                                  payloadHash: digest.sha256Hex)
        }
        let echoed = response.headers.first(name: "x-amz-checksum-sha256")
        guard echoed == sha256 else { throw S3IntegrityError.checksumNotConfirmed(sent: sha256, echoed: echoed) }
        return PutObjectResult(eTag: response.headers.first(name: "etag"), versionID: response.headers.first(name: "x-amz-version-id"),
                               checksumSHA256: sha256, size: digest.size)
    }

    /// HeadObject: size, version, checksum and lock state of `key` (its newest version, or
    /// `versionID`). A missing key throws `S3ServiceError` with code `NotFound`.
    public func headObject(key: String, versionID: String? = nil) async throws -> ObjectHead {
        let response = try await send(.HEAD, key: key, query: Self.version(versionID),
                                      headers: [HTTPField("x-amz-checksum-mode", "ENABLED")], payloadHash: PayloadHash.empty)
        let h = response.headers
        guard let size = h.first(name: "content-length").flatMap({ Int64($0) }) else {
            throw S3IntegrityError.malformedResponse("HeadObject without Content-Length")
        }
        var retention: ObjectRetention?
        if let mode = h.first(name: "x-amz-object-lock-mode").flatMap(ObjectLockMode.init(rawValue:)),
           let until = h.first(name: "x-amz-object-lock-retain-until-date").flatMap(S3Timestamp.parse) {
            retention = ObjectRetention(mode: mode, retainUntil: until)
        }
        return ObjectHead(size: size, eTag: h.first(name: "etag"), versionID: h.first(name: "x-amz-version-id"),
                          lastModified: h.first(name: "last-modified"), checksumSHA256: h.first(name: "x-amz-checksum-sha256"),
                          retention: retention, legalHold: h.first(name: "x-amz-object-lock-legal-hold") == "ON")
    }

    /// GetObject to the file at `path` (replaced), streamed; the file appears only when
    /// every byte arrived. The bytes' SHA-256 is returned, and checked against the one the
    /// server stored when it sends one. Making the file durable is the caller's part.
    public func getObject(key: String, toFile path: String, versionID: String? = nil) async throws -> DownloadedObject {
        let response = try await send(.GET, key: key, query: Self.version(versionID),
                                      headers: [HTTPField("x-amz-checksum-mode", "ENABLED")], payloadHash: PayloadHash.empty)
        var hash = SHA256()
        var written: Int64 = 0
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)) { file in
            do {
                for try await chunk in response.body {
                    hash.update(chunk)
                    try await file.write(contentsOf: chunk, toAbsoluteOffset: written)
                    written += Int64(chunk.readableBytes)
                }
            } catch let error as FileSystemError {
                throw error
            } catch {
                throw transportError(error)
            }
        }
        let received = Data(hash.finalize()).base64EncodedString()
        if let stored = response.headers.first(name: "x-amz-checksum-sha256"), stored != received {
            try? FileManager.default.removeItem(atPath: path)
            throw S3IntegrityError.downloadMismatch(stored: stored, received: received)
        }
        return DownloadedObject(size: written, eTag: response.headers.first(name: "etag"),
                                versionID: response.headers.first(name: "x-amz-version-id"), checksumSHA256: received)
    }

    /// The bytes `range` of `key`, in memory (a record of an evicted segment). A range
    /// that runs past the object's end returns the bytes up to it; one that starts past
    /// it throws `InvalidRange`.
    public func getObject(key: String, range: ByteRange, versionID: String? = nil) async throws -> ByteBuffer {
        let response = try await send(.GET, key: key, query: Self.version(versionID),
                                      headers: [HTTPField("range", range.header)], payloadHash: PayloadHash.empty)
        let contentRange = response.headers.first(name: "content-range") ?? "none"
        guard response.status == .partialContent, contentRange.hasPrefix("bytes \(range.first)-") else {
            throw S3IntegrityError.rangeMismatch(asked: range.header, got: "\(response.status.code), Content-Range \(contentRange)")
        }
        let bytes = try await collect(response.body, upTo: Int(clamping: range.count))
        return ByteBuffer(bytes: bytes)
    }

    /// DeleteObject: of one version (which Object Lock may refuse), or without a version a
    /// delete marker on a versioned bucket. `bypassGovernance` lifts governance retention.
    public func deleteObject(key: String, versionID: String? = nil, bypassGovernance: Bool = false) async throws {
        let headers = bypassGovernance ? [HTTPField("x-amz-bypass-governance-retention", "true")] : []
        _ = try await send(.DELETE, key: key, query: Self.version(versionID), headers: headers, payloadHash: PayloadHash.empty)
    }

    static func version(_ versionID: String?, _ more: [QueryParameter] = []) -> [QueryParameter] {
        more + (versionID.map { [QueryParameter("versionId", $0)] } ?? [])
    }
}
