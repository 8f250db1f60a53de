import Foundation

/// What search indexes of one archived original: its own header fields and the text a
/// person reads in it, decoded to UTF-8 (`MessageTextExtractor`).
public struct MessageText: Sendable, Equatable {
    /// The From and Sender field values, RFC 2047 decoded: display names and addresses
    /// as written.
    public var from: [String] = []
    public var to: [String] = []
    public var cc: [String] = []
    public var bcc: [String] = []
    public var subject = ""
    /// The Message-ID without its angle brackets.
    public var messageID: String?
    /// The Date field; nil when absent or unparseable.
    public var date: Date?
    /// The text of every text/* leaf part in document order (text/html as text), and for
    /// every nested message its From, To, Cc and Subject before its own parts' text.
    public var body = ""
    /// File names from Content-Disposition or Content-Type (RFC 2231 and RFC 2047 decoded).
    public var attachmentNames: [String] = []
    public var attachmentTypes: [String] = []
    /// A leaf part with disposition `attachment` or a file name.
    public var hasAttachment = false
    /// A limit was hit (`MessageTextLimits`); what came before it is kept.
    public var truncated = false

    public init() {}
}
