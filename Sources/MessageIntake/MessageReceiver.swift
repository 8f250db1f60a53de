import NIOCore
import SMTPProtocol

/// The next stage after the listener: it decides, for each transaction, which senders and
/// recipients it takes, and stores the messages.
///
/// The listener asks at MAIL FROM for a transaction; that transaction answers each RCPT TO
/// and receives the content. What it decides for a recipient at RCPT is what happens at the
/// final dot: a configuration reload in between does not change it.
public protocol MessageReceiver: Sendable {
    /// MAIL FROM: a transaction for this sender, or the reply that refuses it (e.g. 452
    /// 4.3.1 when storage is low).
    func openTransaction(sender: ReversePath, parameters: MailParameters, session: SessionSnapshot) -> TransactionStart
}

/// The receiver's answer to MAIL FROM.
public enum TransactionStart {
    case opened(any MailTransaction)
    case refused(SMTPReply)
}

/// One mail transaction as the receiver keeps it, from MAIL FROM to the final dot or RSET.
public protocol MailTransaction: Sendable {
    /// RCPT TO: nil accepts the recipient, a reply refuses it (e.g. 550 5.7.1 when no
    /// route takes it). Only accepted recipients reach `beginMessage`'s envelope.
    mutating func addRecipient(_ recipient: ForwardPath) -> SMTPReply?
    /// DATA or the first BDAT chunk: the sink for the content of a complete envelope.
    func beginMessage(_ envelope: Envelope) -> any MessageSink
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
