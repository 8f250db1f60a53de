import Foundation
import TestSupport
import Testing

/// The probes of the public smtpsmug scanner, reimplemented (Scripts/smuggling_probes.py)
/// and run against a live node: no malformed end-of-data sequence may end a message, and
/// whatever is accepted is archived whole, as one message.
@Suite(.serialized, .timeLimit(NodeTestSupport.scaledMinutes(2)))
struct SmugglingProbeTests {
    @Test func smtpsmugProbesFindNothing() async throws {
        let workspace = try NodeWorkspace()
        defer { workspace.tearDown() }
        let (root, children, node) = (workspace.root, workspace.children, workspace.node)
        let server = try await node.start(children)
        let script = NodeTestSupport.packageRoot.appendingPathComponent("Tests/NodeTests/Scripts/smuggling_probes.py").path
        let run = try await runProcess(NodeTestSupport.python, [script, "\(node.smtpPort)"], in: root)
        try #require(run.status == 0, "probe script failed: \(run.stderr)")
        await node.stop(server)

        let listed = try await runProcess(node.binary, ["archive", "list", "--json", "--data-dir", node.dataDir], in: root)
        try #require(listed.status == 0, "archive list: \(listed.stderr)")
        let archived = try String(decoding: listed.stdout, as: UTF8.self).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
        func archivedIDs(_ marker: String) -> [String] {
            archived.filter { ($0["subject"] as? String)?.contains(marker) == true }.compactMap { $0["id"] as? String }
        }

        let probes = try String(decoding: run.stdout, as: UTF8.self).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(probes.count == 11)
        for probe in probes {
            let name = probe["probe"] as? String ?? "?", marker = probe["marker"] as? String ?? "?"
            let final = probe["final_reply"] as? String ?? ""
            let ids = archivedIDs(marker)
            if name == "pipelining" {
                // Legitimate RFC 2920 pipelining after the final dot: two messages, both kept.
                #expect(final.components(separatedBy: "\r\n250 ").count - 1 + (final.hasPrefix("250 ") ? 1 : 0) >= 2, "pipelining: \(final.debugDescription)")
                #expect(ids.count == 2, "pipelining: \(ids.count) messages archived")
                continue
            }
            #expect(probe["early_reply"] is NSNull, "\(name): the server answered the malformed ending: \(String(describing: probe["early_reply"]))")
            #expect(final.hasPrefix("250 ") || final.hasPrefix("5"), "\(name): final reply \(final.debugDescription)")
            if final.hasPrefix("250 ") {
                try #require(ids.count == 1, "\(name): accepted but \(ids.count) archived")
                let get = try await runProcess(node.binary, ["archive", "get", ids[0], "--data-dir", node.dataDir], in: root)
                let text = String(decoding: get.stdout, as: UTF8.self)
                #expect(text.contains("with an \(name) ending.") && text.contains("after a bad mail \(name) ending."),
                        "\(name): the archived message is not whole: \(text.debugDescription)")
            } else {
                #expect(ids.isEmpty, "\(name): refused (\(final)) yet archived")
            }
            print("smtpsmug \(name): \(final.prefix(40).debugDescription)")
        }
    }
}
