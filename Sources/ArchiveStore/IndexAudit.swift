import DurableFiles
import Foundation

/// Checks that the index still describes the segments before it is trusted, and
/// recreates it when it does not.
enum IndexAudit {
    /// A reason to distrust the index, or nil if it is sound.
    static func problem(index: ArchiveIndex, checkpoint: IndexCheckpoint?, segments: [SegmentDescriptor]) throws -> String? {
        let last = try index.lastEntry()
        guard let checkpoint else {
            return last == nil ? nil : "index has entries but no checkpoint"
        }
        guard let segment = segments.first(where: { $0.sequence == checkpoint.segment }) else {
            return "checkpoint segment \(checkpoint.segment) is missing"
        }
        guard checkpoint.offset >= SegmentHeader.size, checkpoint.offset <= segment.recordsEnd else {
            return "checkpoint offset \(checkpoint.offset) outside \(segment.name)"
        }
        guard let last else { return "index has a checkpoint but no entries" }
        // The newest original and the newest arrival must each point at a valid record
        // that says the same.
        if let problem = try describes(segments, last.position, "newest index entry", { $0.original?.sha256Hex == last.sha256 }) {
            return problem
        }
        if let arrival = try index.lastArrival(),
           let problem = try describes(segments, arrival.position, "newest arrival", { $0.arrival?.id == arrival.id }) {
            return problem
        }
        return nil
    }

    /// Why the record at `position` is not the one the index names (`matches` says), or nil.
    private static func describes(_ segments: [SegmentDescriptor], _ position: ArchivePosition, _ what: String,
                                  _ matches: (RecordContents) -> Bool) throws -> String? {
        guard let described = segments.first(where: { $0.sequence == position.segment }) else {
            return "segment \(position.segment) of the \(what) is missing"
        }
        let file = try SegmentFile.open(described)
        defer { file.close() }
        guard case .valid(let header, let bytes) = try SegmentScanner.readRecord(file, at: position.offset, limit: described.recordsEnd),
              let dictionaries = try? SegmentDictionaries.load(file, limit: described.recordsEnd).0,
              let contents = try? RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries), matches(contents)
        else {
            return "\(what) does not match \(described.name) offset \(position.offset)"
        }
        return nil
    }

    /// Deletes the index files and creates an empty index. WAL and shared-memory files
    /// go first: an old WAL must never be replayed into a new database, while an old
    /// database without its WAL is merely an older consistent snapshot.
    static func recreate(path: String) throws -> ArchiveIndex {
        try Durable.unlinkIfPresent(path + "-wal", faults: nil)
        try Durable.unlinkIfPresent(path + "-shm", faults: nil)
        try Durable.unlinkIfPresent(path, faults: nil)
        return try ArchiveIndex.openWritable(path: path)
    }
}

/// Cheap structural checks of the segment chain done at open and by verify: headers
/// readable and named right, no gaps, only the newest segment unsealed, every link equal
/// to the seal hash of the segment before it. (Verify also rehashes the contents.)
enum ChainCheck {
    static func links(_ segments: [SegmentDescriptor]) -> [ArchiveFault] {
        var faults: [ArchiveFault] = []
        var previous: SegmentDescriptor?
        for (position, segment) in segments.enumerated() {
            defer { previous = segment }
            let header: SegmentHeader
            switch segment.header {
            case .success(let h): header = h
            case .failure(let error):
                faults.append(ArchiveFault(segment: segment.name, offset: 0, reason: segment.stubProblem ?? "segment header: \(error)"))
                continue
            }
            if header.sequence != segment.sequence {
                faults.append(ArchiveFault(segment: segment.name, offset: 0, reason: "header says sequence \(header.sequence)"))
            }
            if !segment.isSealed && position != segments.count - 1 {
                faults.append(ArchiveFault(segment: segment.name, offset: nil, reason: "unsealed segment is not the newest"))
            }
            if let footer = segment.footer, footer.previousSealHash != header.previousSealHash {
                faults.append(ArchiveFault(segment: segment.name, offset: Int(footer.dataLength), reason: "footer link differs from header link"))
            }
            let expected: [UInt8]
            if let previous {
                if segment.sequence != previous.sequence + 1 {
                    faults.append(ArchiveFault(segment: segment.name, offset: nil,
                                               reason: "segments \(previous.sequence + 1)…\(segment.sequence - 1) are missing"))
                }
                expected = previous.footer?.sealHash ?? []
            } else {
                expected = segment.sequence == 1 ? [UInt8](repeating: 0, count: 32) : []
                if segment.sequence != 1 {
                    faults.append(ArchiveFault(segment: segment.name, offset: nil, reason: "segments before \(segment.sequence) are missing"))
                }
            }
            if !expected.isEmpty && header.previousSealHash != expected {
                faults.append(ArchiveFault(segment: segment.name, offset: 32, reason: "chain link does not match the previous segment's seal"))
            }
        }
        return faults
    }
}
