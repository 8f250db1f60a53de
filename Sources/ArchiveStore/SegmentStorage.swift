import DurableFiles
import Foundation

/// Where a segment's bytes are read from: its file, or, once evicted, the bucket through a
/// `RemoteSegmentSource`. Offsets are physical (`SegmentFile` maps logical ones to them).
enum SegmentStorage {
    case local(SystemFile)
    case remote(RemoteSegmentReader)

    /// Up to `count` bytes at `offset` (fewer only at the end).
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        switch self {
        case .local(let file): return try file.read(at: offset, count: count)
        case .remote(let reader): return try reader.read(at: offset, count: count)
        }
    }

    func size() throws -> Int {
        switch self {
        case .local(let file): return try file.size()
        case .remote(let reader): return reader.stub.segment.size
        }
    }

    func close() {
        if case .local(let file) = self { file.close() }
    }

    /// Where the bytes are, when the segment is evicted.
    var evicted: EvictedSegment? {
        if case .remote(let reader) = self { return reader.stub.segment }
        return nil
    }
}

/// Reads an evicted segment through its source. The stub answers for the header and the
/// footer; everything else is fetched in windows that grow while reads run forward (a scan,
/// `verify`: few large requests) and start small again at a jump (one record: `archive get`).
/// The last few windows are kept, so a record read after its header, and a segment's
/// dictionary records read for each of its records, cost no request again.
final class RemoteSegmentReader: Sendable {
    static let smallestWindow = 256 << 10
    static let largestWindow = 16 << 20
    /// Bytes of windows kept at most.
    static let keptBytes = 32 << 20

    let stub: EvictionStub
    let source: (any RemoteSegmentSource)?
    private let state = LockedValue(Windows())

    private struct Window {
        var offset: Int
        var bytes: [UInt8]
        var end: Int { offset + bytes.count }
    }

    private struct Windows {
        /// Most recently used first.
        var kept: [Window] = []
        var nextSize = RemoteSegmentReader.smallestWindow
        /// Where the last fetched window ended: a read from inside it reads on forward.
        var lastFetched: Range<Int>?
        /// Requests made, for tests that count them.
        var requests = 0
    }

    init(stub: EvictionStub, source: (any RemoteSegmentSource)?) {
        self.stub = stub
        self.source = source
    }

    var requests: Int { state.withLock { $0.requests } }

    func read(at offset: Int, count: Int) throws -> [UInt8] {
        let size = stub.segment.size
        let end = min(size, offset + max(0, count))
        guard offset >= 0, offset < end else { return [] }
        if end <= stub.head.count { return Array(stub.head[offset..<end]) }
        let tailStart = size - stub.tail.count
        if offset >= tailStart { return Array(stub.tail[(offset - tailStart)..<(end - tailStart)]) }
        if let hit = state.withLock({ windows in Self.cached(&windows, offset, end) }) { return hit }
        guard let source else { throw EvictionError.noSource(segment: stub.segment.name, key: stub.segment.key) }
        let length = state.withLock { windows -> Int in
            let forward = windows.lastFetched.map { $0.lowerBound <= offset && offset <= $0.upperBound } ?? false
            windows.nextSize = forward ? min(Self.largestWindow, windows.nextSize * 2) : Self.smallestWindow
            return min(size, offset + max(end - offset, windows.nextSize)) - offset
        }
        let bytes = try source.read(stub.segment, at: offset, count: length)
        guard bytes.count == length else {
            throw EvictionError.remoteMismatch(segment: stub.segment.name, key: stub.segment.key,
                                               reason: "\(length) bytes asked at offset \(offset), \(bytes.count) returned: the object is shorter than uploaded")
        }
        state.withLock { windows in
            windows.requests += 1
            windows.lastFetched = offset..<(offset + length)
            windows.kept.insert(Window(offset: offset, bytes: bytes), at: 0)
            var total = 0
            windows.kept = Array(windows.kept.prefix { window in
                total += window.bytes.count
                return total <= Self.keptBytes || window.offset == offset
            })
        }
        return Array(bytes[0..<(end - offset)])
    }

    private static func cached(_ windows: inout Windows, _ offset: Int, _ end: Int) -> [UInt8]? {
        guard let index = windows.kept.firstIndex(where: { $0.offset <= offset && end <= $0.end }) else { return nil }
        let window = windows.kept[index]
        if index > 0 {
            windows.kept.remove(at: index)
            windows.kept.insert(window, at: 0)
        }
        return Array(window.bytes[(offset - window.offset)..<(end - window.offset)])
    }
}
