import ArchiveStore

/// Where a node's files go in the bucket (docs/FORMAT.md, "Object storage"). Every key is
/// under the node's prefix (`<node id>/` unless `[archive.remote] prefix` says otherwise),
/// and names the file it holds as it is named on disk, so a listing of the bucket reads
/// like the data directory it was uploaded from:
///
///     <prefix>segments/NNNNNNNN.seg      a sealed segment (a new version after expiry compacts it)
///     <prefix>segments/NNNNNNNN.seal     its sidecar seal, when it has one
///     <prefix>segments/NNNNNNNN.expiry   its expiry list, when expiry removed records from it
///     <prefix>audit/audit.log            the audit log and its head, after each change:
///     <prefix>audit/audit.head           the audit chain anchored off the node
///     <prefix>holds/holds.sqlite         a consistent copy of the legal holds
///
/// The index and the search database are not uploaded: both are rebuilt from the segments.
/// Neither are the encryption keys: they must be kept apart from the bucket.
public struct RemoteKeys: Sendable, Equatable {
    public let prefix: String

    public init(prefix: String) { self.prefix = prefix }

    public var segmentsPrefix: String { prefix + "segments/" }
    public func segment(_ sequence: UInt64) -> String { segmentsPrefix + SegmentName.file(sequence) }
    public func seal(_ sequence: UInt64) -> String { segmentsPrefix + SegmentName.seal(sequence) }
    public func expiryList(_ sequence: UInt64) -> String { segmentsPrefix + SegmentName.expiry(sequence) }
    public var auditLog: String { prefix + "audit/audit.log" }
    public var auditHead: String { prefix + "audit/audit.head" }
    public var holds: String { prefix + "holds/holds.sqlite" }

    /// What a key of this node's prefix holds; nil for a key this layout does not name.
    public func object(at key: String) -> RemoteObject? {
        guard key.hasPrefix(prefix) else { return nil }
        let rest = key.dropFirst(prefix.count)
        switch rest {
        case "audit/audit.log": return .auditLog
        case "audit/audit.head": return .auditHead
        case "holds/holds.sqlite": return .holds
        default: break
        }
        guard rest.hasPrefix("segments/") else { return nil }
        let name = String(rest.dropFirst("segments/".count))
        if let sequence = SegmentName.sequence(of: name) { return .segment(sequence) }
        for (suffix, make) in [(".seal", RemoteObject.seal), (".expiry", RemoteObject.expiryList)] where name.hasSuffix(suffix) {
            if let sequence = SegmentName.sequence(of: String(name.dropLast(suffix.count)) + ".seg") { return make(sequence) }
        }
        return nil
    }

    public func key(of object: RemoteObject) -> String {
        switch object {
        case .segment(let sequence): return segment(sequence)
        case .seal(let sequence): return seal(sequence)
        case .expiryList(let sequence): return expiryList(sequence)
        case .auditLog: return auditLog
        case .auditHead: return auditHead
        case .holds: return holds
        }
    }
}

/// A file of the data directory the tier keeps in the bucket.
public enum RemoteObject: Sendable, Hashable {
    case segment(UInt64)
    case seal(UInt64)
    case expiryList(UInt64)
    case auditLog
    case auditHead
    case holds

    /// The segment it belongs to, if it belongs to one.
    public var sequence: UInt64? {
        switch self {
        case .segment(let s), .seal(let s), .expiryList(let s): return s
        case .auditLog, .auditHead, .holds: return nil
        }
    }
}
