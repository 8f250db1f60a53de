import Crypto
import DurableFiles
import Foundation

/// A segment file as found on disk, with its header and seal if they are readable.
struct SegmentDescriptor {
    enum SealSource: Equatable { case embedded, sidecar }

    var sequence: UInt64
    var path: String
    /// The segment's size as sealed: offsets address it (`SegmentFile`). After expiry the
    /// file itself is shorter by the removed records (`physicalSize`).
    var fileSize: Int
    var physicalSize: Int
    var header: Result<SegmentHeader, SegmentFormatError>
    var footer: SegmentFooter?
    var sealSource: SealSource?
    /// The records expiry removed (`NNNNNNNN.expiry`, or a pending list the file has
    /// already been rewritten to); nil when none were.
    var expiry: ExpiryManifest?
    /// Why the expiry list there cannot be read or does not fit the file, if so.
    var expiryProblem: String?
    /// An expiry of this segment is under way or was cut short (`NNNNNNNN.expiry.next`):
    /// recovery finishes it.
    var expiryPending = false
    /// The keys its records are opened with, if its header names one.
    var keys: SegmentKeyRing
    /// Where its bytes are, when it was evicted (its stub `NNNNNNNN.seg.remote`); nil for a
    /// file of its own. `path` names the file either way: what expiry writes back.
    var evicted: EvictedSegment?
    /// Reads evicted segments; nil: their records cannot be read (header and seal can).
    var remote: (any RemoteSegmentSource)?
    /// Why its stub cannot be read, when it has no file and a damaged stub: then its
    /// header is unreadable too (the chain check names this), and nothing reads it.
    var stubProblem: String?

    /// How its records are stored (from its header: a header that cannot be read opens as clear).
    var encryption: SegmentEncryption {
        guard case .success(let header) = header else { return .clear }
        return SegmentEncryption(keyID: header.keyID, sequence: sequence, keys: keys)
    }

    var name: String { (path as NSString).lastPathComponent }
    var directory: String { (path as NSString).deletingLastPathComponent }
    var isSealed: Bool { footer != nil }
    /// Records live in `[SegmentHeader.size, recordsEnd)`.
    var recordsEnd: Int {
        if let footer { return Int(clamping: min(footer.dataLength, UInt64(fileSize))) }
        return fileSize
    }
}

/// Lists and classifies the segments of an archive directory (read-only).
enum SegmentCatalog {
    /// `keys` open the records of encrypted segments (a missing key shows when one is read);
    /// `remote` reads those of evicted ones (nil: reading one throws `EvictionError.noSource`).
    static func load(directory: String, keys: SegmentKeyRing, remote: (any RemoteSegmentSource)? = nil) throws -> [SegmentDescriptor] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return try Set(names.compactMap(SegmentName.segmentOrStubSequence(of:))).sorted().map { sequence in
            let path = directory + "/" + SegmentName.file(sequence)
            do {
                return try describe(directory: directory, sequence: sequence, path: path, keys: keys, remote: remote)
            } catch let error as EvictionError {
                // A damaged stub is one segment's fault, not the archive's: listed, never read.
                return SegmentDescriptor(sequence: sequence, path: path, fileSize: 0, physicalSize: 0, header: .failure(.truncated),
                                         keys: keys, remote: remote, stubProblem: "\(error)")
            }
        }
    }

    static func describe(directory: String, sequence: UInt64, path: String, keys: SegmentKeyRing,
                         remote: (any RemoteSegmentSource)?) throws -> SegmentDescriptor {
        let opened = try open(directory: directory, sequence: sequence, path: path, keys: keys, remote: remote)
        opened.file.close()
        return opened.descriptor
    }

    /// The segment's file or, when there is none, its stub (evicted). A file and a stub
    /// both present: the file wins (the stub is left over from an eviction or a compaction
    /// cut short). A segment that is neither was compacted back from its stub as we looked:
    /// its file is opened once more.
    static func storage(directory: String, sequence: UInt64, path: String, remote: (any RemoteSegmentSource)?) throws -> SegmentStorage {
        do {
            return .local(try SystemFile.openReadOnly(path))
        } catch where error.errno == ENOENT {
            if let stub = try EvictionStub.load(directory: directory, sequence: sequence) {
                return .remote(RemoteSegmentReader(stub: stub, source: remote))
            }
            return .local(try SystemFile.openReadOnly(path))
        }
    }

    struct OpenedSegment {
        var descriptor: SegmentDescriptor
        var file: SegmentFile
    }

    /// Opens the segment a descriptor describes. Expiry may have rewritten it since the
    /// descriptor was made: the open file's size then tells, and the segment is described
    /// anew from the file (its lists looked at again).
    /// Evicted since, or back from the bucket: the stub (or its absence) tells.
    static func reopen(_ segment: SegmentDescriptor) throws -> OpenedSegment {
        let file = try storage(directory: segment.directory, sequence: segment.sequence, path: segment.path, remote: segment.remote)
        do {
            if try file.size() == segment.physicalSize, file.evicted == segment.evicted {
                return OpenedSegment(descriptor: segment, file: SegmentFile(file, physicalSize: segment.physicalSize,
                                                                             removed: segment.expiry?.removed ?? [],
                                                                             encryption: segment.encryption))
            }
        } catch {
            file.close()
            throw error
        }
        file.close()
        return try open(directory: segment.directory, sequence: segment.sequence, path: segment.path, keys: segment.keys,
                        remote: segment.remote)
    }

    /// Opens a segment and describes it from the open file. Which expiry list its offsets
    /// follow is decided by the file's size: an expiry rewrite (SegmentCompactor) renames a
    /// shorter file over the segment between installing the next list and the list, so a
    /// file that fits neither list was replaced under us: it is opened again.
    static func open(directory: String, sequence: UInt64, path: String? = nil, keys: SegmentKeyRing,
                     remote: (any RemoteSegmentSource)?) throws -> OpenedSegment {
        let path = path ?? directory + "/" + SegmentName.file(sequence)
        var attempt = 0
        while true {
            let file = try storage(directory: directory, sequence: sequence, path: path, remote: remote)
            do {
                if let described = try describe(file, directory: directory, sequence: sequence, path: path, keys: keys, remote: remote,
                                                lastAttempt: attempt == 2) {
                    return OpenedSegment(descriptor: described, file: SegmentFile(file, physicalSize: described.physicalSize,
                                                                                  removed: described.expiry?.removed ?? [],
                                                                                  encryption: described.encryption))
                }
            } catch {
                file.close()
                throw error
            }
            file.close()
            attempt += 1
        }
    }

    /// nil when the file fits none of the segment's expiry lists and it is worth opening
    /// it again; on the last attempt such a segment is described with the problem noted.
    private static func describe(_ file: SegmentStorage, directory: String, sequence: UInt64, path: String, keys: SegmentKeyRing,
                                 remote: (any RemoteSegmentSource)?, lastAttempt: Bool) throws -> SegmentDescriptor? {
        let size = try file.size()
        let headerBytes = try file.read(at: 0, count: SegmentHeader.size)
        let header = Result { () throws(SegmentFormatError) -> SegmentHeader in try SegmentHeader.decode(headerBytes) }
        var descriptor = SegmentDescriptor(sequence: sequence, path: path, fileSize: size, physicalSize: size, header: header, keys: keys,
                                           evicted: file.evicted, remote: remote)
        let pendingPath = directory + "/" + SegmentName.pendingExpiry(sequence)
        descriptor.expiryPending = FileManager.default.fileExists(atPath: pendingPath)
        do {
            let installed = try ExpiryManifest.load(path: directory + "/" + SegmentName.expiry(sequence))
            let pending = descriptor.expiryPending ? try? ExpiryManifest.load(path: pendingPath) : nil
            if let pending, pending.fileSize == size {
                descriptor.expiry = pending  // rewritten; the list not yet installed
            } else if let installed {
                guard installed.fileSize == size else {
                    guard lastAttempt else { return nil }
                    throw ExpiryManifestError.invalid("the segment is \(size) bytes, its expiry list says \(installed.fileSize)")
                }
                descriptor.expiry = installed
            }
        } catch {
            descriptor.expiryProblem = "\(error)"
        }
        let removedBytes = descriptor.expiry?.removedBytes ?? 0
        descriptor.fileSize = size + removedBytes
        // A sidecar seal wins: it is written only when the segment's own tail is suspect.
        let sidecar = directory + "/" + SegmentName.seal(sequence)
        if let bytes = try? SystemFile.openReadOnly(sidecar).read(at: 0, count: SegmentFooter.size),
           let footer = try? SegmentFooter.decode(bytes), footer.dataLength <= UInt64(descriptor.fileSize) {
            descriptor.footer = footer
            descriptor.sealSource = .sidecar
        } else if size >= SegmentHeader.size + SegmentFooter.size,
                  let footer = try? SegmentFooter.decode(try file.read(at: size - SegmentFooter.size, count: SegmentFooter.size)),
                  footer.dataLength >= UInt64(size - SegmentFooter.size) {
            descriptor.footer = footer
            descriptor.sealSource = .embedded
            // Shorter than sealed with no list that says by what: still a sealed segment
            // (never a torn active one to cut), its records unreadable until the list is back.
            if footer.dataLength != UInt64(descriptor.fileSize - SegmentFooter.size) {
                descriptor.expiry = nil
                descriptor.fileSize = Int(clamping: footer.dataLength) + SegmentFooter.size
                descriptor.expiryProblem = descriptor.expiryProblem
                    ?? "the file is \(descriptor.fileSize - size) bytes shorter than sealed and no expiry list accounts for it"
            }
        }
        return descriptor
    }

    /// Computes the seal for `[0, dataLength)` of a segment by reading it back: the hash
    /// covers what the disk returns, and every record is validated before it is sealed.
    /// `encryption` tells the records' lengths; no key is needed to count them.
    static func computeFooter(path: String, dataLength: Int, previousSealHash: [UInt8],
                              encryption: SegmentEncryption) throws -> SegmentFooter {
        let file = try SystemFile.openReadOnly(path)
        defer { file.close() }
        var hasher = SHA256()
        let chunk = 4 << 20
        var offset = 0
        while offset < dataLength {
            let bytes = try file.read(at: offset, count: min(chunk, dataLength - offset))
            guard !bytes.isEmpty else { throw FileIOError(operation: "read", path: path, errno: EIO) }
            hasher.update(data: bytes)
            offset += bytes.count
        }
        var count: UInt64 = 0
        _ = try SegmentScanner.scan(try SegmentFile(unexpired: file, encryption: encryption), from: SegmentHeader.size, to: dataLength,
                                    skipDamage: true, decrypting: false) { _, _, _, _ in count += 1 }
        return SegmentFooter(recordCount: count, dataLength: UInt64(dataLength),
                             segmentHash: Array(hasher.finalize()), previousSealHash: previousSealHash)
    }
}
