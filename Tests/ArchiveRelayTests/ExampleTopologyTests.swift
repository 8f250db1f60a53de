import Foundation
import RelayConfiguration
import SMTPListener
import Testing

/// The example chains are wired as their comments say: every `[[connection]]` aims at the
/// `trust_trace` listener of the node it names, never at its journal listener (the
/// misconfiguration MisconfigurationTests runs), every port of the loopback setup lies
/// below the ephemeral range (so the examples never collide with tests that bind port 0),
/// and ha-pair/nginx.conf balances over the pair's journal listeners, which trust it.
struct ExampleTopologyTests {
    struct Chain: Sendable, CustomTestStringConvertible {
        let directory: String
        let nodes: [String]
        var testDescription: String { directory }

        func load() throws -> [String: ValidatedConfiguration] {
            try Dictionary(uniqueKeysWithValues: nodes.map { ($0, try ExampleConfigurationTests.load("\(directory)/\($0).toml")) })
        }
    }

    static let chains = [Chain(directory: "ha-pair", nodes: ["node-a", "node-b"]),
                         Chain(directory: "ring-3", nodes: ["node-a", "node-b", "node-c"])]
    static let firstEphemeralPort = 32768

    @Test(arguments: chains)
    func connectionsAimAtThePeersHAListeners(chain: Chain) throws {
        let nodes = try chain.load()
        for (id, node) in nodes {
            #expect(node.routing.nodeID.value == id)
            for connection in node.peers {
                let peer = try #require(nodes[connection.name], "\(id) forwards to \(connection.name), not a node of \(chain.directory)")
                let haListeners = peer.listeners.filter { peer.routing.trustsTrace(onListener: $0.name) }.map { "\($0.host):\($0.port)" }
                #expect(haListeners == ["\(connection.host):\(connection.port)"], "\(id) -> \(connection.name)")
            }
        }
    }

    @Test(arguments: chains)
    func loopbackPortsStayBelowTheEphemeralRange(chain: Chain) throws {
        for (id, node) in try chain.load() {
            let admin = try #require(Int(node.node.adminAddress.split(separator: ":").last ?? ""))
            for port in node.listeners.map(\.port) + [admin] {
                #expect(port > 1024 && port < Self.firstEphemeralPort, "\(chain.directory)/\(id): port \(port)")
            }
        }
    }

    @Test func nginxBalancesOverThePairsJournalListeners() throws {
        let text = try String(contentsOf: ExampleConfigurationTests.examples.appendingPathComponent("ha-pair/nginx.conf"), encoding: .utf8)
        let directives = text.split(separator: "\n").map { $0.split(separator: "#", omittingEmptySubsequences: false)[0].split(separator: " ") }
        let upstreams = directives.filter { $0.first == "server" && $0.count > 1 && $0[1] != "{" }.map { String($0[1]) }
        let listen = try #require(directives.first { $0.first == "listen" }).dropFirst().first.map { String($0.dropLast()) }
        let journals = try Chain(directory: "ha-pair", nodes: ["node-a", "node-b"]).load().values
            .flatMap { $0.listeners.filter { $0.name == "journal" } }
        #expect(upstreams.sorted() == journals.map { "\($0.host):\($0.port)" }.sorted())
        #expect(journals.allSatisfy { !$0.trustedProxies.isEmpty }, "a journal listener does not trust nginx")
        #expect(directives.contains { $0 == ["proxy_protocol", "on;"] })
        let port = try #require(listen?.split(separator: ":").last.flatMap { Int($0) })
        #expect(port < Self.firstEphemeralPort)
    }
}
