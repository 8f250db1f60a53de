import ArchiveStore
import ForwardQueue
import Foundation
import NIOCore
import RelayConfiguration
import SMTPListener
import Testing

/// docs/CONFIG.md's default column, key by key, against the settings type that owns each
/// default: the defaults exist once, in code, and the document says what they are.
struct DocumentedDefaultsTests {
    /// The default column of the table under `heading`, by key, with backticks and a
    /// trailing note like "(256 MiB)" taken off.
    static func documented(under heading: String) throws -> [String: String] {
        let url = ExampleConfigurationTests.examples.deletingLastPathComponent().appendingPathComponent("docs/CONFIG.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "\n## \(heading)").dropFirst().first, "no section \(heading)")
        var defaults: [String: String] = [:]
        for line in section.components(separatedBy: "\n## ").first?.split(separator: "\n") ?? [] where line.hasPrefix("| `") {
            let cells = line.components(separatedBy: " | ")
            guard cells.count > 2 else { continue }
            let key = cells[0].dropFirst(2).replacingOccurrences(of: "`", with: "")
            let value = cells[1].replacingOccurrences(of: "`", with: "")
            defaults[key] = value.components(separatedBy: " (").first ?? value
        }
        return defaults
    }

    static func seconds(_ amount: TimeAmount) -> String { "\(amount.nanoseconds / 1_000_000_000)" }

    @Test func connectionDefaultsAreThePeerSettings() throws {
        let peer = PeerSettings(name: "peer", host: "peer.example")
        let owned: [String: String] = [
            "port": "\(peer.port)", "tls": peer.tls.rawValue, "max_connections": "\(peer.maxConnections)",
            "queue_limit": "\(peer.queueLimit)", "queue_max_bytes": "\(peer.queueMaxBytes)", "on_full": peer.onFull.rawValue,
            "min_backoff_seconds": "\(Int(peer.minBackoff))", "max_backoff_seconds": "\(Int(peer.maxBackoff))",
            "max_retries": "\(peer.maxRetries)", "connect_timeout_seconds": "\(Int(peer.connectTimeout))",
            "command_timeout_seconds": "\(Int(peer.commandTimeout))", "data_timeout_seconds": "\(Int(peer.dataTimeout))",
        ]
        let documented = try Self.documented(under: "`[[connection]]`")
        for (key, value) in owned { #expect(documented[key] == value, "connection \(key)") }
    }

    @Test func archiveDefaultsAreTheArchiveStoreOptions() throws {
        let options = ArchiveStoreOptions()
        let owned: [String: String] = [
            "compression_level": "\(options.compressionLevel)", "segment_max_bytes": "\(options.maxSegmentBytes)",
            "segment_max_age_seconds": "\(Int(options.maxSegmentAge))", "min_free_bytes": "\(options.minimumFreeBytes)",
            "inflight_max_bytes": "\(options.maxInflightBytes)",
        ]
        let documented = try Self.documented(under: "`[archive]`")
        for (key, value) in owned { #expect(documented[key] == value, "archive \(key)") }
    }

    @Test func listenerDefaultsAreTheListenerConfiguration() throws {
        let listener = ListenerConfiguration(name: "journal", host: "127.0.0.1", port: 2525)
        let owned: [String: String] = [
            "tls": listener.tlsMode.rawValue, "max_connections": "\(listener.maximumConnections)",
            "max_connections_per_client": "\(listener.maximumConnectionsPerClient)",
            "max_message_size": "\(listener.limits.maximumMessageSize)", "max_recipients": "\(listener.limits.maximumRecipients)",
            "max_command_line_length": "\(listener.limits.maximumCommandLineLength)",
            "max_text_line_length": "\(listener.limits.maximumTextLineLength)",
            "command_timeout_seconds": Self.seconds(listener.limits.commandTimeout),
            "data_timeout_seconds": Self.seconds(listener.limits.dataTimeout),
            "session_timeout_seconds": Self.seconds(listener.limits.sessionTimeout),
            "max_consecutive_errors": "\(listener.limits.maximumConsecutiveErrors)",
            "bare_line_endings": listener.bareLineEndings.rawValue,
            "shutdown_grace_seconds": Self.seconds(listener.shutdownGracePeriod),
            "trusted_proxies": listener.trustedProxies.isEmpty ? "[]" : "\(listener.trustedProxies)",
        ]
        let documented = try Self.documented(under: "`[[listener]]`")
        for (key, value) in owned { #expect(documented[key] == value, "listener \(key)") }
        let allowed = try JSONDecoder().decode([String].self, from: Data(try #require(documented["allowed_clients"]).utf8))
        #expect(allowed.compactMap(ClientNetwork.init) == listener.allowedClients && allowed.count == listener.allowedClients.count)
    }

    @Test func nodeDefaultsAreTheNodeSettings() throws {
        let node = NodeSettings()
        let documented = try Self.documented(under: "`[node]`")
        #expect(documented["data_dir"] == node.dataDirectory)
        #expect(documented["admin"] == node.adminAddress)
        #expect(documented["admin_hosts"] == "[]" && node.adminHostNames.isEmpty)
    }
}
