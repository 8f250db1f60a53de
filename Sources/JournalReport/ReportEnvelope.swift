/// What an Exchange / Microsoft 365 journal report says about the message it wraps: its
/// envelope part, parsed (docs/ARCHITECTURE.md, "Journal reports"). The report's SMTP
/// envelope names Exchange's journaling address and the journal mailbox; this names the
/// real sender and every recipient, Bcc and expanded distribution-list members included.
public struct ReportEnvelope: Sendable, Hashable {
    /// The grammar the envelope part was written in.
    public enum Format: UInt8, Sendable {
        /// Exchange 2007 and later, Microsoft 365: `Sender:`, `Subject:`, `Message-Id:`,
        /// then `To:` / `Cc:` / `Bcc:` / `Recipient:` lines.
        case exchange2007 = 1
        /// Exchange 2003 (`Content-Identifier: ExJournalReport`): `Sender:`,
        /// `Message-ID:`, `Recipients:` / `Recipient:` lines.
        case exchange2003 = 2
    }

    public struct Recipient: Sendable, Hashable {
        public enum Kind: UInt8, Sendable, CaseIterable {
            case to = 1, cc, bcc
            /// `Recipient:` (a recipient the header fields do not name, or Exchange 2003's
            /// only kind).
            case recipient
        }

        /// The address as the report gives it (case kept).
        public var address: String
        public var kind: Kind
        /// `, Expanded: <list>`: the distribution list this member was expanded from.
        public var expandedFrom: String?
        /// `, Forwarded: <address>`: the original recipient whose mailbox forwarded here.
        public var forwardedFrom: String?

        public init(address: String, kind: Kind, expandedFrom: String? = nil, forwardedFrom: String? = nil) {
            self.address = address
            self.kind = kind
            self.expandedFrom = expandedFrom
            self.forwardedFrom = forwardedFrom
        }
    }

    public var format: Format
    /// `Sender:`; nil for `Unspecified Address` or when the line is absent.
    public var sender: String?
    /// `On-Behalf-Of:` (a delegate sent as the sender); nil when absent.
    public var onBehalfOf: String?
    /// `Subject:`, decoded to UTF-8 from the part's charset; nil when absent.
    public var subject: String?
    /// `Message-Id:` / `Message-ID:` as written (angle brackets kept); nil for
    /// `Unknown Message-ID` or when absent.
    public var messageID: String?
    public var recipients: [Recipient]
    /// The report arrived inside a delivery status notification (it bounced to the
    /// alternate journaling mailbox) and was unwrapped from it.
    public var viaDSN: Bool

    public init(format: Format, sender: String? = nil, onBehalfOf: String? = nil, subject: String? = nil, messageID: String? = nil,
                recipients: [Recipient] = [], viaDSN: Bool = false) {
        self.format = format
        self.sender = sender
        self.onBehalfOf = onBehalfOf
        self.subject = subject
        self.messageID = messageID
        self.recipients = recipients
        self.viaDSN = viaDSN
    }

    /// Every address the report names as sending the message: `Sender` and `On-Behalf-Of`.
    public var senders: [String] { [sender, onBehalfOf].compactMap { $0 } }

    /// Every address the report names as receiving it: each recipient, and the lists
    /// and mailboxes they were expanded or forwarded from.
    public var recipientAddresses: [String] {
        recipients.flatMap { [$0.address, $0.expandedFrom, $0.forwardedFrom].compactMap { $0 } }
    }
}
