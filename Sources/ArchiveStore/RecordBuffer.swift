import DurableFiles
import Foundation

/// One record as a draft builds it and the writer appends it: the header (filled in
/// last), the zstd body, the metadata, the trailer. Its bytes are kept in blocks charged
/// to the node's `InflightBudget`; once the budget refuses a block, the rest of the record
/// goes to a spill file, and the record is its blocks followed by that file's bytes.
///
/// Blocks rather than one growing array: an array that grows doubles its capacity and
/// copies itself, so a 50 MB record held up to 64 MiB and passed through 96 MiB while it
/// grew; and the writer appends the blocks as they are, so committing copies nothing.
///
/// `@unchecked Sendable`: one draft fills it; once sealed it is only read (the writer
/// thread, the forward queue), and `deinit`'s release goes through the budget's lock.
final class RecordBuffer: @unchecked Sendable {
    /// Blocks grow by doubling up to this size: big enough that a write of one costs
    /// little beside its bytes, small enough that a record's last block, charged whole
    /// however little of it is used, wastes little of the budget.
    static let largestBlock = 256 << 10
    /// The first block's least size: the record of most mail fits in it, so the writer
    /// appends it with one write, even when the message's first chunk was short.
    static let smallestBlock = 4 << 10

    private let budget: InflightBudget
    private(set) var blocks: [[UInt8]] = []
    /// The last block is full at this many bytes (its charge).
    private var blockLimit = 0
    private var nextBlockSize = RecordBuffer.smallestBlock
    private var charged = 0
    /// Record bytes in memory, from offset 0.
    private(set) var memoryCount = 0
    /// After `memoryCount` bytes the record goes on in this file, from its offset 0.
    private(set) var spill: SystemFile?
    private(set) var spilledCount = 0
    /// The checksum of every byte after the header, kept as they come, so that sealing a
    /// spilled record reads nothing back (`CRC32C.combine`).
    private(set) var afterHeader = CRC32C()

    init(budget: InflightBudget) {
        self.budget = budget
    }

    deinit { budget.release(memory: charged, spilled: spilledCount) }

    /// Bytes of the record so far, header included once anything is written.
    var count: Int { memoryCount + spilledCount }

    /// Sizes the first block for about `bytes` (a hint; the budget still decides).
    func expect(_ bytes: Int) {
        guard blocks.isEmpty else { return }
        nextBlockSize = min(max(bytes, Self.smallestBlock), Self.largestBlock)
    }

    /// Appends record bytes after the header.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        if count == 0 {
            try Self.placeholder.withUnsafeBytes { try store($0) }
        }
        afterHeader.update(bytes)
        try store(bytes)
    }

    func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Puts the finished header in front.
    func setHeader(_ header: [UInt8]) throws {
        precondition(header.count == RecordCodec.headerSize && count >= header.count)
        if memoryCount > 0 {
            blocks[0].replaceSubrange(0..<header.count, with: header)
        } else {
            try spill?.write(header[...], at: 0)
        }
    }

    private static let placeholder = [UInt8](repeating: 0, count: RecordCodec.headerSize)

    private func store(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            if let spill {
                try spill.write(rest, at: spilledCount)
                spilledCount += rest.count
                budget.addSpilled(rest.count)
                return
            }
            guard let last = blocks.indices.last, blocks[last].count < blockLimit else {
                try addBlock()
                continue
            }
            let n = min(blockLimit - blocks[last].count, rest.count)
            blocks[last].append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<n]))
            memoryCount += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
    }

    /// A new block if the budget has room for it, else the spill file from here on.
    private func addBlock() throws {
        let size = nextBlockSize
        guard budget.take(size) else {
            spill = try budget.makeSpillFile()
            return
        }
        var block: [UInt8] = []
        block.reserveCapacity(size)
        blocks.append(block)
        blockLimit = size
        charged += size
        nextBlockSize = min(size * 2, Self.largestBlock)
    }

    // MARK: Reading a finished record

    /// Hands the record's bytes to `body` in order: each block, then the spill file in
    /// pieces of at most `largestBlock` read into one buffer.
    func forEachPiece(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        for block in blocks {
            try block.withUnsafeBytes { try body($0) }
        }
        guard let spill, spilledCount > 0 else { return }
        var piece = [UInt8](repeating: 0, count: min(spilledCount, Self.largestBlock))
        var offset = 0
        while offset < spilledCount {
            let n = min(piece.count, spilledCount - offset)
            try piece.withUnsafeMutableBytes { try spill.readExactly(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<n]), at: offset) }
            try piece.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            offset += n
        }
    }

    /// The bytes `range` of the record, copied out.
    func bytes(_ range: Range<Int>) throws -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(range.count)
        var start = 0
        try forEachPiece { piece in
            let end = start + piece.count
            defer { start = end }
            let lower = max(range.lowerBound, start), upper = min(range.upperBound, end)
            guard lower < upper else { return }
            result.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[(lower - start)..<(upper - start)]))
        }
        return result
    }
}
