import SMTPProtocol

/// What a peer offered in its EHLO reply (RFC 5321 §4.1.1.1): the extensions the delivery
/// client uses, and the name the peer greets with (the loop guard compares it).
public struct PeerCapabilities: Sendable, Equatable {
    /// The first word of the reply: the peer's own name.
    public var greetingName: String
    public var pipelining = false        // RFC 2920
    public var startTLS = false          // RFC 3207
    public var eightBitMIME = false      // RFC 6152
    public var smtpUTF8 = false          // RFC 6531
    public var chunking = false          // RFC 3030 (BDAT)
    /// SIZE (RFC 1870); nil when not announced or announced without a limit (0).
    public var sizeLimit: UInt64?

    public init(greetingName: String) { self.greetingName = greetingName }

    /// Reads a 250 reply to EHLO (or HELO, which announces nothing).
    public init(ehloReply reply: SMTPReply) {
        let first = reply.lines.first ?? ""
        greetingName = String(first.split(separator: " ", maxSplits: 1).first ?? "")
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ")
            guard let keyword = words.first?.uppercased() else { continue }
            switch keyword {
            case "PIPELINING": pipelining = true
            case "STARTTLS": startTLS = true
            case "8BITMIME": eightBitMIME = true
            case "SMTPUTF8": smtpUTF8 = true
            case "CHUNKING": chunking = true
            case "SIZE":
                if words.count > 1, let limit = UInt64(words[1]), limit > 0 { sizeLimit = limit }
            default: break
            }
        }
    }
}

/// The envelope of one delivery: who from, to whom, and how many bytes go on the wire
/// (trace prefix plus original), which SIZE= announces.
public struct DeliveryEnvelope: Sendable, Equatable {
    public var sender: String
    public var recipients: [String]
    public var size: UInt64

    public init(sender: String, recipients: [String], size: UInt64) {
        self.sender = sender
        self.recipients = recipients
        self.size = size
    }
}

/// How one message fared with the peer.
public enum DeliveryOutcome: Sendable, Equatable {
    /// 250 to the final dot.
    case delivered(SMTPReply)
    /// 4xx: try again later.
    case deferred(String)
    /// 5xx, or a message the peer cannot take (too big): to hold.
    case rejected(String)
}

/// What the delivery client must do next; the driver performs these in order.
public enum ClientAction: Sendable, Equatable {
    /// Write these command lines (CRLF added) in one flush.
    case send([String])
    /// Put TLS into the pipeline, then call `tlsEstablished()`.
    case startTLS
    /// The session can carry messages now.
    case sessionReady(PeerCapabilities)
    /// Write the dot-stuffed content and the final dot.
    case sendContent
    /// Write these command lines (CRLF added), the last of them `BDAT <size> LAST`, then
    /// the content exactly as it is, all in one flush.
    case sendWithContent([String])
    /// The current message is done; the session can take the next one.
    case finished(DeliveryOutcome)
    /// Close the connection: `nil` after a normal QUIT, otherwise why the session failed
    /// (the peer is backed off as a whole).
    case close(failure: String?)
}
