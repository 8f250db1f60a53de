import Foundation
import NIOCore
import SMTPProtocol

/// What the listener knows of a message's origin and envelope when it hands the message on.
public struct Envelope: Sendable {
    /// Assigned by the listener at DATA/BDAT; also in the Received header.
    public var transactionID: String
    public var listener: String
    public var clientAddress: SocketAddress?
    /// The client address as text, the PROXY header's source when there was one.
    public var clientIP: String
    public var helo: String
    /// The TLS protocol in use ("TLSv1.3"), or nil for plaintext.
    public var tls: String?
    public var sender: ReversePath
    public var recipients: [ForwardPath]
    public var parameters: MailParameters
    public var receivedAt: Date
    /// The `Received:` header field this node prepends (RFC 5321 §4.4), with its CRLF.
    /// Kept apart from the content so the archive stores the original byte for byte.
    public var receivedHeader: String
}

/// The session as a receiver sees it when it vets a sender or recipient.
public struct SessionSnapshot: Sendable {
    public var listener: String
    public var clientIP: String
    public var helo: String
    public var tls: String?
}

/// The outcome of storing a message: decides the reply to the final dot or last BDAT.
public enum StoreOutcome: Sendable, Hashable {
    /// Stored durably; the reply is 250 with this id.
    case stored(id: String)
    /// Not stored; the reply (4xx or 5xx) is sent as given.
    case refused(SMTPReply)
}

/// Receives one message's content as it arrives. The listener calls `append` for each chunk
/// and waits for it, so a slow store slows the client down instead of filling memory.
public protocol MessageSink {
    mutating func append(_ chunk: ByteBuffer) async throws
    /// Stores the message durably and says how it went; the reply waits for this.
    mutating func finish() async -> StoreOutcome
    /// The message will not be finished (too big, refused, connection lost).
    mutating func abandon() async
}

/// The next stage after the listener: vets envelopes and stores messages.
public protocol MessageReceiver: Sendable {
    /// Vets MAIL FROM; a reply refuses it (e.g. 452 4.3.1 when storage is low).
    func vetSender(_ sender: ReversePath, parameters: MailParameters, session: SessionSnapshot) -> SMTPReply?
    /// Vets one RCPT TO; a reply refuses it (e.g. 550 5.7.1 when no route matches).
    func vetRecipient(_ recipient: ForwardPath, sender: ReversePath, session: SessionSnapshot) -> SMTPReply?
    /// Starts receiving a message whose envelope is complete.
    func beginMessage(_ envelope: Envelope) -> any MessageSink
}

extension MessageReceiver {
    public func vetSender(_ sender: ReversePath, parameters: MailParameters, session: SessionSnapshot) -> SMTPReply? { nil }
    public func vetRecipient(_ recipient: ForwardPath, sender: ReversePath, session: SessionSnapshot) -> SMTPReply? { nil }
}
