/// Limits of the protocol core, each with the reason for its value.
public enum SMTPDefaults {
    /// RFC 5321 §4.5.3.1.4 sets 512 octets for a command line, but extensions (SIZE, BODY,
    /// SMTPUTF8 addresses) make real lines longer; Postfix's `line_length_limit` is 2048.
    public static let maximumCommandLineLength = 2048
    /// The most `max_command_line_length` may be set to: a session holds a command line
    /// whole until its CRLF, so the limit is memory per connection (times its listener's
    /// `max_connections`). 64 KiB is 32 times the default, beyond any extension's needs.
    public static let largestCommandLineLength = 65_536
    /// RFC 5321 §4.5.3.1.6 sets 1000 octets for a text line; real senders (HTML mailers,
    /// journal reports) exceed it, and an archive that refuses their mail loses it. Lines
    /// are streamed, so this bounds no memory; it only refuses clearly broken input.
    public static let maximumTextLineLength = 65_536
    /// The largest message accepted and announced in SIZE: 50 MiB, above what the
    /// common journaling sources (Microsoft 365: 150 MB incl. encoding is rare) usually send.
    public static let maximumMessageSize = 50 * 1024 * 1024
    /// RFC 5321 §4.5.3.1.8 requires at least 100 recipients to be accepted; journaling
    /// envelopes often carry many more, so the default is generous.
    public static let maximumRecipients = 1000
    /// Commands a session may send without a message being stored, then 421 4.7.0 and
    /// close: a MAIL/RCPT/RSET loop stores nothing however long it runs (issue 22: 3 million
    /// in one session). A message takes MAIL, a RCPT per recipient and DATA or a BDAT per
    /// chunk: 100,000 is room for a 50 MiB message in 512-octet chunks, and a tenth of a
    /// second of the node's work. The listener never enforces less than twice the recipients.
    public static let maximumCommandsWithoutMessage = 100_000
}
