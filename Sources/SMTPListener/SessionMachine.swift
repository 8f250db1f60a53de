import SMTPProtocol

/// The SMTP server session as a pure state machine (RFC 5321 §4.1.4 command order,
/// RFC 3030 BDAT, RFC 3207 STARTTLS). It performs no I/O: each event returns a
/// `SessionAction` that the connection carries out, so every rule here is testable without
/// sockets or clocks.
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

    /// The open mail transaction: MAIL FROM given, recipients gathered.
    struct Transaction: Sendable {
        var sender: ReversePath
        var parameters: MailParameters
        var recipients: [ForwardPath] = []
        /// Octets of BDAT content received so far (RFC 3030).
        var chunkedSize = 0
        var usedBDAT = false
        /// Set when a BDAT chunk failed: the rest of the chunks are read and discarded.
        var chunkFailure: SMTPReply?
    }

    enum Phase: Equatable {
        case awaitingHello
        case ready
        /// 354 was sent; the connection is reading DATA content.
        case receivingData
        case closed
    }

    let configuration: Configuration
    let receiver: any MessageReceiver
    private(set) var phase = Phase.awaitingHello
    private(set) var helo: String?
    private(set) var usedEHLO = false
    private(set) var tls: String?
    private(set) var transaction: Transaction?
    private(set) var consecutiveErrors = 0
    /// Commands since the session began or last stored a message.
    private(set) var commandsWithoutMessage = 0
    private var shutdownRequested = false
    let listener: String
    var clientIP: String

    init(configuration: Configuration, receiver: any MessageReceiver, listener: String, clientIP: String, tls: String?) {
        self.configuration = configuration
        self.receiver = receiver
        self.listener = listener
        self.clientIP = clientIP
        self.tls = tls
    }

    var snapshot: SessionSnapshot {
        SessionSnapshot(listener: listener, clientIP: clientIP, helo: helo ?? "", tls: tls)
    }

    // MARK: Events

    func greeting() -> SessionAction {
        .reply(configuration.greeting)
    }

    mutating func command(_ parsed: Result<SMTPCommand, SMTPCommandError>) -> SessionAction {
        if let tooMany = countCommand() { return tooMany }
        switch parsed {
        case .failure(.httpRequest):
            phase = .closed
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

    /// The end of DATA content was read; `outcome` is the store's verdict or the reason the
    /// content was refused while it was read.
    mutating func dataFinished(_ outcome: StoreOutcome) -> SessionAction {
        phase = .ready
        transaction = nil
        return finishTransaction(outcome)
    }

    /// A BDAT chunk was read. For the last chunk, `outcome` is the store's verdict.
    mutating func chunkFinished(size: Int, last: Bool, outcome: StoreOutcome?) -> SessionAction {
        if last {
            transaction = nil
            return finishTransaction(outcome ?? .refused(Replies.transactionFailed))
        }
        if let failure = transaction?.chunkFailure { return refuse(failure) }
        return accept(SMTPReply(250, EnhancedStatusCode(2, 0, 0), "\(size) octets received"))
    }

    /// Bookkeeping for a BDAT chunk whose content is about to be read: returns the reply that
    /// refuses it, or nil when it is to be kept.
    mutating func chunkWillBeRead(size: Int) -> SMTPReply? {
        guard var t = transaction else { return Replies.badSequence("send MAIL first") }
        guard !t.recipients.isEmpty else { return SMTPReply(554, EnhancedStatusCode(5, 5, 1), "No valid recipients") }
        if let failure = t.chunkFailure { return failure }
        t.usedBDAT = true
        t.chunkedSize += size
        if t.chunkedSize > configuration.limits.maximumMessageSize {
            t.chunkFailure = Replies.messageTooBig(configuration.limits.maximumMessageSize)
        }
        transaction = t
        return t.chunkFailure
    }

    /// A BDAT chunk that was refused before it was read has been read and discarded.
    mutating func chunkRefused(_ reply: SMTPReply) -> SessionAction {
        refuse(reply)
    }

    /// The content of the current BDAT transaction cannot be kept (store failed mid-way).
    mutating func chunkedContentFailed(_ reply: SMTPReply) {
        transaction?.chunkFailure = reply
    }

    mutating func tlsEstablished(_ description: String) {
        // RFC 3207 §4.2: forget everything learnt from the client before TLS.
        tls = description
        helo = nil
        usedEHLO = false
        transaction = nil
        phase = .awaitingHello
    }

    mutating func timedOut() -> SessionAction {
        phase = .closed
        return SessionAction(replies: [Replies.timeout], next: .close)
    }

    /// Shutdown began: idle sessions end now, sessions in a transaction when it ends.
    mutating func shutdown() -> SessionAction? {
        shutdownRequested = true
        guard transaction == nil, phase != .receivingData else { return nil }
        phase = .closed
        return SessionAction(replies: [Replies.shuttingDown], next: .close)
    }

    // MARK: Commands

    private mutating func handle(_ command: SMTPCommand) -> SessionAction {
        switch command {
        case .ehlo(let domain):
            helo = domain
            usedEHLO = true
            transaction = nil
            phase = .ready
            return accept(SMTPReply(250, nil, ["\(configuration.hostname) greets \(domain)"] + extensions))
        case .helo(let domain):
            helo = domain
            usedEHLO = false
            transaction = nil
            phase = .ready
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
            transaction = nil
            return accept(Replies.ok)
        case .noop:
            return accept(Replies.ok)
        case .quit:
            phase = .closed
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

    private mutating func mail(_ sender: ReversePath, _ parameters: MailParameters) -> SessionAction {
        guard helo != nil else { return refuse(Replies.badSequence("send EHLO or HELO first")) }
        if configuration.tlsMode == .starttlsRequired && tls == nil { return refuse(Replies.tlsRequired) }
        guard transaction == nil else { return refuse(Replies.badSequence("nested MAIL command")) }
        if !usedEHLO, parameters != MailParameters() {
            return refuse(SMTPReply(555, EnhancedStatusCode(5, 5, 4), "Parameters need EHLO"))
        }
        if let size = parameters.declaredSize, size > configuration.limits.maximumMessageSize {
            return refuse(Replies.messageTooBig(configuration.limits.maximumMessageSize))
        }
        if case .mailbox(let m) = sender, m.isInternationalized, !parameters.smtpUTF8 {
            return refuse(Replies.needsSMTPUTF8)
        }
        if let refusal = receiver.vetSender(sender, parameters: parameters, session: snapshot) {
            return refuse(refusal)
        }
        transaction = Transaction(sender: sender, parameters: parameters)
        return accept(Replies.senderOk)
    }

    private mutating func rcpt(_ recipient: ForwardPath) -> SessionAction {
        guard var t = transaction else { return refuse(Replies.badSequence("send MAIL first")) }
        guard t.recipients.count < configuration.limits.maximumRecipients else {
            return refuse(SMTPReply(452, EnhancedStatusCode(4, 5, 3), "Too many recipients"))
        }
        if case .mailbox(let m) = recipient, m.isInternationalized, !t.parameters.smtpUTF8 {
            return refuse(Replies.needsSMTPUTF8)
        }
        if let refusal = receiver.vetRecipient(recipient, sender: t.sender, session: snapshot) {
            return refuse(refusal)
        }
        t.recipients.append(recipient)
        transaction = t
        return accept(Replies.recipientOk)
    }

    private mutating func data() -> SessionAction {
        guard let t = transaction else { return refuse(Replies.badSequence("send MAIL first")) }
        guard !t.recipients.isEmpty else {
            return refuse(SMTPReply(554, EnhancedStatusCode(5, 5, 1), "No valid recipients"))
        }
        if t.usedBDAT { return refuse(Replies.badSequence("DATA after BDAT")) }
        if t.parameters.body == .binaryMIME {
            // RFC 3030 §3: BINARYMIME content can only be sent with BDAT.
            return refuse(Replies.badSequence("BODY=BINARYMIME requires BDAT"))
        }
        phase = .receivingData
        consecutiveErrors = 0
        return SessionAction(replies: [Replies.startMailInput], next: .receiveData)
    }

    private mutating func startTLS() -> SessionAction {
        switch configuration.tlsMode {
        case .none, .implicit:
            return refuse(SMTPReply(502, EnhancedStatusCode(5, 5, 1), "STARTTLS not available"))
        case .starttls, .starttlsRequired:
            guard tls == nil else { return refuse(Replies.badSequence("TLS already active")) }
            guard helo != nil, usedEHLO else { return refuse(Replies.badSequence("send EHLO first")) }
            return SessionAction(replies: [SMTPReply(220, EnhancedStatusCode(2, 0, 0), "Ready to start TLS")], next: .startTLS)
        }
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
            phase = .closed
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
        phase = .closed
        return SessionAction(replies: [Replies.tooManyCommands], next: .close)
    }

    private mutating func accept(_ reply: SMTPReply) -> SessionAction {
        consecutiveErrors = 0
        return .reply(reply)
    }

    private mutating func refuse(_ reply: SMTPReply) -> SessionAction {
        if reply.isPermanent { consecutiveErrors += 1 }
        if consecutiveErrors >= configuration.limits.maximumConsecutiveErrors {
            phase = .closed
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
    }

    var replies: [SMTPReply]
    var next: Next

    static func reply(_ reply: SMTPReply) -> SessionAction {
        SessionAction(replies: [reply], next: .readCommand)
    }
}
