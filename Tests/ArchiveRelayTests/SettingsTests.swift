import ArchiveStore
import ForwardQueue
import Foundation
import LogFormats
import NIOCore
import RelayConfiguration
import RouteEngine
import SMTPListener
import Testing

/// What `ValidatedConfiguration` hands the executable: each component's own settings type,
/// with the file's values over that type's defaults.
struct SettingsTests {
    static func validated(_ text: String) throws -> ValidatedConfiguration {
        try ConfigurationCheck.check(text: text, environment: ConfigurationCheckTests.environment).get()
    }

    static let twoPeers = """
        [node]
        id = "node-a"

        [[listener]]
        name = "journal"
        address = "127.0.0.1:2525"

        [[connection]]
        name = "plain"
        host = "127.0.0.1"
        port = 2626

        [[connection]]
        name = "named"
        host = "127.0.0.1"
        port = 2627
        helo = "relay-a.example"

        [[route]]
        name = "all"
        forward = ["plain", "named"]
        """

    /// A connection without `helo` greets with the node id; one with it keeps its own.
    @Test func peersGreetWithTheNodeIDUnlessTheyNameAHelo() throws {
        let peers = try Self.validated(Self.twoPeers).peers
        #expect(peers.map(\.name) == ["plain", "named"])
        #expect(peers.map(\.heloName) == ["node-a", "relay-a.example"])
    }

    /// A reload keeps the id the node runs with: in the routing table and in the greeting of
    /// the peers that take it by default, not in a `helo` the file names.
    @Test func keepingTheRunningNodeIDChangesOnlyTheDefaultGreeting() throws {
        var validated = try Self.validated(Self.twoPeers)
        validated.keepNodeID(try #require(NodeID("node-old")))
        #expect(validated.routing.nodeID.value == "node-old")
        #expect(validated.peers.map(\.heloName) == ["node-old", "relay-a.example"])
    }

    @Test func everyArchiveKeyReachesTheArchiveOptions() throws {
        let options = try Self.validated("""
            [[listener]]
            name = "journal"
            address = "127.0.0.1:2525"

            [archive]
            compression_level = 7
            segment_max_bytes = 1000000
            segment_max_age_seconds = 600
            min_free_bytes = 0
            inflight_max_bytes = 4096
            """).archive
        #expect(options.compressionLevel == 7)
        #expect(options.maxSegmentBytes == 1_000_000)
        #expect(options.maxSegmentAge == 600)
        #expect(options.minimumFreeBytes == 0)
        #expect(options.maxInflightBytes == 4096)
    }

    @Test func everyNodeKeyReachesTheNodeSettings() throws {
        let node = try Self.validated("""
            [node]
            data_dir = "/var/lib/archiverelay"
            admin = "[::1]:9025"
            admin_hosts = ["archive1.example.com"]
            event_loop_threads = 3
            log_format = "json"

            [[listener]]
            name = "journal"
            address = "127.0.0.1:2525"
            """).node
        #expect(node.dataDirectory == "/var/lib/archiverelay")
        #expect(node.adminAddress == "[::1]:9025")
        #expect(node.adminHostNames == ["archive1.example.com"])
        #expect(node.eventLoopThreads == 3)
        #expect(node.logFormat == .json)
    }

    /// A reload warns that a restart is needed when what only a restart applies changed:
    /// not for routes or connections, nor for a default written out.
    @Test(arguments: [
        ("[[route]]\nname = \"none\"\nforward = [\"plain\"]", false),
        ("[archive]\ncompression_level = 3\ninflight_max_bytes = 268435456", false),
        ("[archive]\ncompression_level = 4", true),
        ("[[listener]]\nname = \"ha\"\naddress = \"127.0.0.1:2700\"", true),
    ])
    func restartFingerprintChangesWithWhatNeedsARestart(addition: String, changed: Bool) throws {
        let running = try Self.validated(Self.twoPeers).restartFingerprint
        #expect((try Self.validated(Self.twoPeers + "\n\n" + addition).restartFingerprint != running) == changed)
    }

    @Test func aNewNodeIDNeedsARestart() throws {
        let renamed = Self.twoPeers.replacingOccurrences(of: "id = \"node-a\"", with: "id = \"node-b\"")
        #expect(try Self.validated(renamed).restartFingerprint != Self.validated(Self.twoPeers).restartFingerprint)
    }

    /// The embedded default runs with every component's own defaults.
    @Test func theEmbeddedDefaultTakesTheComponentsDefaults() throws {
        let validated = try ConfigurationCheck.validate(.embeddedDefault, environment: ConfigurationCheckTests.environment).get()
        #expect(validated.node == NodeSettings())
        #expect(validated.node.dataDirectory == "./data" && validated.node.adminAddress == "127.0.0.1:8025")
        let listener = try #require(validated.listeners.first)
        #expect(validated.listeners.count == 1 && listener.name == "journal" && listener.host == "127.0.0.1" && listener.port == 2525)
        #expect(listener.allowedClients == ClientNetwork.loopback && listener.allowedClients.count == 2)
        #expect(ArchiveOptionsText(validated.archive) == ArchiveOptionsText(ArchiveStoreOptions()))
        #expect(validated.peers.isEmpty && validated.routing.routes.isEmpty)
    }
}

/// The archive options a file sets, as one comparable value.
struct ArchiveOptionsText: Equatable {
    var text: String

    init(_ options: ArchiveStoreOptions) {
        text = "\(options.compressionLevel) \(options.maxSegmentBytes) \(options.maxSegmentAge) "
            + "\(options.minimumFreeBytes) \(options.maxInflightBytes)"
    }
}
