import AuditTrail
import Crypto
import DurableFiles
import Foundation

/// The result of `verify`: every fault names a segment and, where it applies, an offset.
public struct VerifyReport: Sendable {
    public var segments = 0
    public var records = 0
    public var faults: [ArchiveFault] = []
    /// Where the index disagrees with the segments (or cannot be read): `list`, `digest`
    /// and dedupe go wrong, nothing archived is lost. `archive reindex` rebuilds it.
    public var indexFaults: [ArchiveFault] = []
    /// Conditions that are not damage, e.g. an in-flight tail on a running node.
    public var notes: [String] = []
    /// Records expiry removed (listed in the segments' expiry lists), and how many under each rule.
    public var removedRecords = 0
    public var removedByRule: [String: Int] = [:]
    /// Segments evicted to the bucket; those of them whose records were not read (no
    /// source given) had their header, seal and chain checked from their stubs only.
    public var evictedSegments = 0
    public var evictedUnread = 0

    public var isClean: Bool { faults.isEmpty && indexFaults.isEmpty }
}

extension ArchiveReader {
    /// Checks everything: each record's CRCs, decompression and SHA-256; each sealed
    /// segment's content hash and record count; the hash chain across segments (edits,
    /// deletions and insertions break it); and the index against the records. Read-only.
    /// An evicted segment is read from the bucket as if it were local, given a source
    /// (`remote`); without one its stub's header and seal take part in the chain check and
    /// its records are left unread (a note, not a fault).
    public func verify() throws -> VerifyReport {
        var report = VerifyReport()
        let crossCheck = openCrossCheck(&report)
        let cache = SegmentReadCache()
        // Listed after the index's snapshot began, so they hold every record it names.
        var segments = try SegmentCatalog.load(directory: layout.archiveDirectory, keys: keys, remote: remote)
        report.segments = segments.count
        report.faults += ChainCheck.links(segments)
        for position in segments.indices {
            guard case .success = segments[position].header else { continue }
            let opened = try SegmentCatalog.reopen(segments[position])  // a running node's expiry may have rewritten it
            let segment = opened.descriptor
            segments[position] = segment
            let file = opened.file
            defer { file.close() }
            if let evicted = segment.evicted {
                report.evictedSegments += 1
                guard remote != nil else {
                    report.evictedUnread += 1
                    report.notes.append("\(segment.name): evicted to the bucket (\(evicted.key)): header, seal and chain checked from its stub; its records need [archive.remote] (--config)")
                    crossCheck?.skip(segment: segment.sequence)
                    report.faults += Self.expiryListFaults(segment)
                    continue
                }
                if let problem = try Self.stubProblem(file.storage) {
                    report.faults.append(ArchiveFault(segment: segment.name, offset: nil, reason: problem))
                }
            }
            var count: UInt64 = 0
            // A segment expiry touched is checked by its record list instead of its SHA-256.
            var listed = segment.expiry.map { RecordListDigest(removed: $0.removed) }
            // Without its key a segment's records are counted and its seal checked, not read.
            let keyProblem = file.encryption.problem
            if let keyProblem { report.faults.append(ArchiveFault(segment: segment.name, offset: nil, reason: "\(keyProblem)")) }
            let outcome = try SegmentScanner.scan(file, from: SegmentHeader.size, to: segment.recordsEnd, skipDamage: true,
                                                  decrypting: keyProblem == nil) { offset, header, bytes, dictionaries in
                count += 1
                // The record list covers records as stored; an encrypted one is read in the clear.
                if listed != nil {
                    listed?.add(offset: offset, bytes: header.sealedOverhead == 0 ? bytes : try file.read(at: offset, count: header.recordLength)[...])
                }
                guard keyProblem == nil else { return }
                switch header.kind {
                case .dictionary:
                    return
                case .message:
                    do {
                        let record = try RecordCodec.decode(bytes, dictionaries: dictionaries)
                        var rows = IndexRows()
                        rows.add(record.arrival.map { .originalWithArrival(record.metadata, $0) } ?? .original(record.metadata),
                                 segment: segment.sequence, offset: offset, storedSize: header.recordLength)
                        crossCheck?.record(rows)
                        let original = try record.original()
                        if let arrival = record.arrival, arrival.wrapper != nil {
                            _ = try arrival.asReceived(original: original, originalSHA256: record.metadata.sha256)  // the wrapper rebuilds what arrived
                        }
                    } catch {
                        report.faults.append(ArchiveFault(segment: segment.name, offset: offset, reason: "message body: \(error)"))
                    }
                case .arrival:
                    do {
                        let contents = try RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries)
                        var rows = IndexRows()
                        rows.add(contents, segment: segment.sequence, offset: offset, storedSize: header.recordLength)
                        crossCheck?.record(rows)
                        if case .arrival(let arrival, let reference) = contents, let problem = asReceivedProblem(arrival, reference, dictionaries: cache) {
                            report.faults.append(ArchiveFault(segment: segment.name, offset: offset, reason: "arrival \(arrival.id): \(problem)"))
                        }
                    } catch {
                        report.faults.append(ArchiveFault(segment: segment.name, offset: offset, reason: "arrival: \(error)"))
                    }
                }
            }
            count += UInt64(outcome.unauthenticatedCount)  // records all the same: the footer counts them
            report.records += Int(count)
            report.faults += outcome.damages.map { ArchiveFault(segment: segment.name, offset: $0.offset, reason: $0.reason) }
            if let torn = outcome.tornTail {
                if segment.isSealed || position != segments.count - 1 {
                    report.faults.append(ArchiveFault(segment: segment.name, offset: torn.offset, reason: torn.reason))
                } else if try SegmentScanner.isZeroFilled(file, from: torn.offset, to: segment.fileSize) {
                    report.notes.append("\(segment.name): \(segment.fileSize - torn.offset) bytes preallocated after the last record")
                } else {
                    report.notes.append("\(segment.name): incomplete tail at offset \(torn.offset) (in flight, or truncated at next open)")
                }
            }
            guard let footer = segment.footer else { continue }
            let removedCount = UInt64(segment.expiry?.removed.count ?? 0)
            if footer.recordCount != count + removedCount {
                report.faults.append(ArchiveFault(segment: segment.name, offset: Int(footer.dataLength),
                                                  reason: "footer counts \(footer.recordCount) records, found \(count)"
                                                      + (removedCount > 0 ? " and \(removedCount) removed by expiry" : "")))
            }
            report.faults += Self.expiryListFaults(segment)
            if let manifest = segment.expiry, let listed {
                report.faults += Self.expiryFaults(segment, manifest, footer: footer, digest: listed.finalize())
                report.removedRecords += manifest.removed.count
                for r in manifest.removed { report.removedByRule[r.rule, default: 0] += 1 }
            } else if segment.expiryProblem == nil, try Self.hash(file.storage, length: Int(footer.dataLength)) != footer.segmentHash {
                report.faults.append(ArchiveFault(segment: segment.name, offset: Int(footer.dataLength),
                                                  reason: "segment contents do not match the sealed SHA-256, and no expiry list accounts for a change: tampering or damage"))
            }
            if segment.sealSource == .sidecar && segment.fileSize > Int(footer.dataLength) {
                report.notes.append("\(segment.name): \(segment.fileSize - Int(footer.dataLength)) bytes after the sidecar seal (unacknowledged writes after an I/O error)")
            }
        }
        checkExpiryAgainstAudit(segments, &report)
        if let crossCheck {
            report.indexFaults += crossCheck.finish()
            if crossCheck.notYetIndexed > 0 {
                report.notes.append("index: \(crossCheck.notYetIndexed) records after its checkpoint are not indexed yet (a running node indexes them within seconds, a stopped one at start)")
            }
            if crossCheck.laterCopies > 0 {
                report.notes.append("index: \(crossCheck.laterCopies) records are second copies of a message indexed earlier (stored while dedupe was off)")
            }
        }
        return report
    }

    /// Every expiry list must be the one the audit log's last `archive.expire` entry naming
    /// its segment recorded: a list written or edited by anyone but an expiry run (records
    /// removed without an expiry entry) shows here, as long as the log is intact
    /// (`archive audit verify`). A run still under way (`expiry.plan`) is let be.
    private func checkExpiryAgainstAudit(_ segments: [SegmentDescriptor], _ report: inout VerifyReport) {
        let listed = segments.filter { $0.expiry != nil }
        guard !listed.isEmpty else { return }
        let running = (try? ExpiryPlan.load(layout)).flatMap { $0 }.map { Set($0.records.map(\.segment)) } ?? []
        let log = layout.dataDirectory + "/audit/audit.log"
        guard FileManager.default.fileExists(atPath: log) else {
            report.faults.append(ArchiveFault(segment: "audit", offset: nil,
                                              reason: "\(listed.count) segments have expiry lists and there is no audit log to check them against"))
            return
        }
        var recorded: [UInt64: String] = [:]
        do {
            for record in try AuditLog(dataDirectory: URL(fileURLWithPath: layout.dataDirectory)).entries() where record.entry.action == "archive.expire" {
                recorded.merge(ExpiryPlan.parseLists(record.entry.arguments["lists"] ?? "")) { _, later in later }
            }
        } catch {
            report.faults.append(ArchiveFault(segment: "audit", offset: nil, reason: "audit log unreadable, expiry lists not checked: \(error)"))
            return
        }
        for segment in listed where !running.contains(segment.sequence) {
            guard let manifest = segment.expiry else { continue }
            let actual = Hex.encode(SHA256.hash(data: manifest.encode()))
            guard let expected = recorded[segment.sequence] else {
                report.faults.append(ArchiveFault(segment: segment.name, offset: nil,
                                                  reason: "its expiry list is in no archive.expire entry of the audit log: records removed without an expiry entry (tampering)"))
                continue
            }
            if expected != actual {
                report.faults.append(ArchiveFault(segment: segment.name, offset: nil,
                                                  reason: "its expiry list is not the one the audit log recorded (SHA-256 \(actual), recorded \(expected)): tampering"))
            }
        }
        if !running.isEmpty { report.notes.append("an expiry run is unfinished (archive/expiry.plan): the node finishes it") }
    }

    /// What is wrong with a segment expiry removed records from: its list must name this
    /// segment as sealed, the records there and the hashes listed for the removed ones must
    /// give the record-list digest (any other change shows). That the file holds nothing
    /// of the removed records is given: its size is the sealed size less theirs, and every
    /// byte left belongs to a record the digest covers (or to the header or footer).
    private static func expiryFaults(_ segment: SegmentDescriptor, _ manifest: ExpiryManifest, footer: SegmentFooter,
                                     digest: [UInt8]) -> [ArchiveFault] {
        var faults: [ArchiveFault] = []
        if manifest.sequence != segment.sequence || manifest.sealedSHA256 != footer.segmentHash {
            faults.append(ArchiveFault(segment: segment.name, offset: nil, reason: "its expiry list belongs to another segment"))
        }
        if digest != manifest.recordListDigest {
            faults.append(ArchiveFault(segment: segment.name, offset: nil,
                                       reason: "records differ from those it was sealed with (record-list digest mismatch): changed or removed without an expiry entry: tampering or damage"))
        }
        return faults
    }

    /// Why an arrival's original or its bytes as received cannot be had back, or nil: the
    /// reference must name a message record of that SHA-256, and the wrapper must rebuild
    /// bytes of the recorded size and SHA-256.
    /// An original in an evicted segment that cannot be read (no source) is not checked.
    private func asReceivedProblem(_ arrival: Arrival, _ reference: OriginalReference, dictionaries: SegmentReadCache) -> String? {
        do {
            let record = try ArchiveStore.readRecord(archiveDirectory: layout.archiveDirectory, segment: reference.position.segment,
                                                     offset: reference.position.offset, keys: keys, remote: remote, dictionaries: dictionaries)
            guard record.metadata.sha256 == reference.sha256 else { return "its original's record at \(reference.position) holds another message" }
            guard let wrapper = arrival.wrapper else {
                return arrival.receivedSHA256 == reference.sha256 ? nil : "received SHA-256 differs from its original's, and no wrapper"
            }
            let bytes = wrapper.reconstruct(original: try record.original())
            guard UInt64(bytes.count) == arrival.receivedSize, Array(SHA256.hash(data: bytes)) == arrival.receivedSHA256 else {
                return "the wrapper does not rebuild the message as received"
            }
            return nil
        } catch EvictionError.noSource {
            return nil
        } catch {
            return "its original at \(reference.position): \(error)"
        }
    }

    /// The index's side of `verify`; nil (with a note or a fault) when there is none to check.
    private func openCrossCheck(_ report: inout VerifyReport) -> IndexCrossCheck? {
        do {
            guard let check = try IndexCrossCheck.begin(path: layout.indexPath) else {
                report.notes.append("index: none (list and digest scan the segments; the node rebuilds it at start, archive reindex now)")
                return nil
            }
            return check
        } catch {
            report.indexFaults.append(ArchiveFault(segment: ArchiveLayout.indexFileName, offset: nil, reason: "index unreadable: \(error)"))
            return nil
        }
    }

    /// What is wrong with a sealed segment's expiry lists, read without its records.
    private static func expiryListFaults(_ segment: SegmentDescriptor) -> [ArchiveFault] {
        var faults: [ArchiveFault] = []
        if let problem = segment.expiryProblem {
            faults.append(ArchiveFault(segment: segment.name, offset: nil, reason: "expiry list \(SegmentName.expiry(segment.sequence)): \(problem)"))
        }
        if segment.expiryPending {
            faults.append(ArchiveFault(segment: segment.name, offset: nil,
                                       reason: "an expiry of this segment was cut short (\(SegmentName.pendingExpiry(segment.sequence))); the node finishes it when it opens the archive"))
        }
        return faults
    }

    /// Whether the bucket's copy begins and ends with the bytes its stub holds (what the
    /// catalog and the chain check read in their place); nil if it does.
    private static func stubProblem(_ storage: SegmentStorage) throws -> String? {
        guard case .remote(let reader) = storage, let source = reader.source else { return nil }
        let stub = reader.stub
        let head = try source.read(stub.segment, at: 0, count: stub.head.count)
        let tail = try source.read(stub.segment, at: stub.segment.size - stub.tail.count, count: stub.tail.count)
        guard head == stub.head, tail == stub.tail else {
            return "the bucket's copy (\(stub.segment.key)) does not begin and end as its stub \(SegmentName.evicted(stub.segment.sequence)) says: replaced or damaged"
        }
        return nil
    }

    static func hash(_ file: SegmentStorage, length: Int) throws -> [UInt8] {
        var hasher = SHA256()
        var offset = 0
        while offset < length {
            let bytes = try file.read(at: offset, count: min(4 << 20, length - offset))
            if bytes.isEmpty { break }
            hasher.update(data: bytes)
            offset += bytes.count
        }
        return Array(hasher.finalize())
    }

    /// Rebuilds the index and the search index from the segments. Takes the directory
    /// lock, so it refuses to run while a node has the archive open. Returns the number of
    /// originals indexed.
    public static func reindex(dataDirectory: String, keys: SegmentKeyRing = .none, remote: (any RemoteSegmentSource)? = nil) throws -> Int {
        let layout = ArchiveLayout(dataDirectory: dataDirectory)
        guard FileManager.default.fileExists(atPath: layout.archiveDirectory) else {
            throw ArchiveStoreError.notFound("no archive in \(dataDirectory)")
        }
        guard let lock = try DirectoryLock.take(path: layout.lockPath) else { throw ArchiveStoreError.locked(path: layout.lockPath) }
        defer { lock.release() }
        let segments = try SegmentCatalog.load(directory: layout.archiveDirectory, keys: keys, remote: remote)
        let index = try IndexAudit.recreate(path: layout.indexPath)
        var total = 0
        for segment in segments {
            guard case .success = segment.header else { continue }
            let file = try SegmentFile.open(segment)
            defer { file.close() }
            var batch = IndexRows()
            var end: IndexCheckpoint?
            _ = try SegmentScanner.scan(file, from: SegmentHeader.size, to: segment.recordsEnd, skipDamage: true) { offset, header, bytes, dictionaries in
                guard header.kind != .dictionary else { return }
                batch.add(try RecordCodec.decodeContents(bytes, header: header, dictionaries: dictionaries),
                          segment: segment.sequence, offset: offset, storedSize: header.recordLength)
                end = IndexCheckpoint(segment: segment.sequence, offset: offset + header.recordLength)
            }
            if let end {
                try index.insert(batch, checkpoint: end)
                total += batch.originals.count
            }
        }
        _ = try ArchiveSearch.rebuild(dataDirectory: dataDirectory, keys: keys, remote: remote)
        return total
    }
}
