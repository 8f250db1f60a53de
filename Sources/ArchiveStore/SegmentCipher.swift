import Crypto
import DurableFiles
import Foundation

/// Seals and opens the records of one encrypted segment (docs/FORMAT.md, "Encrypted
/// records"). The 24-byte record header stays in the clear, so scanning, torn-tail
/// detection and recovery need no key; what a plaintext record holds after it becomes
/// `nonce | AES-256-GCM ciphertext | tag`. The header and the segment's sequence are
/// authenticated with it: a record cannot be moved to another segment or its header edited.
struct SegmentCipher: Sendable {
    static let nonceSize = 12
    static let tagSize = 16
    /// Bytes an encrypted record holds beyond its plaintext contents.
    static let overhead = nonceSize + tagSize

    let key: SegmentKey
    let sequence: UInt64

    private func authenticated(_ header: some Collection<UInt8>) -> [UInt8] {
        var aad = Array(header)
        aad.appendLE(sequence)
        return aad
    }

    /// The on-disk record for a complete plaintext record (`RecordCodec` layout). The
    /// nonce is random per record: never derived from the offset, which recovery may
    /// write again after cutting a torn tail.
    func seal(_ plain: [UInt8]) throws -> [UInt8] {
        let header = try RecordCodec.decodeHeader(plain[...])
        let start = RecordCodec.headerSize
        return try seal(header: Array(plain[0..<start]), contents: plain[start..<(start + header.bodyLength + header.metadataLength)])
    }

    /// The same for a draft's record, whose bytes may be partly in a spill file: its
    /// contents are gathered into one buffer (AES-GCM in one shot).
    func seal(_ record: RecordBuffer) throws -> [UInt8] {
        let header = try record.bytes(0..<RecordCodec.headerSize)
        let decoded = try RecordCodec.decodeHeader(header[...])
        let contents = try record.bytes(RecordCodec.headerSize..<(RecordCodec.headerSize + decoded.bodyLength + decoded.metadataLength))
        return try seal(header: header, contents: contents[...])
    }

    private func seal(header: [UInt8], contents: ArraySlice<UInt8>) throws -> [UInt8] {
        let box = try AES.GCM.seal(contents, using: key.key, nonce: AES.GCM.Nonce(), authenticating: authenticated(header))
        var out = header
        out.reserveCapacity(RecordCodec.align(header.count + Self.overhead + contents.count) + RecordCodec.trailerSize)
        out.append(contentsOf: box.nonce)
        out.append(contentsOf: box.ciphertext)
        out.append(contentsOf: box.tag)
        RecordCodec.appendTrailer(&out)
        return out
    }

    /// The plaintext record (a valid one, as `RecordCodec` reads) of a record read from
    /// this segment at `offset` and already checked by its CRC.
    func open(_ stored: ArraySlice<UInt8>, header: RecordHeader, offset: Int) throws(SegmentKeyError) -> [UInt8] {
        let start = stored.startIndex
        let contentsLength = header.bodyLength + header.metadataLength
        let nonceStart = start + RecordCodec.headerSize
        let cipherStart = nonceStart + Self.nonceSize
        let tagStart = cipherStart + contentsLength
        let headerBytes = stored[start..<nonceStart]
        let plain: Data
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: stored[nonceStart..<cipherStart]),
                                            ciphertext: stored[cipherStart..<tagStart], tag: stored[tagStart..<(tagStart + Self.tagSize)])
            plain = try AES.GCM.open(box, using: key.key, authenticating: authenticated(headerBytes))
        } catch {
            throw .authenticationFailed(segment: SegmentName.file(sequence), offset: offset)
        }
        var out = Array(headerBytes)
        out.reserveCapacity(header.plaintextLength)
        out.append(contentsOf: plain)
        RecordCodec.appendTrailer(&out)
        return out
    }
}
