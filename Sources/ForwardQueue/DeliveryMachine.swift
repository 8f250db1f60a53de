import SMTPProtocol

/// The rules of the delivery client as a pure state machine: events in (a reply, TLS up, a
/// message to send, quit), actions out (`ClientAction`). No I/O, so every dialog is a
/// table-driven test. One machine drives one connection, which carries many messages.
public struct DeliveryMachine: Sendable {
    public struct Policy: Sendable, Equatable {
        public var tls: PeerSettings.TLSMode
        /// Sent in EHLO/HELO.
        public var heloName: String
        /// This node's id: a peer that greets with it is this node (a forwarding loop).
        public var nodeID: String

        public init(tls: PeerSettings.TLSMode, heloName: String, nodeID: String) {
            self.tls = tls
            self.heloName = heloName
            self.nodeID = nodeID
        }
    }

    private enum Expected: String, Equatable { case reset = "RSET", mail = "MAIL", rcpt = "RCPT", lastChunk = "BDAT" }

    private enum State: Equatable {
        case greeting
        case ehlo(secure: Bool)
        case helo
        case startTLS
        case handshaking
        case ready
        /// Commands not yet sent (without PIPELINING, one at a time), replies awaited, and
        /// the first failure seen.
        case transaction(queued: [String], outstanding: [Expected], failure: DeliveryOutcome?)
        case data
        case dataEnd
        case quitting
        case closed
    }

    public let policy: Policy
    private var state = State.greeting
    public private(set) var capabilities: PeerCapabilities?
    public private(set) var isSecure = false
    private var needsReset = false
    /// Size of the message whose `BDAT … LAST` follows the RCPT replies (several recipients).
    private var pendingChunkSize: UInt64?

    public init(policy: Policy) { self.policy = policy }

    /// True between `sessionReady` and the next `begin`, or after a message finished.
    public var isReady: Bool { state == .ready }

    /// True while the reply to the final dot (or the last BDAT chunk) is awaited: that wait
    /// is bounded by the data timeout, not the command timeout (RFC 5321 §4.5.3.2.6).
    public var awaitsEndOfDataReply: Bool {
        if case .transaction(_, let outstanding, _) = state { return outstanding.first == .lastChunk }
        return state == .dataEnd
    }

    /// Messages go as one `BDAT … LAST` chunk, exactly as stored, not dot-stuffed after DATA:
    /// the peer offers CHUNKING (RFC 3030) and PIPELINING (RFC 2920). The caller prepares the
    /// content for `sendWithContent` (as is) or `sendContent` (dot-stuffed) accordingly.
    public var sendsChunks: Bool { capabilities.map { $0.chunking && $0.pipelining } ?? false }

    public mutating func receive(_ reply: SMTPReply) -> [ClientAction] {
        if reply.code == 421 && state != .quitting {
            // The peer is shutting the session down (RFC 5321 §3.8).
            let inMessage: Bool
            switch state {
            case .transaction, .data, .dataEnd: inMessage = true
            default: inMessage = false
            }
            state = .closed
            let failure = "peer closed the session: \(reply)"
            return (inMessage ? [.finished(.deferred(failure))] : []) + [.close(failure: failure)]
        }
        switch state {
        case .greeting:
            guard reply.code == 220 else { return fail("peer refused the session: \(reply)") }
            state = .ehlo(secure: false)
            return [.send(["EHLO \(policy.heloName)"])]
        case .ehlo(let secure):
            return ehloReplied(reply, secure: secure)
        case .helo:
            guard reply.code == 250 else { return fail("HELO refused: \(reply)") }
            return sessionEstablished(PeerCapabilities(ehloReply: reply))
        case .startTLS:
            if reply.code == 220 {
                state = .handshaking
                return [.startTLS]
            }
            if policy.tls == .required { return fail("STARTTLS refused and TLS is required: \(reply)") }
            return readyAfterEHLO(capabilities ?? PeerCapabilities(greetingName: ""))
        case .handshaking, .ready, .closed:
            return fail("unexpected reply: \(reply)")
        case .transaction(let queued, let outstanding, let failure):
            return transactionReplied(reply, queued: queued, outstanding: outstanding, failure: failure)
        case .data:
            if reply.code == 354 {
                state = .dataEnd
                return [.sendContent]
            }
            // DATA is answered by 354 or a refusal (RFC 5321 §4.3.2); a 2xx here answers an
            // earlier command, so the peer and this client are out of step.
            guard (400..<600).contains(reply.code) else { return fail("unexpected reply to DATA: \(reply)") }
            return messageDone(classify(reply, what: "DATA"))
        case .dataEnd:
            if (200..<300).contains(reply.code) { return messageDone(.delivered(reply)) }
            guard isCompletion(reply) else { return fail("unexpected reply to the final dot: \(reply)") }
            return messageDone(classify(reply, what: "end of data"))
        case .quitting:
            state = .closed
            return [.close(failure: nil)]
        }
    }

    public mutating func tlsEstablished() -> [ClientAction] {
        guard state == .handshaking else { return fail("TLS established in the wrong state") }
        isSecure = true
        state = .ehlo(secure: true)
        return [.send(["EHLO \(policy.heloName)"])]
    }

    /// Starts one message on a ready session.
    public mutating func begin(_ envelope: DeliveryEnvelope) -> [ClientAction] {
        guard state == .ready, let capabilities else { return fail("message begun on a session that is not ready") }
        if let limit = capabilities.sizeLimit, envelope.size > limit {
            return [.finished(.rejected("message of \(envelope.size) bytes exceeds the peer's SIZE limit of \(limit)"))]
        }
        guard !envelope.recipients.isEmpty else { return [.finished(.rejected("no recipients"))] }
        var mail = "MAIL FROM:<\(envelope.sender)> SIZE=\(envelope.size)"
        if capabilities.eightBitMIME { mail += " BODY=8BITMIME" }
        let international = ([envelope.sender] + envelope.recipients).contains { !$0.utf8.allSatisfy { $0 < 0x80 } }
        if international && capabilities.smtpUTF8 { mail += " SMTPUTF8" }
        var lines = needsReset ? ["RSET"] : []
        var expected: [Expected] = needsReset ? [.reset] : []
        lines.append(mail)
        expected.append(.mail)
        for recipient in envelope.recipients {
            lines.append("RCPT TO:<\(recipient)>")
            expected.append(.rcpt)
        }
        needsReset = true
        if sendsChunks && envelope.recipients.count == 1 {
            // One round trip: with a single recipient the peer either takes the chunk for
            // it or, MAIL or RCPT having failed, reads and refuses it (RFC 3030 §2).
            lines.append("BDAT \(envelope.size) LAST")
            expected.append(.lastChunk)
            state = .transaction(queued: [], outstanding: expected, failure: nil)
            return [.sendWithContent(lines)]
        }
        if capabilities.pipelining {
            // Several recipients: the chunk waits for their replies, so a message is never
            // taken for some of them and retried for all.
            pendingChunkSize = sendsChunks ? envelope.size : nil
            state = .transaction(queued: [], outstanding: expected, failure: nil)
            return [.send(lines)]
        }
        state = .transaction(queued: Array(lines.dropFirst()), outstanding: [expected[0]], failure: nil)
        return [.send([lines[0]])]
    }

    /// Ends a ready session politely.
    public mutating func quit() -> [ClientAction] {
        guard state == .ready else {
            state = .closed
            return [.close(failure: nil)]
        }
        state = .quitting
        return [.send(["QUIT"])]
    }

    // MARK: Steps

    private mutating func ehloReplied(_ reply: SMTPReply, secure: Bool) -> [ClientAction] {
        if reply.code == 250 {
            let offered = PeerCapabilities(ehloReply: reply)
            if isLoop(offered) { return loop(offered) }
            capabilities = offered
            if !secure && policy.tls != .none && offered.startTLS {
                state = .startTLS
                return [.send(["STARTTLS"])]
            }
            if !secure && policy.tls == .required { return fail("TLS is required but the peer does not offer STARTTLS") }
            return readyAfterEHLO(offered)
        }
        if reply.isPermanent && !secure {
            if policy.tls == .required { return fail("TLS is required but the peer does not speak ESMTP: \(reply)") }
            state = .helo
            return [.send(["HELO \(policy.heloName)"])]
        }
        return fail("EHLO refused: \(reply)")
    }

    private mutating func sessionEstablished(_ offered: PeerCapabilities) -> [ClientAction] {
        if isLoop(offered) { return loop(offered) }
        return readyAfterEHLO(offered)
    }

    private mutating func readyAfterEHLO(_ offered: PeerCapabilities) -> [ClientAction] {
        capabilities = offered
        state = .ready
        return [.sessionReady(offered)]
    }

    private func isLoop(_ offered: PeerCapabilities) -> Bool {
        !policy.nodeID.isEmpty && offered.greetingName.lowercased() == policy.nodeID.lowercased()
    }

    private mutating func loop(_ offered: PeerCapabilities) -> [ClientAction] {
        state = .closed
        return [.send(["QUIT"]), .close(failure: "forwarding loop: the peer greets as this node (\(offered.greetingName))")]
    }

    private mutating func transactionReplied(_ reply: SMTPReply, queued: [String], outstanding: [Expected], failure: DeliveryOutcome?) -> [ClientAction] {
        guard let expected = outstanding.first else { return fail("unexpected reply: \(reply)") }
        guard isCompletion(reply) else { return fail("unexpected reply to \(expected.rawValue): \(reply)") }
        var failure = failure
        var queued = queued
        let positive = (200..<300).contains(reply.code)
        if expected == .reset && !positive { return fail("RSET refused: \(reply)") }
        if expected == .lastChunk {
            // After a failed MAIL or RCPT the peer discarded the chunk; that failure decides.
            if let failure { return messageDone(failure) }
            return messageDone(positive ? .delivered(reply) : classify(reply, what: "BDAT"))
        }
        if !positive && failure == nil {
            failure = classify(reply, what: expected == .mail ? "MAIL" : "RCPT")
            queued = []  // without PIPELINING nothing more is sent for this message
        }
        var remaining = Array(outstanding.dropFirst())
        var actions: [ClientAction] = []
        if let next = queued.first {
            queued.removeFirst()
            remaining.append(next.hasPrefix("MAIL") ? .mail : .rcpt)
            actions.append(.send([next]))
        }
        if !remaining.isEmpty {
            state = .transaction(queued: queued, outstanding: remaining, failure: failure)
            return actions
        }
        if let failure { return messageDone(failure) }
        if let size = pendingChunkSize {
            pendingChunkSize = nil
            state = .transaction(queued: [], outstanding: [.lastChunk], failure: nil)
            return [.sendWithContent(["BDAT \(size) LAST"])]
        }
        state = .data
        return [.send(["DATA"])]
    }

    private mutating func messageDone(_ outcome: DeliveryOutcome) -> [ClientAction] {
        state = .ready
        pendingChunkSize = nil
        return [.finished(outcome)]
    }

    /// 2yz, 4yz or 5yz: a reply that ends a command. A 1yz or 3yz where none was asked for
    /// is a protocol error (RFC 5321 §4.2.1).
    private func isCompletion(_ reply: SMTPReply) -> Bool {
        (200..<300).contains(reply.code) || (400..<600).contains(reply.code)
    }

    private func classify(_ reply: SMTPReply, what: String) -> DeliveryOutcome {
        reply.isPermanent ? .rejected("\(what): \(reply)") : .deferred("\(what): \(reply)")
    }

    private mutating func fail(_ reason: String) -> [ClientAction] {
        let inMessage: Bool
        switch state {
        case .transaction, .data, .dataEnd: inMessage = true
        default: inMessage = false
        }
        state = .closed
        return (inMessage ? [.finished(.deferred(reason))] : []) + [.close(failure: reason)]
    }
}
