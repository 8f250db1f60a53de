import DurableFiles
import Foundation
import TestSupport
import Testing
@testable import ArchiveStore

/// A ring of test keys: key n is 32 bytes of n (never a real secret).
func testRing(_ ids: [UInt32]) throws -> SegmentKeyRing {
    SegmentKeyRing(keys: try ids.map { try #require(SegmentKey(id: $0, secret: [UInt8](repeating: UInt8($0), count: 32))) },
                   source: "/test/keys.toml")
}

/// Encryption at rest (docs/FORMAT.md, "Encrypted records"): what the node writes with a
/// key file, read back, checked, rotated, damaged, repaired and expired.
@Suite struct EncryptionTests {
    static let marker = "zebraquokka"

    /// A message whose subject and body carry `marker`.
    static func message(_ n: Int) -> [UInt8] {
        var text = "Message-ID: <crypt-\(n)@example.test>\r\nSubject: \(marker) report \(n)\r\nFrom: a@example.test\r\n\r\n"
        for i in 0..<40 { text += "line \(i): the \(marker) figures of message \(n)\r\n" }
        return Array(text.utf8)
    }

    static func options(_ ring: SegmentKeyRing, segmentBytes: Int = 256 << 20) -> ArchiveStoreOptions {
        var options = ArchiveStoreOptions()
        options.keys = ArchiveKeys(ring)
        options.maxSegmentBytes = segmentBytes
        return options
    }

    /// The segment files' bytes, all of them.
    static func segmentBytes(_ dir: String) -> [UInt8] { segmentPaths(dir).flatMap(readFile) }

    static func headers(_ dir: String) throws -> [SegmentHeader] {
        try segmentPaths(dir).map { try SegmentHeader.decode(Array(readFile($0).prefix(SegmentHeader.size))) }
    }

    /// Messages, a second arrival of one (its own record) and, with `dictionary`, messages
    /// compressed with it (a dictionary record in the segment): all back exactly.
    @Test func anEncryptedStoreRoundTripsAndHidesTheMail() async throws {
        try await withTempDirectory { dir in
            let samples = (0..<120).map { Self.message($0) + Corpus.synthetic($0) }
            let dictionary = try #require(ZstdDictionary.train(samples: samples, capacity: 16 << 10, compressionLevel: 3))
            let store = try await openStore(dir, options: Self.options(try testRing([1])))
            for n in 0..<4 { try await commit(store, Self.message(n), n) }
            var again = envelope(7)
            again.recipients = ["second@example.test"]
            let arrival = try await store.commit(finished(Self.message(0), envelope: again))
            var draft = try MessageDraft(envelope: envelope(9), dictionary: dictionary)
            try draft.append(bytes: Self.message(9))
            let compressed = try await store.commit(draft.finish())
            try await store.close()
            #expect(arrival.arrivalRecorded && arrival.arrivalPosition != arrival.position)

            // The dictionary came after messages: a second segment (FORMAT.md, "Dictionaries").
            #expect(try Self.headers(dir).map(\.keyID) == [1, 1])
            #expect(segmentPaths(dir).allSatisfy { readFile($0)[8] == 2 }, "format version 2")
            #expect(!Self.segmentBytes(dir).contains(subsequence: Array(Self.marker.utf8)))
            let reader = try ArchiveReader(dataDirectory: dir, keys: try testRing([1]))
            for n in [0, 1, 2, 3, 9] {
                #expect(try reader.original(reader.lookup("<crypt-\(n)@example.test>")) == Self.message(n), "message \(n)")
            }
            #expect(try reader.arrivals(of: reader.lookup(arrival.id)).map(\.envelope.recipients).contains(["second@example.test"]))
            #expect(try reader.record(reader.lookup(compressed.id)).dictionary?.id == dictionary.id)
            #expect(try ArchiveStore.readAsReceived(archiveDirectory: dir + "/archive", at: arrival.arrivalPosition,
                                                    keys: try testRing([1])) == Self.message(0))
            let report = try reader.verify()
            #expect(report.isClean, "\(report.faults) \(report.indexFaults)")
            #expect(report.records == 7, "5 messages, an arrival, a dictionary")
            // The index rebuilt from the encrypted segments finds the same.
            #expect(try ArchiveReader.reindex(dataDirectory: dir, keys: try testRing([1])) == 5)
            #expect(try ArchiveReader(dataDirectory: dir, keys: try testRing([1])).verify().isClean)
        }
        // The control: without a key the marker is in the segments (the check above can fail).
        try await withTempDirectory { dir in
            let store = try await openStore(dir)
            try await commit(store, Self.message(0), 0)
            try await store.close()
            #expect(Self.segmentBytes(dir).contains(subsequence: Array(Self.marker.utf8)))
            #expect(try Self.headers(dir).map(\.keyID) == [0])
        }
    }

    /// One byte of ciphertext changed and the record CRC made to fit: the CRCs pass, the
    /// tag does not. Verify names segment and offset; a read throws, never returns garbage.
    @Test func aChangedCiphertextByteFailsItsTag() async throws {
        try await withTempDirectory { dir in
            // The segment is sealed (a new key) after two records: its footer counts the changed one.
            let options = Self.options(try testRing([1]))
            let store = try await openStore(dir, options: options)
            let first = try await commit(store, Self.message(0), 0)
            try await commit(store, Self.message(1), 1)
            options.keys.replace(with: try testRing([1, 2]))
            try await commit(store, Self.message(2), 2)
            try await store.close()
            #expect(segmentPaths(dir).count == 2)
            let path = segmentPaths(dir)[0]
            var bytes = readFile(path)
            let offset = first.position.offset
            let stored = try RecordCodec.validate(bytes[offset...], sealedOverhead: SegmentCipher.overhead).recordLength
            bytes[offset + RecordCodec.headerSize + SegmentCipher.nonceSize + 5] ^= 0x01
            let crcAt = offset + stored - RecordCodec.trailerSize
            let crc = CRC32C.checksum(bytes[offset..<crcAt])
            bytes.replaceSubrange(crcAt..<(crcAt + 4), with: [UInt8(crc & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 24)])
            try writeFile(path, bytes)

            let reader = try ArchiveReader(dataDirectory: dir, keys: try testRing([1, 2]))
            let report = try reader.verify()
            let fault = try #require(report.faults.first { $0.offset == offset })
            #expect(fault.segment == SegmentName.file(1))
            #expect(fault.reason.contains("authentication failed: wrong key or changed bytes"))
            // Besides: the seal's SHA-256 no longer matches. The record is still counted.
            #expect(report.faults.map(\.reason).filter { !$0.contains("authentication failed") }
                == ["segment contents do not match the sealed SHA-256, and no expiry list accounts for a change: tampering or damage"])
            #expect(throws: SegmentKeyError.authenticationFailed(segment: SegmentName.file(1), offset: offset)) {
                try reader.original(reader.lookup(first.id))
            }
            #expect(try reader.original(reader.lookup("<crypt-1@example.test>")) == Self.message(1))
        }
    }

    /// Rotation: segments before a reload carry key 1, after it key 2; all read while both
    /// keys are in the file; without key 1 the old ones are refused by name.
    @Test func aNewKeySealsTheSegmentAndOldOnesNeedTheirKey() async throws {
        try await withTempDirectory { dir in
            let options = Self.options(try testRing([1]))
            let store = try await openStore(dir, options: options)
            for n in 0..<3 { try await commit(store, Self.message(n), n) }
            options.keys.replace(with: try testRing([1, 2]))
            for n in 3..<6 { try await commit(store, Self.message(n), n) }
            try await store.close()
            // A reopen with both keys resumes the active segment (key 2).
            let reopened = try await openStore(dir, options: Self.options(try testRing([1, 2])))
            try await commit(reopened, Self.message(6), 6)
            try await reopened.close()
            #expect(try Self.headers(dir).map(\.keyID) == [1, 2])

            let both = try ArchiveReader(dataDirectory: dir, keys: try testRing([1, 2]))
            #expect(try both.verify().isClean)
            for n in 0..<7 { #expect(try both.original(both.lookup("<crypt-\(n)@example.test>")) == Self.message(n)) }

            let newOnly = try ArchiveReader(dataDirectory: dir, keys: try testRing([2]))
            #expect(try newOnly.original(newOnly.lookup("<crypt-4@example.test>")) == Self.message(4))
            let missing = SegmentKeyError.missingKey(segment: SegmentName.file(1), keyID: 1, keyFile: "/test/keys.toml")
            #expect(throws: missing) { try newOnly.original(newOnly.lookup("<crypt-0@example.test>")) }
            #expect(missing.description == "segment 00000001.seg needs key 1, which the key file /test/keys.toml does not hold")
            let faults = try newOnly.verify().faults
            #expect(faults.map(\.reason) == [missing.description], "one fault for the segment, its seal still checked")

            // Key 1 dropped and key 3 added: the node starts (it reads no old segment), seals
            // the active one and writes the next with key 3.
            let rekeyed = try await openStore(dir, options: Self.options(try testRing([2, 3])))
            try await commit(rekeyed, Self.message(7), 7)
            try await rekeyed.close()
            #expect(try Self.headers(dir).map(\.keyID) == [1, 2, 3])
            #expect(try ArchiveReader(dataDirectory: dir, keys: try testRing([1, 2, 3])).verify().isClean)
            // Without the active segment's key the node refuses to open, by name, and keeps its index.
            await #expect(throws: SegmentKeyError.missingKey(segment: SegmentName.file(3), keyID: 3, keyFile: "/test/keys.toml")) {
                _ = try await openStore(dir, options: Self.options(try testRing([1, 2])))
            }
            #expect(try ArchiveReader(dataDirectory: dir, keys: try testRing([1, 2, 3])).usesIndex)
        }
    }

    /// A torn last record of an encrypted active segment is cut at open, without a key
    /// being needed to find it, and the store appends and verifies clean after it.
    @Test func aTornEncryptedTailIsCut() async throws {
        try await withTempDirectory { dir in
            let store = try await openStore(dir, options: Self.options(try testRing([1])))
            var last = 0
            for n in 0..<3 { last = try await commit(store, Self.message(n), n).position.offset }
            try await store.close()
            let path = segmentPaths(dir)[0]
            let pristine = readFile(path)
            for cut in stride(from: last + 1, to: pristine.count, by: 7) {
                try writeFile(path, Array(pristine[..<cut]))
                let reopened = try await openStore(dir, options: Self.options(try testRing([1])))
                let report = reopened.recoveryReport
                try await reopened.close()
                #expect(report.faults.isEmpty)
                #expect(report.truncatedTails.map(\.offset) == [last])
                #expect(readFile(path).count == last)
            }
            let again = try await openStore(dir, options: Self.options(try testRing([1])))
            try await commit(again, Self.message(5), 5)
            try await again.close()
            let reader = try ArchiveReader(dataDirectory: dir, keys: try testRing([1]))
            #expect(try reader.verify().isClean)
            #expect(try reader.list().count == 3)
            #expect(try reader.original(reader.lookup("<crypt-5@example.test>")) == Self.message(5))
        }
    }

    /// Expiry moves an encrypted segment's records as they are on disk: what it keeps
    /// still opens with the key, and verify is clean.
    @Test func expiryOnAnEncryptedStore() async throws {
        let dir = try makeTempDirectory("expiry")
        defer { removeTempDirectory(dir) }
        var options = ExpiryTests.options(dir)
        options.keys = ArchiveKeys(try testRing([1]))
        let store = try await openStore(dir, options: options)
        let receipts = try await ExpiryTests.fill(store)
        let report = try await store.expire(actor: "user:test") { ExpiryTests.candidates(receipts, 0..<15) }
        #expect(report.records == 25)
        try await store.close()
        #expect(try Self.headers(dir).allSatisfy { $0.keyID == 1 })
        try ExpiryTests.checkExpired(dir, expired: Set(0..<15), receipts: receipts, records: 25, keys: try testRing([1]))
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard let first = needle.first, count >= needle.count else { return false }
        var i = startIndex
        while i <= count - needle.count {
            if self[i] == first, self[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}

/// The envelope of one record: the tag covers the clear header and the segment's sequence.
@Suite struct SegmentCipherTests {
    static func sealed() throws -> (SegmentCipher, [UInt8]) {
        let cipher = SegmentCipher(key: try #require(testRing([1]).writingKey), sequence: 7)
        let plain = try finished(EncryptionTests.message(1), envelope: envelope(1)).encodedRecord
        return (cipher, try cipher.seal(plain))
    }

    static func open(_ cipher: SegmentCipher, _ stored: [UInt8]) throws -> [UInt8] {
        let header = try RecordCodec.validate(stored[...], sealedOverhead: SegmentCipher.overhead)
        return try cipher.open(stored[...], header: header, offset: 72)
    }

    @Test func aSealedRecordOpensToTheSameRecordInTheClear() throws {
        let (cipher, stored) = try Self.sealed()
        let plain = try Self.open(cipher, stored)
        #expect(try RecordCodec.validate(plain[...]).recordLength == plain.count)
        #expect(try RecordCodec.decode(plain[...]).original() == EncryptionTests.message(1))
        let header = try RecordCodec.decodeHeader(plain[...])
        #expect(stored.count == RecordCodec.align(RecordCodec.headerSize + SegmentCipher.overhead + header.bodyLength + header.metadataLength)
            + RecordCodec.trailerSize, "L = align8(24 + 12 + B + M + 16) + 8")
        // Two seals of the same record differ: the nonce is random, never the offset.
        #expect(try cipher.seal(plain) != stored)
    }

    /// Moved to another segment, or its header's dictionary id (outside the header CRC)
    /// changed with the record CRC made to fit: the tag fails.
    @Test func anotherSegmentOrAnEditedHeaderFailsTheTag() throws {
        let (cipher, stored) = try Self.sealed()
        let elsewhere = SegmentCipher(key: cipher.key, sequence: 8)
        #expect(throws: SegmentKeyError.authenticationFailed(segment: SegmentName.file(8), offset: 72)) { try Self.open(elsewhere, stored) }
        var edited = stored
        edited[20] ^= 0x01
        let crcAt = edited.count - RecordCodec.trailerSize
        let crc = CRC32C.checksum(edited[..<crcAt])
        edited.replaceSubrange(crcAt..<(crcAt + 4), with: [UInt8(crc & 0xff), UInt8(crc >> 8 & 0xff), UInt8(crc >> 16 & 0xff), UInt8(crc >> 24)])
        #expect(throws: SegmentKeyError.authenticationFailed(segment: SegmentName.file(7), offset: 72)) { try Self.open(cipher, edited) }
    }
}
