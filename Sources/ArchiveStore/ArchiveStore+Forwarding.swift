import DurableFiles

extension ArchiveStore {
    /// The arrival records (and older message records) after `position` that carry a
    /// forwarding promise, in append order. The forward queue calls it at open, before anything is committed, for the
    /// promises its journal may have lost in a crash. Reads from `position` on; damage is
    /// stepped over to the next intact record (`archive verify` names it), and a record
    /// whose checksums hold but whose metadata cannot be read is named in `faults` and
    /// passed over, so the node still starts.
    public func forwardings(after position: ArchivePosition) throws -> (records: [ArchivedForwarding], faults: [String]) {
        var records: [ArchivedForwarding] = []
        var faults: [String] = []
        let segments = try catalog()
        for segment in segments where segment.sequence >= position.segment {
            // In the position's own segment, from the record there (it is skipped below).
            let start = segment.sequence == position.segment ? max(SegmentHeader.size, position.offset) : SegmentHeader.size
            try scanMessages(segment, from: start) { here, header, bytes, dictionaries in
                guard here > position else { return }
                do {
                    guard let arrival = try RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries).arrival,
                          arrival.forwarding != nil else { return }
                    records.append(ArchivedForwarding(position: here, arrival: arrival))
                } catch {
                    faults.append("\(here): \(error)")
                }
            }
        }
        return (records, faults)
    }

    /// The position of the archive's last message or arrival record; nil when it holds
    /// none. Reads the newest segment that has one.
    public func lastMessagePosition() throws -> ArchivePosition? {
        for segment in try catalog().reversed() {
            var last: ArchivePosition?
            try scanMessages(segment, from: SegmentHeader.size) { here, _, _, _ in last = here }
            if let last { return last }
        }
        return nil
    }

    /// The archive's segments as this store reads them (its keys, its bucket).
    func catalog() throws -> [SegmentDescriptor] {
        try SegmentCatalog.load(directory: layout.archiveDirectory, keys: options.keys.ring, remote: options.remoteSegments)
    }

    private func scanMessages(_ segment: SegmentDescriptor, from start: Int,
                              _ visit: (ArchivePosition, RecordHeader, ArraySlice<UInt8>, SegmentDictionaries) throws -> Void) throws {
        guard case .success = segment.header else { return }
        let file = try SegmentFile.open(segment)
        defer { file.close() }
        _ = try SegmentScanner.scan(file, from: start, to: segment.recordsEnd, skipDamage: true) { offset, header, bytes, dictionaries in
            guard header.kind != .dictionary else { return }
            try visit(ArchivePosition(segment: segment.sequence, offset: offset), header, bytes, dictionaries)
        }
    }
}
