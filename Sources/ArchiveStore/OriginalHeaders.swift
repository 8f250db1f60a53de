/// What `archive show` prints of an original's header section: the first From, To, Cc,
/// Subject, Date and Message-ID fields, unfolded (RFC 5322 §2.2.3) but not MIME-decoded,
/// so an encoded-word shows as the sender wrote it. Bytes that are not UTF-8 are replaced.
public struct OriginalHeaders: Sendable, Equatable {
    public var from: String?
    public var to: String?
    public var cc: String?
    public var subject: String?
    public var date: String?
    public var messageID: String?

    /// Reads the header section of `original` (at most `MessageDraft.headerScanLimit` bytes).
    public init(original: some Collection<UInt8>) {
        var scanner = HeaderSectionScanner(limit: MessageDraft.headerScanLimit)
        Array(original.prefix(MessageDraft.headerScanLimit)).withUnsafeBytes { scanner.feed($0) }
        let values = scanner.firstValues(of: ["from", "to", "cc", "subject", "date", "message-id"])
        from = values[0]
        to = values[1]
        cc = values[2]
        subject = values[3]
        date = values[4]
        messageID = values[5]
    }
}
