import DurableFiles
import Foundation
import Testing
@testable import ArchiveStore

@Suite struct CRC32CTests {
    // RFC 3720 B.4 and the common "123456789" check value.
    @Test(arguments: [
        (Array("123456789".utf8), UInt32(0xE306_9283)),
        ([UInt8](repeating: 0, count: 32), UInt32(0x8A91_36AA)),
        ([UInt8](repeating: 0xFF, count: 32), UInt32(0x62A8_AB43)),
        ((0..<32).map { UInt8($0) }, UInt32(0x46DD_794E)),
        ((0..<32).map { UInt8(31 - $0) }, UInt32(0x113F_DB5C)),
        ([], UInt32(0)),
    ])
    func vectors(input: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(input) == expected)
    }

    @Test func incrementalMatchesOneShotAtEverySplit() {
        let data = (0..<97).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = CRC32C.checksum(data)
        for split in 0...data.count {
            var crc = CRC32C()
            crc.update(data[..<split])
            crc.update(data[split...])
            #expect(crc.value == whole)
        }
    }
}

@Suite struct RecordCodecTests {
    @Test func roundTripThroughDraft() throws {
        let original = Corpus.messages[0]
        let message = try finished(original, envelope: envelope(4), chunkSize: 7)
        let record = try RecordCodec.decode(message.encodedRecord[...])
        #expect(record.metadata == message.metadata)
        #expect(try record.original() == original)
        #expect(try message.encodedRecord.count % RecordCodec.alignment == 0)
        #expect(message.arrival.envelope.traceHeaders.hasPrefix("Received:"))
    }

    /// A message that fits one packed slice is compressed in one call (zstd knows its size);
    /// a larger one in pieces. Both frames decode to the original, around the boundary too.
    @Test(arguments: [0, 1, 500, MessageDraft.packedSlice - 200, MessageDraft.packedSlice + 10, 3 * MessageDraft.packedSlice])
    func bodiesOnBothSidesOfTheSliceRoundTrip(bodySize: Int) throws {
        var body = [UInt8]()
        for i in 0..<bodySize {
            switch i % 80 {
            case 78: body.append(13)
            case 79: body.append(10)
            default: body.append(UInt8(97 + (i * 7 + i / 13) % 26))
            }
        }
        let original = Array("Subject: size \(bodySize)\r\n\r\n".utf8) + body
        let message = try finished(original, envelope: envelope(3), chunkSize: 16 * 1024)
        let record = try RecordCodec.decode(message.encodedRecord[...])
        #expect(try record.original() == original)
    }

    @Test func oneShotEncodeRoundTrip() throws {
        var draft = try MessageDraft(envelope: envelope(1))
        try draft.append(bytes: Array("Subject: hi\r\n\r\nbody\r\n".utf8))
        let message = try draft.finish()
        let record = try RecordCodec.decode(message.encodedRecord[...])
        #expect(try RecordCodec.encode(record) == message.encodedRecord)
        #expect(record.metadata.subject == "hi")
    }

    @Test func headerFieldsAreParsedAcrossChunksAndFolds() throws {
        let text = "From: a@b\r\nMessage-ID:\r\n <abc@example.test>\r\nSubject: hello\r\n  world\r\n\r\nSubject: not a header\r\n"
        let message = try finished(Array(text.utf8), envelope: envelope(2), chunkSize: 3)
        #expect(message.messageID == "<abc@example.test>")
        #expect(message.subject == "hello world")
        #expect(message.originalSize == UInt64(text.utf8.count))
    }

    @Test func everyFlippedByteIsDetected() throws {
        let message = try finished(Corpus.synthetic(1), envelope: envelope(1))
        let bytes = try message.encodedRecord
        for i in stride(from: 0, to: bytes.count, by: 3) {
            var damaged = bytes
            damaged[i] ^= 0x40
            #expect(throws: RecordCodecError.self) { try RecordCodec.decode(damaged[...]) }
        }
    }

    @Test func everyTruncationIsDetected() throws {
        let bytes = try finished(Corpus.synthetic(2), envelope: envelope(2)).encodedRecord
        for length in 0..<bytes.count {
            #expect(throws: RecordCodecError.self) { try RecordCodec.decode(bytes[0..<length]) }
        }
    }

    /// A forwarding promise rides in the metadata and comes back whole; a record without
    /// one (every record before promises existed) decodes with none; a promise cut short
    /// or followed by stray bytes is an error, never a trap or a wrong promise.
    @Test func forwardingPromiseRoundTrip() throws {
        let promise = ForwardingPromise(prefix: Array("X-Archiverelay-Trace: a\r\nReceived: by a\r\n".utf8), copies: [
            .init(connection: "peer-a", recipients: ["x@example.test"]),
            .init(connection: "peer-b", recipients: []),
            .init(connection: "peer-c", recipients: ["y@example.test", "z@example.test"]),
        ])
        var draft = try MessageDraft(envelope: envelope(1))
        try draft.append(bytes: Array("Subject: hi\r\n\r\nbody\r\n".utf8))
        #expect(draft.originalSize == 21)
        let message = try draft.finish(forwarding: promise)
        let record = try RecordCodec.decode(message.encodedRecord[...])
        #expect(try RecordCodec.encode(record) == message.encodedRecord)
        #expect(message.arrival.forwarding == promise)
        #expect(try finished(Array("Subject: x\r\n\r\n".utf8), envelope: envelope(1)).arrival.forwarding == nil)

        // As a record of its own (referring to the original) and inside the original's record.
        for context in [ArrivalContext(referring: message.metadata.sha256), ArrivalContext(message.metadata)] {
            let fields = ArrivalCodec.encode(message.arrival, in: context)
            #expect(try ArrivalCodec.decode(fields[...], in: context) == message.arrival)
            for length in 0..<fields.count {
                #expect(throws: RecordCodecError.self) { try ArrivalCodec.decode(fields[..<length], in: context) }
            }
            #expect(throws: RecordCodecError.self) { try ArrivalCodec.decode((fields + [0])[...], in: context) }
        }
        #expect(record.arrival == message.arrival)

    }

    @Test func idsAreSortableAndUnique() {
        let early = ArchiveID.make(at: Date(timeIntervalSince1970: 1_000))
        let late = ArchiveID.make(at: Date(timeIntervalSince1970: 2_000))
        #expect(early < late)
        #expect(ArchiveID.isWellFormed(early))
        let many = Set((0..<1000).map { _ in ArchiveID.make() })
        #expect(many.count == 1000)
    }

    @Test func mboxQuotesFromLines() {
        let quoted = Mbox.quote(Array("From x\nFrom y\n>From z\nnot From\n".utf8))
        #expect(String(decoding: quoted, as: UTF8.self) == ">From x\n>From y\n>>From z\nnot From\n")
    }
}

/// Regressions found by Fuzz/FuzzRecordCodec.
@Suite struct RecordFuzzRegressionTests {
    /// A record (CRCs right) claiming an original size beyond Int: decode refuses it
    /// instead of trapping on the conversion. The fuzzer's input is kept as
    /// Fuzz/Corpus/FuzzRecordCodec/regression-original-size.
    @Test func implausibleOriginalSizeIsAnErrorNotATrap() throws {
        let message = try finished(Array("Subject: x\r\n\r\nbody\r\n".utf8), envelope: envelope(1))
        var metadata = message.metadata
        metadata.originalSize = 1 << 63
        let bytes = try RecordCodec.encode(ArchiveRecord(metadata: metadata, compressedBody: [0x28, 0xB5, 0x2F, 0xFD], bodyFormat: .packed))
        #expect(throws: RecordCodecError.implausibleLength(1 << 63)) { try RecordCodec.decode(bytes[...]) }
    }
}
