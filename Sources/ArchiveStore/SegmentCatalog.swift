import Crypto
import DurableFiles
import Foundation

/// A segment file as found on disk, with its header and seal if they are readable.
struct SegmentDescriptor {
    enum SealSource: Equatable { case embedded, sidecar }

    var sequence: UInt64
    var path: String
    var fileSize: Int
    var header: Result<SegmentHeader, SegmentFormatError>
    var footer: SegmentFooter?
    var sealSource: SealSource?
    /// The records expiry removed (`NNNNNNNN.expiry`); nil when none were.
    var expiry: ExpiryManifest? {
        didSet { removedRanges = expiry?.removedRanges ?? [:] }
    }
    /// Offsets and lengths of records expiry removed: scanners step over them.
    private(set) var removedRanges: [Int: Int] = [:]
    /// Why the expiry list there cannot be read, if it cannot.
    var expiryProblem: String?
    /// An expiry of this segment is under way or was cut short (`NNNNNNNN.expiry.next`):
    /// recovery finishes it.
    var expiryPending = false

    var name: String { (path as NSString).lastPathComponent }
    var isSealed: Bool { footer != nil }
    /// Records live in `[SegmentHeader.size, recordsEnd)`.
    var recordsEnd: Int {
        if let footer { return Int(clamping: min(footer.dataLength, UInt64(fileSize))) }
        return fileSize
    }
}

/// Lists and classifies the segments of an archive directory (read-only).
enum SegmentCatalog {
    static func load(directory: String) throws -> [SegmentDescriptor] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var result: [SegmentDescriptor] = []
        for name in names {
            guard let sequence = SegmentName.sequence(of: name) else { continue }
            result.append(try describe(directory: directory, sequence: sequence, path: directory + "/" + name))
        }
        return result.sorted { $0.sequence < $1.sequence }
    }

    static func describe(directory: String, sequence: UInt64, path: String) throws -> SegmentDescriptor {
        let file = try SystemFile.openReadOnly(path)
        defer { file.close() }
        let size = try file.size()
        let headerBytes = try file.read(at: 0, count: SegmentHeader.size)
        let header = Result { () throws(SegmentFormatError) -> SegmentHeader in try SegmentHeader.decode(headerBytes) }
        var descriptor = SegmentDescriptor(sequence: sequence, path: path, fileSize: size, header: header)
        // A sidecar seal wins: it is written only when the segment's own tail is suspect.
        let sidecar = directory + "/" + SegmentName.seal(sequence)
        if let bytes = try? SystemFile.openReadOnly(sidecar).read(at: 0, count: SegmentFooter.size),
           let footer = try? SegmentFooter.decode(bytes), footer.dataLength <= UInt64(size) {
            descriptor.footer = footer
            descriptor.sealSource = .sidecar
        } else if size >= SegmentHeader.size + SegmentFooter.size,
                  let footer = try? SegmentFooter.decode(try file.read(at: size - SegmentFooter.size, count: SegmentFooter.size)),
                  footer.dataLength == UInt64(size - SegmentFooter.size) {
            descriptor.footer = footer
            descriptor.sealSource = .embedded
        }
        if descriptor.isSealed {
            do {
                descriptor.expiry = try ExpiryManifest.load(path: directory + "/" + SegmentName.expiry(sequence))
            } catch {
                descriptor.expiryProblem = "\(error)"
            }
            descriptor.expiryPending = FileManager.default.fileExists(atPath: directory + "/" + SegmentName.pendingExpiry(sequence))
        }
        return descriptor
    }

    /// Computes the seal for `[0, dataLength)` of a segment by reading it back: the hash
    /// covers what the disk returns, and every record is validated before it is sealed.
    static func computeFooter(path: String, dataLength: Int, previousSealHash: [UInt8]) throws -> SegmentFooter {
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
        _ = try SegmentScanner.scan(file, from: SegmentHeader.size, to: dataLength, skipDamage: true) { _, _, _, _ in count += 1 }
        return SegmentFooter(recordCount: count, dataLength: UInt64(dataLength),
                             segmentHash: Array(hasher.finalize()), previousSealHash: previousSealHash)
    }
}
