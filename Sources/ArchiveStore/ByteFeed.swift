import NIOCore

/// A draft that takes a message's bytes as they arrive: from the listener's buffers, or
/// from any byte collection (tests, the spool).
public protocol ByteFeed {
    mutating func append(raw: UnsafeRawBufferPointer) throws
}

extension ByteFeed {
    public mutating func append(_ chunk: ByteBuffer) throws {
        try chunk.withUnsafeReadableBytes { try append(raw: $0) }
    }

    public mutating func append(bytes: some Collection<UInt8>) throws {
        // Contiguous bytes go straight in; copying through a generic collection from
        // another module runs byte by byte.
        if try bytes.withContiguousStorageIfAvailable({ try append(raw: UnsafeRawBufferPointer($0)) }) != nil { return }
        try Array(bytes).withUnsafeBytes { try append(raw: $0) }
    }
}
