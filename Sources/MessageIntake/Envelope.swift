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

    public init(transactionID: String, listener: String, clientAddress: SocketAddress? = nil, clientIP: String, helo: String,
                tls: String? = nil, sender: ReversePath, recipients: [ForwardPath], parameters: MailParameters = MailParameters(),
                receivedAt: Date, receivedHeader: String) {
        self.transactionID = transactionID
        self.listener = listener
        self.clientAddress = clientAddress
        self.clientIP = clientIP
        self.helo = helo
        self.tls = tls
        self.sender = sender
        self.recipients = recipients
        self.parameters = parameters
        self.receivedAt = receivedAt
        self.receivedHeader = receivedHeader
    }
}

/// The session as a receiver sees it when it vets a sender or recipient.
public struct SessionSnapshot: Sendable {
    public var listener: String
    public var clientIP: String
    public var helo: String
    public var tls: String?

    public init(listener: String, clientIP: String, helo: String, tls: String? = nil) {
        self.listener = listener
        self.clientIP = clientIP
        self.helo = helo
        self.tls = tls
    }
}
