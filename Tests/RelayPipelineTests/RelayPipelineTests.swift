import ArchiveStore
import Crypto
import ForwardQueue
import Foundation
import RelayPipeline
import RouteEngine
import SMTPProtocol
import Testing

/// The pipeline's decisions as a table: routes, loop verdict, queue admission, a duplicate,
/// the ack wait and low storage, each to the replies the client gets and to what is
/// durable afterwards (archive records, queued copies). Real archive, real queue.
@Suite struct RelayPipelineTests {
    static let node = NodeID("node-a")!
    static let bob = "bob@example.com"
    static let carol = "carol@example.com"

    /// What happens before the transaction under test, or between its RCPT and DATA.
    enum Setup: Sendable {
        case none
        /// The same message was stored once before (the sender retries after a 4xx).
        case sameMessageBefore
        /// peer-a's queue fills up between RCPT and the final dot.
        case peerAFillsBeforeData
    }

    /// What the message carries.
    enum Content: Sendable {
        case plain
        /// A copy of the chain (its signed trace at the top) that already passed this
        /// node: the loop guard stops forwarding it.
        case passedHereBefore
    }

    /// The chain's key; the pipeline's listener honours traces signed with it.
    static let chainKey = TraceKey(bytes: Array(repeating: 7, count: TraceKey.minimumLength), scope: .chain)!

    /// `original` as node-b forwards it after node-a: the chain's signed trace naming both,
    /// node-b's Received field, then the original.
    static func copyThatPassedHere(_ original: String) -> String {
        let relayed = Array("Received: from node-a by node-b; Mon, 7 Dec 2026 02:00:00 +0000\r\n".utf8)
        let trace = LoopTrace(path: [node, NodeID("node-b")!], relayedHeaderLength: relayed.count)
        let signed = chainKey.sign(trace, originalDigest: Array(SHA256.hash(data: Array(original.utf8))), relayedFields: relayed)
        return String(decoding: signed.headerFieldBytes + relayed, as: UTF8.self) + original
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var routes: [Route]
        var recipients = [RelayPipelineTests.bob]
        var content = Content.plain
        var setup = Setup.none
        var queueLimit = 100
        var onFull = PeerSettings.OnFull.tempfail
        var storageLow = false
        /// MAIL, each RCPT, the final dot (as far as the client gets).
        var codes: [Int]
        var archived: Int
        var queued: [PipelineHarness.QueuedCopy]
        var testDescription: String { name }
    }

    static func route(_ name: String, archive: Bool = true, forward: [String] = [], recipient: String? = nil,
                      ack: AckPolicy = .afterArchive) -> Route {
        Route(name: name, recipients: recipient.map { [.address(localPart: mailbox($0).localPart, domain: mailbox($0).domain)] } ?? [],
              action: RouteAction(archive: archive, forward: forward, ackAfterForward: ack, ackTimeoutSeconds: 1))
    }

    static func copy(_ connection: String, _ recipients: String...) -> PipelineHarness.QueuedCopy {
        .init(connection: connection, recipients: recipients)
    }

    static let rows: [Row] = [
        Row(name: "archive only", routes: [route("all")], codes: [250, 250, 250], archived: 1, queued: []),
        Row(name: "archive and forward: the record's promise is queued", routes: [route("all", forward: ["peer-a"])],
            codes: [250, 250, 250], archived: 1, queued: [copy("peer-a", bob)]),
        Row(name: "forward only: spooled and queued", routes: [route("all", archive: false, forward: ["peer-a"])],
            codes: [250, 250, 250], archived: 0, queued: [copy("peer-a", bob)]),
        Row(name: "each peer gets only its recipients",
            routes: [route("b", archive: false, forward: ["peer-a"], recipient: bob), route("c", forward: ["peer-b"], recipient: carol)],
            recipients: [bob, carol], codes: [250, 250, 250, 250], archived: 1, queued: [copy("peer-a", bob), copy("peer-b", carol)]),
        Row(name: "no route: 550 at RCPT, nothing kept", routes: [route("carol", recipient: carol)],
            codes: [250, 550], archived: 0, queued: []),
        Row(name: "one recipient refused, the other kept", routes: [route("carol", forward: ["peer-a"], recipient: carol)],
            recipients: [bob, carol], codes: [250, 550, 250, 250], archived: 1, queued: [copy("peer-a", carol)]),
        Row(name: "loop (this node in the trace), archived: archived, not forwarded", routes: [route("all", forward: ["peer-a"])],
            content: .passedHereBefore, codes: [250, 250, 250], archived: 1, queued: []),
        Row(name: "loop, forward only: accepted, kept nowhere (it passed here before)",
            routes: [route("all", archive: false, forward: ["peer-a"])],
            content: .passedHereBefore, codes: [250, 250, 250], archived: 0, queued: []),
        Row(name: "queue full at RCPT, tempfail: 452", routes: [route("all", forward: ["peer-a"])],
            setup: .sameMessageBefore, queueLimit: 1, codes: [250, 452], archived: 1, queued: [copy("peer-a", bob)]),
        Row(name: "queue full at the final dot, tempfail: 452 and nothing new kept", routes: [route("all", forward: ["peer-a"])],
            setup: .peerAFillsBeforeData, queueLimit: 1, codes: [250, 250, 452], archived: 0, queued: [copy("peer-a", "filler@example.com")]),
        Row(name: "queue full, drop-forward: archived without that copy", routes: [route("all", forward: ["peer-a"])],
            setup: .peerAFillsBeforeData, queueLimit: 1, onFull: .dropForward,
            codes: [250, 250, 250], archived: 1, queued: [copy("peer-a", "filler@example.com")]),
        Row(name: "queue full, drop-forward, forward only: 452 (nothing else would keep it)",
            routes: [route("all", archive: false, forward: ["peer-a"])],
            setup: .peerAFillsBeforeData, queueLimit: 1, onFull: .dropForward,
            codes: [250, 250, 452], archived: 0, queued: [copy("peer-a", "filler@example.com")]),
        Row(name: "duplicate: archived once, the retry's copy queued again", routes: [route("all", forward: ["peer-a"])],
            setup: .sameMessageBefore, codes: [250, 250, 250], archived: 1, queued: [copy("peer-a", bob), copy("peer-a", bob)]),
        Row(name: "ack after one peer, none answers: 250 at ack_timeout, copy still queued",
            routes: [route("all", forward: ["peer-a"], ack: .afterOnePeer)],
            codes: [250, 250, 250], archived: 1, queued: [copy("peer-a", bob)]),
        Row(name: "storage low: 452 at MAIL", routes: [route("all")], storageLow: true, codes: [452], archived: 0, queued: []),
    ]

    @Test(arguments: rows)
    func outcome(_ row: Row) async throws {
        let table = RoutingTable(nodeID: Self.node, routes: row.routes, traceTrustingListeners: [PipelineHarness.listener],
                                 traceKey: Self.chainKey)
        try await PipelineHarness.with(table, queueLimit: row.queueLimit, onFull: row.onFull, storageLow: row.storageLow) { pipeline in
            var content = message(row.name)
            if case .passedHereBefore = row.content { content = Self.copyThatPassedHere(content) }
            if case .sameMessageBefore = row.setup {
                let first = try await pipeline.send(to: row.recipients, content: content)
                #expect(first.codes.last == 250)
            }
            let sent = try await pipeline.send(to: row.recipients, content: content) {
                guard case .peerAFillsBeforeData = row.setup else { return }
                let filler = QueueItem(connection: "peer-a", reference: .spool("filler"), size: 1, sender: "",
                                       recipients: ["filler@example.com"])
                _ = try await pipeline.queue.enqueue([filler])
            }
            #expect(sent.codes == row.codes)
            #expect(try pipeline.archived().count == row.archived)
            #expect(pipeline.queued() == row.queued)
        }
    }

    /// A route that neither archives nor forwards is refused by the configuration check;
    /// should a table hold one anyway, its recipients are refused for now, never accepted
    /// and lost.
    @Test func aRouteThatKeepsNothingDoesNotAcceptMail() async throws {
        let table = RoutingTable(nodeID: Self.node, routes: [Self.route("nowhere", archive: false)])
        try await PipelineHarness.with(table) { pipeline in
            let sent = try await pipeline.send(to: [Self.bob], content: message())
            #expect(sent.codes == [250, 451])
            #expect(try pipeline.archived().isEmpty)
            #expect(pipeline.queued().isEmpty)
        }
    }
}
