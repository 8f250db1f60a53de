import DurableFiles

/// The zstd dictionaries a segment holds, by id. Dictionary records precede every
/// message record of their segment, so a sequential scan registers them before any
/// record that needs them, and random access loads them from the segment's start.
public struct SegmentDictionaries: Sendable {
    private var byID: [UInt32: ZstdDictionary] = [:]

    public init() {}

    var isEmpty: Bool { byID.isEmpty }
    var all: [ZstdDictionary] { Array(byID.values) }

    func contains(_ dictionary: ZstdDictionary) -> Bool { byID[dictionary.id] === dictionary }

    mutating func add(_ dictionary: ZstdDictionary) { byID[dictionary.id] = dictionary }

    /// The dictionary for `id`; nil for 0 (no dictionary).
    func resolve(_ id: UInt32) throws(RecordCodecError) -> ZstdDictionary? {
        guard id != 0 else { return nil }
        guard let dictionary = byID[id] else { throw .missingDictionary(id) }
        return dictionary
    }

    /// Takes note of a validated record if it is a dictionary record. Returns false for
    /// a dictionary record whose body is not a usable dictionary.
    @discardableResult
    mutating func register(_ header: RecordHeader, _ bytes: ArraySlice<UInt8>, compressionLevel: Int32? = nil) -> Bool {
        guard header.kind == .dictionary else { return true }
        let start = bytes.startIndex + RecordCodec.headerSize
        guard let dictionary = ZstdDictionary(bytes: Array(bytes[start..<(start + header.bodyLength)]), compressionLevel: compressionLevel),
              dictionary.id == header.dictionaryID
        else { return false }
        byID[dictionary.id] = dictionary
        return true
    }

    /// Reads the dictionary records at the start of a segment (they end at the first
    /// message record). `last` is the one written last: the segment's newest; `end` is
    /// where the dictionary records stop.
    static func load(_ file: SegmentFile, limit: Int, compressionLevel: Int32? = nil) throws -> (SegmentDictionaries, last: ZstdDictionary?, end: Int) {
        var result = SegmentDictionaries()
        var last: ZstdDictionary?
        var offset = SegmentHeader.size
        // The kind is in the clear: only dictionary records are decrypted (a damaged
        // message record after them does not make the segment's dictionaries unreadable).
        while offset < limit, case .valid(let header, let stored) = try SegmentScanner.readStored(file, at: offset, limit: limit),
              header.kind == .dictionary {
            let bytes = try SegmentScanner.plaintext(file, stored, header: header, offset: offset)
            if result.register(header, bytes, compressionLevel: compressionLevel) { last = try? result.resolve(header.dictionaryID) }
            offset += header.recordLength
        }
        return (result, last, offset)
    }
}
