import DurableFiles
import NIOCore

/// The listener's open sessions: enforces the total and per-client connection limits and
/// reaches every session at shutdown.
final class ConnectionRegistry: Sendable {
    enum Admission: Equatable {
        case admitted
        case tooManyConnections
        case tooManyFromClient
    }

    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var perClient: [String: Int] = [:]
        var shuttingDown = false
    }

    private let state = LockedValue(State())
    let maximumConnections: Int
    let maximumPerClient: Int

    init(maximumConnections: Int, maximumPerClient: Int) {
        self.maximumConnections = maximumConnections
        self.maximumPerClient = maximumPerClient
    }

    /// Counts the connection in if the limits allow; an admitted connection must be released.
    func admit(_ channel: any Channel, client: String) -> Admission {
        state.withLock { state in
            if state.channels.count >= maximumConnections { return .tooManyConnections }
            if state.perClient[client, default: 0] >= maximumPerClient { return .tooManyFromClient }
            state.channels[ObjectIdentifier(channel)] = channel
            state.perClient[client, default: 0] += 1
            return .admitted
        }
    }

    func release(_ channel: any Channel, client: String) {
        state.withLock { state in
            guard state.channels.removeValue(forKey: ObjectIdentifier(channel)) != nil else { return }
            let left = state.perClient[client, default: 1] - 1
            state.perClient[client] = left > 0 ? left : nil
        }
    }

    var count: Int { state.withLock { $0.channels.count } }

    /// Marks shutdown and returns the sessions open now.
    func beginShutdown() -> [any Channel] {
        state.withLock { state in
            state.shuttingDown = true
            return Array(state.channels.values)
        }
    }

    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    var openChannels: [any Channel] { state.withLock { Array($0.channels.values) } }
}
