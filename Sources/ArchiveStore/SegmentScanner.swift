import DurableFiles

/// Where a run of valid records stops and why.
struct ScanOutcome {
    /// Offset just past the last valid record.
    var validEnd: Int
    var recordCount: Int
    /// Records expiry removed that the scan stepped over.
    var removedCount = 0
    /// Records intact on disk whose GCM tag failed (named in `damages`, not visited).
    var unauthenticatedCount = 0
    /// Invalid byte ranges that are followed by valid records: corruption, since
    /// truncating there would lose records.
    var damages: [(offset: Int, reason: String)] = []
    /// Invalid bytes running from `validEnd` to the end of the scanned range: a torn tail.
    var tornTail: (offset: Int, reason: String)?
}

/// Walks the records of one segment with pread, validating each (header CRC, record CRC).
/// Used by recovery, the index rebuild, readers and verify.
enum SegmentScanner {
    /// Visits each valid record in `[start, end)` in order. The visitor gets the record's
    /// offset, validated header, complete bytes, and the segment's dictionaries seen so far
    /// (dictionary records are registered before the visitor sees them; a scan that starts
    /// past them, from an index checkpoint, loads them from the segment's start first).
    /// With `skipDamage`, the scan resumes at the next valid record after damage (so
    /// every intact record is seen); otherwise it stops at the first damage. Records expiry
    /// removed (`removed`, offset → length: the file's own unless given) are stepped over
    /// unread.
    ///
    /// In an encrypted segment the visitor gets each record as if it were in the clear
    /// (`readRecord`), and the header's `recordLength` is its length on disk. A record whose
    /// tag fails is damage (named, stepped over); a key the ring lacks is thrown. Without
    /// `decrypting` the visitor gets the bytes as stored and no dictionaries: a scan that
    /// hashes or counts records needs no key.
    static func scan(
        _ file: SegmentFile, from start: Int, to end: Int, skipDamage: Bool, removed: [Int: Int]? = nil, decrypting: Bool = true,
        visit: (Int, RecordHeader, ArraySlice<UInt8>, SegmentDictionaries) throws -> Void
    ) throws -> ScanOutcome {
        let removed = removed ?? file.removed
        var outcome = ScanOutcome(validEnd: start, recordCount: 0)
        var dictionaries = start > SegmentHeader.size && decrypting ? try SegmentDictionaries.load(file, limit: end).0 : SegmentDictionaries()
        var offset = start
        while offset < end {
            if let length = removed[offset] {
                offset += length
                outcome.removedCount += 1
                outcome.validEnd = offset
                continue
            }
            switch try readStored(file, at: offset, limit: end) {
            case .valid(let header, let stored):
                let bytes: ArraySlice<UInt8>
                do {
                    bytes = decrypting ? try plaintext(file, stored, header: header, offset: offset) : stored
                } catch let error as SegmentKeyError where error.isAuthentication {
                    outcome.damages.append((offset, "\(error)"))
                    outcome.unauthenticatedCount += 1
                    offset += header.recordLength
                    outcome.validEnd = offset
                    continue
                }
                if decrypting, !dictionaries.register(header, bytes) {
                    outcome.damages.append((offset, "dictionary record does not hold a usable zstd dictionary"))
                }
                try visit(offset, header, bytes, dictionaries)
                offset += header.recordLength
                outcome.recordCount += 1
                outcome.validEnd = offset
            case .invalid(let reason):
                guard let next = try findValidRecord(file, after: offset, limit: end) else {
                    outcome.tornTail = (offset, reason)
                    return outcome
                }
                outcome.damages.append((offset, reason))
                guard skipDamage else { return outcome }
                offset = next
            }
        }
        return outcome
    }

    enum RecordRead {
        case valid(RecordHeader, ArraySlice<UInt8>)
        case invalid(String)
    }

    /// Reads and validates the record at `offset`, never reading past `limit`; a record of
    /// an encrypted segment is decrypted and handed on as the same record in the clear
    /// (its header's `recordLength` stays its length on disk). Throws `SegmentKeyError`
    /// for a key the ring lacks or a tag that fails.
    static func readRecord(_ file: SegmentFile, at offset: Int, limit: Int) throws -> RecordRead {
        let read = try readStored(file, at: offset, limit: limit)
        guard case .valid(let header, let stored) = read else { return read }
        return .valid(header, try plaintext(file, stored, header: header, offset: offset))
    }

    /// The contents of a record as `RecordCodec` reads them: as stored in a plaintext
    /// segment, decrypted in an encrypted one (docs/FORMAT.md, "Encrypted records").
    static func plaintext(_ file: SegmentFile, _ stored: ArraySlice<UInt8>, header: RecordHeader, offset: Int) throws -> ArraySlice<UInt8> {
        switch file.encryption {
        case .clear: return stored
        case .sealed(let cipher): return try cipher.open(stored, header: header, offset: offset)[...]
        case .keyMissing(let error): throw error
        }
    }

    /// Reads the record at `offset` and checks its CRCs as it is on disk (no key needed).
    static func readStored(_ file: SegmentFile, at offset: Int, limit: Int) throws -> RecordRead {
        let headBytes = try file.read(at: offset, count: min(RecordCodec.headerSize, limit - offset))
        var header: RecordHeader
        do {
            header = try RecordCodec.decodeHeader(headBytes[...])
        } catch {
            return .invalid("record header: \(error)")
        }
        header.sealedOverhead = file.encryption.sealedOverhead
        let length = header.recordLength
        guard offset + length <= limit else {
            return .invalid("record of \(length) bytes runs past end \(limit)")
        }
        let bytes = try file.read(at: offset, count: length)
        do {
            _ = try RecordCodec.validate(bytes[...], sealedOverhead: header.sealedOverhead)
        } catch {
            return .invalid("record: \(error)")
        }
        return .valid(header, bytes[...])
    }

    /// True when `[offset, end)` holds only zero bytes: the writer's preallocated space
    /// after the last record (FORMAT.md, "Preallocated tail"), not a torn record.
    static func isZeroFilled(_ file: SegmentFile, from offset: Int, to end: Int) throws -> Bool {
        let window = 1 << 20
        var base = offset
        while base < end {
            let chunk = try file.read(at: base, count: min(window, end - base))
            guard !chunk.isEmpty, chunk.allSatisfy({ $0 == 0 }) else { return false }
            base += chunk.count
        }
        return true
    }

    /// Looks for any valid record at an aligned offset after `offset`. Only runs when
    /// damage was found, so a linear search is acceptable.
    static func findValidRecord(_ file: SegmentFile, after offset: Int, limit: Int) throws -> Int? {
        let window = 1 << 20
        var base = offset + RecordCodec.alignment
        let magic = RecordCodec.magic
        while base + RecordCodec.headerSize <= limit {
            let chunk = try file.read(at: base, count: min(window + RecordCodec.headerSize, limit - base))
            var i = 0
            while i + RecordCodec.headerSize <= chunk.count && i < window {
                let word = UInt32(chunk[i]) | UInt32(chunk[i + 1]) << 8 | UInt32(chunk[i + 2]) << 16 | UInt32(chunk[i + 3]) << 24
                if word == magic, case .valid = try readStored(file, at: base + i, limit: limit) {
                    return base + i
                }
                i += RecordCodec.alignment
            }
            base += window
        }
        return nil
    }
}
