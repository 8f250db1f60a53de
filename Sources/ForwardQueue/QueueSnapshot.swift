import Foundation

/// A consistent picture of the forward queue (taken under one lock): a summary per
/// connection and the entries. Codable: the admin endpoint sends it as JSON and the CLI
/// prints it.
public struct QueueSnapshot: Sendable, Codable, Equatable {
    public struct Connection: Sendable, Codable, Equatable {
        public var name: String
        /// False for entries of a connection the configuration no longer names.
        public var configured: Bool
        public var depth: Int
        public var held: Int
        public var inFlight: Int
        public var bytes: UInt64
        public var oldestAgeSeconds: Double
        public var peerState: PeerState
        public var nextProbe: Date?
        public var lastError: String?
        public var dropped: Int
    }

    public struct Entry: Sendable, Codable, Equatable {
        public var id: UInt64
        public var connection: String
        public var size: UInt64
        public var attempts: Int
        public var nextAttempt: Date?
        public var enqueuedAt: Date
        public var ageSeconds: Double
        public var held: Bool
        public var inFlight: Bool
        public var lastError: String?
        public var message: String
        public var sender: String
        public var recipients: [String]
        public var prefixBytes: Int
    }

    public var takenAt: Date
    public var connections: [Connection]
    public var entries: [Entry]
    /// Damage found in the journal at open (reported, not repaired).
    public var faults: [String]
    /// Set when entries above the last one were left for the next page (`GET /queue?after=`).
    public var nextAfter: UInt64?

    /// Only the entries (and summaries) of `connection`, only held entries if `heldOnly`.
    public func filtered(connection: String?, heldOnly: Bool) -> QueueSnapshot {
        var copy = self
        if let connection { copy.connections = connections.filter { $0.name == connection } }
        copy.entries = entries.filter { (connection == nil || $0.connection == connection) && (!heldOnly || $0.held) }
        return copy
    }
}

extension PeerQueue {
    func summary(now: Date, configured: Bool) -> QueueSnapshot.Connection {
        QueueSnapshot.Connection(
            name: settings.name, configured: configured, depth: depth, held: heldCount, inFlight: inFlight.count,
            bytes: bytes, oldestAgeSeconds: oldestEnqueuedAt.map { now.timeIntervalSince($0) } ?? 0,
            peerState: peerState, nextProbe: nextProbe, lastError: lastPeerError, dropped: droppedWhenFull)
    }

    func entrySnapshots(now: Date, after: UInt64 = 0) -> [QueueSnapshot.Entry] {
        entries.values.filter { $0.id > after }.sorted { $0.id < $1.id }.map { e in
            QueueSnapshot.Entry(
                id: e.id, connection: e.item.connection, size: e.item.size, attempts: e.attempts, nextAttempt: e.nextAttempt,
                enqueuedAt: e.enqueuedAt, ageSeconds: now.timeIntervalSince(e.enqueuedAt), held: e.isHeld,
                inFlight: inFlight.contains(e.id), lastError: e.lastError, message: e.item.reference.description,
                sender: e.item.sender, recipients: e.item.recipients, prefixBytes: e.item.prefix.count)
        }
    }
}
