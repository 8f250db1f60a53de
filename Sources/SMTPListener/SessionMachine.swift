import MessageIntake
import SMTPProtocol

/// The SMTP server session as a pure state machine (RFC 5321 §4.1.4 command order,
/// RFC 3030 BDAT, RFC 3207 STARTTLS). It performs no I/O and calls nothing: each event
/// returns a `SessionAction` that the connection carries out, asking the receiver about a
/// sender or recipient included, so every rule here is testable without sockets or clocks.
struct SessionMachine {
    struct Configuration: Sendable {
        var hostname: String
        var limits: SessionLimits
        var tlsMode: TLSMode
        /// Built once per listener, not per connection.
        let greeting: SMTPReply

        init(hostname: String, limits: SessionLimits, tlsMode: TLSMode) {
            self.hostname = hostname
            self.limits = limits
            self.tlsMode = tlsMode
            // RFC 2034: no enhanced code before EHLO has negotiated them.
            self.greeting = SMTPReply(220, nil, "\(hostname) ESMTP archiverelay")
        }
    }

    /// The client's EHLO or HELO.
    struct Hello: Sendable, Equatable {
        var domain: String
        /// EHLO (extensions negotiated) rather than HELO.
        var extended: Bool
    }

    /// The open mail transaction: MAIL FROM given, recipients gathered.
    struct Transaction: Sendable, Equatable {
        var sender: ReversePath
        var parameters: MailParameters
        var recipients: [ForwardPath] = []
        /// Octets of BDAT content received so far (RFC 3030).
        var chunkedSize = 0
        var usedBDAT = false
        /// Set when a BDAT chunk failed: the rest of the chunks are read and discarded.
        var chunkFailure: SMTPReply?
    }

    /// Where the session is, as one value: no combination of flags can contradict another.
    enum State: Equatable {
        case awaitingHello
        case ready(Hello)
        /// MAIL FROM passed the session's own checks; the receiver is being asked.
        case vettingSender(Hello, Transaction)
        case inTransaction(Hello, Transaction)
        /// RCPT TO passed the session's own checks; the receiver is being asked.
        case vettingRecipient(Hello, Transaction, ForwardPath)
        /// 354 was sent; the connection is reading DATA content.
        case receivingData(Hello, Transaction)
        case closed
    }

    let configuration: Configuration
    private(set) var state = State.awaitingHello
    /// The TLS protocol once a handshake finished (implicit TLS or STARTTLS).
    private(set) var tls: String?
    private(set) var consecutiveErrors = 0
    /// Commands since the session began or last stored a message.
    private(set) var commandsWithoutMessage = 0
    private var shutdownRequested = false

    init(configuration: Configuration, tls: String?) {
        self.configuration = configuration
        self.tls = tls
    }

    var isClosed: Bool { state == .closed }

    var hello: Hello? {
        switch state {
        case .awaitingHello, .closed: nil
        case .ready(let h), .vettingSender(let h, _), .inTransaction(let h, _), .vettingRecipient(let h, _, _),
             .receivingData(let h, _): h
        }
    }

    var helo: String? { hello?.domain }
    var usedEHLO: Bool { hello?.extended ?? false }

    var transaction: Transaction? {
        switch state {
        case .awaitingHello, .ready, .closed: nil
        case .vettingSender(_, let t), .inTransaction(_, let t), .vettingRecipient(_, let t, _), .receivingData(_, let t): t
        }
    }

    // MARK: Events

    func greeting() -> SessionAction {
        .reply(configuration.greeting)
    }

    mutating func command(_ parsed: Result<SMTPCommand, SMTPCommandError>) -> SessionAction {
        if let tooMany = countCommand() { return tooMany }
        switch parsed {
        case .failure(.httpRequest):
            state = .closed
            return SessionAction(replies: [], next: .close)
        case .failure(let error):
            return refuse(error.reply)
        case .success(let command):
            return handle(command)
        }
    }

    mutating func commandLineTooLong() -> SessionAction {
        countCommand() ?? refuse(Replies.lineTooLong)
    }

    mutating func bareLineFeedInCommand() -> SessionAction {
        countCommand() ?? refuse(Replies.bareLineFeedInCommand)
    }

    /// The receiver's answer to `.vetSender`: nil opens the transaction.
    mutating func senderVetted(refusal: SMTPReply?) -> SessionAction {
        guard case .vettingSender(let hello, let t) = state else { return refuse(Replies.transactionFailed) }
        if let refusal {
            state = .ready(hello)
            return refuse(refusal)
        }
        state = .inTransaction(hello, t)
        return accept(Replies.senderOk)
    }

    /// The transaction's answer to `.vetRecipient`: nil adds the recipient.
    mutating func recipientVetted(refusal: SMTPReply?) -> SessionAction {
        guard case .vettingRecipient(let hello, var t, let recipient) = state else { return refuse(Replies.transactionFailed) }
        if let refusal {
            state = .inTransaction(hello, t)
            return refuse(refusal)
        }
        t.recipients.append(recipient)
        state = .inTransaction(hello, t)
        return accept(Replies.recipientOk)
    }

    /// The end of DATA content was read; `outcome` is the store's verdict or the reason the
    /// content was refused while it was read.
    mutating func dataFinished(_ outcome: StoreOutcome) -> SessionAction {
        endTransaction()
        return finishTransaction(outcome)
    }

    /// A BDAT chunk was read. For the last chunk, `outcome` is the store's verdict.
    mutating func chunkFinished(size: Int, last: Bool, outcome: StoreOutcome?) -> SessionAction {
        if last {
            endTransaction()
            return finishTransaction(outcome ?? .refused(Replies.transactionFailed))
        }
        if let failure = transaction?.chunkFailure { return refuse(failure) }
        return accept(SMTPReply(250, EnhancedStatusCode(2, 0, 0), "\(size) octets received"))
    }

    /// Bookkeeping for a BDAT chunk whose content is about to be read: returns the reply that
    /// refuses it, or nil when it is to be kept.
    mutating func chunkWillBeRead(size: Int) -> SMTPReply? {
        guard case .inTransaction(let hello, var t) = state else { return Replies.badSequence("send MAIL first") }
        guard !t.recipients.isEmpty else { return SMTPReply(554, EnhancedStatusCode(5, 5, 1), "No valid recipients") }
        if let failure = t.chunkFailure { return failure }
        t.usedBDAT = true
        t.chunkedSize += size
        if t.chunkedSize > configuration.limits.maximumMessageSize {
            t.chunkFailure = Replies.messageTooBig(configuration.limits.maximumMessageSize)
        }
        state = .inTransaction(hello, t)
        return t.chunkFailure
    }

    /// A BDAT chunk that was refused before it was read has been read and discarded.
    mutating func chunkRefused(_ reply: SMTPReply) -> SessionAction {
        refuse(reply)
    }

    /// The content of the current BDAT transaction cannot be kept (store failed mid-way).
    mutating func chunkedContentFailed(_ reply: SMTPReply) {
        guard case .inTransaction(let hello, var t) = state else { return }
        t.chunkFailure = reply
        state = .inTransaction(hello, t)
    }

    mutating func tlsEstablished(_ description: String) {
        // RFC 3207 §4.2: forget everything learnt from the client before TLS.
        tls = description
        state = .awaitingHello
    }

    mutating func timedOut() -> SessionAction {
        state = .closed
        return SessionAction(replies: [Replies.timeout], next: .close)
    }

    /// Shutdown began: idle sessions end now, sessions in a transaction when it ends.
    mutating func shutdown() -> SessionAction? {
        shutdownRequested = true
        switch state {
        case .awaitingHello, .ready:
            state = .closed
            return SessionAction(replies: [Replies.shuttingDown], next: .close)
        case .vettingSender, .inTransaction, .vettingRecipient, .receivingData, .closed:
            return nil
        }
    }

    // MARK: Commands

    private mutating func handle(_ command: SMTPCommand) -> SessionAction {
        switch command {
        case .ehlo(let domain):
            state = .ready(Hello(domain: domain, extended: true))
            return accept(SMTPReply(250, nil, ["\(configuration.hostname) greets \(domain)"] + extensions))
        case .helo(let domain):
            state = .ready(Hello(domain: domain, extended: false))
            return accept(SMTPReply(250, EnhancedStatusCode(2, 0, 0), configuration.hostname))
        case .mail(let sender, let parameters):
            return mail(sender, parameters)
        case .rcpt(let recipient, _):
            return rcpt(recipient)
        case .data:
            return data()
        case .bdat(let size, let last):
            return SessionAction(replies: [], next: .receiveChunk(size: size, last: last))
        case .rset:
            endTransaction()
            return accept(Replies.ok)
        case .noop:
            return accept(Replies.ok)
        case .quit:
            state = .closed
            return SessionAction(replies: [Replies.bye], next: .close)
        case .vrfy:
            // RFC 5321 §3.5.3: 252 when the server will not verify but would accept mail.
            return accept(SMTPReply(252, EnhancedStatusCode(2, 5, 0), "Cannot VRFY user, but will accept message"))
        case .expn:
            return refuse(SMTPReply(502, EnhancedStatusCode(5, 5, 1), "EXPN not implemented"))
        case .help:
            return accept(SMTPReply(214, EnhancedStatusCode(2, 0, 0), [
                "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS",
                "See RFC 5321",
            ]))
        case .starttls:
            return startTLS()
        }
    }

    private var extensions: [String] {
        var lines = [
            "PIPELINING",
            "SIZE \(configuration.limits.maximumMessageSize)",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "BINARYMIME",
        ]
        if tls == nil, configuration.tlsMode == .starttls || configuration.tlsMode == .starttlsRequired {
            lines.append("STARTTLS")
        }
        return lines
    }

    /// The session's own checks of MAIL FROM; the receiver's come after (`.vetSender`).
    private mutating func mail(_ sender: ReversePath, _ parameters: MailParameters) -> SessionAction {
        guard let hello else { return refuse(Replies.badSequence("send EHLO or HELO first")) }
        if configuration.tlsMode == .starttlsRequired && tls == nil { return refuse(Replies.tlsRequired) }
        guard transaction == nil else { return refuse(Replies.badSequence("nested MAIL command")) }
        if !hello.extended, parameters != MailParameters() {
            return refuse(SMTPReply(555, EnhancedStatusCode(5, 5, 4), "Parameters need EHLO"))
        }
        if let size = parameters.declaredSize, size > configuration.limits.maximumMessageSize {
            return refuse(Replies.messageTooBig(configuration.limits.maximumMessageSize))
        }
        if case .mailbox(let m) = sender, m.isInternationalized, !parameters.smtpUTF8 {
            return refuse(Replies.needsSMTPUTF8)
        }
        state = .vettingSender(hello, Transaction(sender: sender, parameters: parameters))
        return SessionAction(replies: [], next: .vetSender(sender, parameters))
    }

    /// The session's own checks of RCPT TO; the transaction's come after (`.vetRecipient`).
    private mutating func rcpt(_ recipient: ForwardPath) -> SessionAction {
        guard case .inTransaction(let hello, let t) = state else { return refuse(Replies.badSequence("send MAIL first")) }
        guard t.recipients.count < configuration.limits.maximumRecipients else {
            return refuse(SMTPReply(452, EnhancedStatusCode(4, 5, 3), "Too many recipients"))
        }
        if case .mailbox(let m) = recipient, m.isInternationalized, !t.parameters.smtpUTF8 {
            return refuse(Replies.needsSMTPUTF8)
        }
        state = .vettingRecipient(hello, t, recipient)
        return SessionAction(replies: [], next: .vetRecipient(recipient))
    }

    private mutating func data() -> SessionAction {
        guard case .inTransaction(let hello, let t) = state else { return refuse(Replies.badSequence("send MAIL first")) }
        guard !t.recipients.isEmpty else {
            return refuse(SMTPReply(554, EnhancedStatusCode(5, 5, 1), "No valid recipients"))
        }
        if t.usedBDAT { return refuse(Replies.badSequence("DATA after BDAT")) }
        if t.parameters.body == .binaryMIME {
            // RFC 3030 §3: BINARYMIME content can only be sent with BDAT.
            return refuse(Replies.badSequence("BODY=BINARYMIME requires BDAT"))
        }
        state = .receivingData(hello, t)
        consecutiveErrors = 0
        return SessionAction(replies: [Replies.startMailInput], next: .receiveData)
    }

    private mutating func startTLS() -> SessionAction {
        switch configuration.tlsMode {
        case .none, .implicit:
            return refuse(SMTPReply(502, EnhancedStatusCode(5, 5, 1), "STARTTLS not available"))
        case .starttls, .starttlsRequired:
            guard tls == nil else { return refuse(Replies.badSequence("TLS already active")) }
            guard usedEHLO else { return refuse(Replies.badSequence("send EHLO first")) }
            return SessionAction(replies: [SMTPReply(220, EnhancedStatusCode(2, 0, 0), "Ready to start TLS")], next: .startTLS)
        }
    }

    /// Back to the greeted state: the transaction ended (final dot, last chunk, RSET).
    private mutating func endTransaction() {
        if let hello { state = .ready(hello) }
    }

    // MARK: Replies and error counting

    private mutating func finishTransaction(_ outcome: StoreOutcome) -> SessionAction {
        var replies: [SMTPReply]
        switch outcome {
        case .stored(let id):
            consecutiveErrors = 0
            commandsWithoutMessage = 0
            replies = [SMTPReply(250, EnhancedStatusCode(2, 0, 0), "Ok: stored as \(id)")]
        case .refused(let reply):
            if reply.isPermanent { consecutiveErrors += 1 }
            replies = [reply]
        }
        if shutdownRequested {
            state = .closed
            replies.append(Replies.shuttingDown)
            return SessionAction(replies: replies, next: .close)
        }
        return SessionAction(replies: replies, next: .readCommand)
    }

    /// Counts a command line; past `commandsWithoutMessageLimit` the action that ends the
    /// session instead of answering it.
    private mutating func countCommand() -> SessionAction? {
        commandsWithoutMessage += 1
        guard commandsWithoutMessage > configuration.limits.commandsWithoutMessageLimit else { return nil }
        state = .closed
        return SessionAction(replies: [Replies.tooManyCommands], next: .close)
    }

    private mutating func accept(_ reply: SMTPReply) -> SessionAction {
        consecutiveErrors = 0
        return .reply(reply)
    }

    private mutating func refuse(_ reply: SMTPReply) -> SessionAction {
        if reply.isPermanent { consecutiveErrors += 1 }
        if consecutiveErrors >= configuration.limits.maximumConsecutiveErrors {
            state = .closed
            return SessionAction(replies: [reply, Replies.tooManyErrors], next: .close)
        }
        return .reply(reply)
    }
}

/// What the connection does after a session event.
struct SessionAction: Equatable {
    enum Next: Equatable {
        case readCommand
        case close
        /// Send the replies, then hand the socket to TLS.
        case startTLS
        /// Send the replies (354), then read DATA content.
        case receiveData
        /// Read a BDAT chunk of `size` octets, then ask the machine for the reply.
        case receiveChunk(size: Int, last: Bool)
        /// Ask the receiver to open a transaction for this sender, then tell the machine
        /// (`senderVetted`).
        case vetSender(ReversePath, MailParameters)
        /// Ask the open transaction about this recipient, then tell the machine
        /// (`recipientVetted`).
        case vetRecipient(ForwardPath)
    }

    var replies: [SMTPReply]
    var next: Next

    static func reply(_ reply: SMTPReply) -> SessionAction {
        SessionAction(replies: [reply], next: .readCommand)
    }
}
