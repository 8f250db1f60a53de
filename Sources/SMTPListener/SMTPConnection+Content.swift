import Foundation
import MessageIntake
import NIOCore
import SMTPProtocol

/// Reading message content: DATA (dot-stuffed, up to CRLF "." CRLF) and BDAT chunks
/// (length-delimited), chunk by chunk into the receiver's sink.
extension SMTPConnection {
    // MARK: Message content

    func makeEnvelope() -> Envelope {
        let transaction = machine.transaction
        let id = TransactionID.make()
        let now = Date()
        let utf8 = transaction?.parameters.smtpUTF8 ?? false
        let received = ReceivedHeader.make(
            helo: machine.helo ?? "", clientIP: clientIP, node: context.hostname,
            protocolName: ReceivedHeader.protocolName(ehlo: machine.usedEHLO, tls: machine.tls != nil, utf8: utf8),
            tls: machine.tls, id: id, date: now)
        return Envelope(
            transactionID: id, listener: context.configuration.name, clientAddress: clientAddress,
            clientIP: clientIP, helo: machine.helo ?? "", tls: machine.tls,
            sender: transaction?.sender ?? .null, recipients: transaction?.recipients ?? [],
            parameters: transaction?.parameters ?? MailParameters(), receivedAt: now, receivedHeader: received)
    }

    func receiveData() async throws -> Bool {
        let envelope = makeEnvelope()
        var sink: (any MessageSink)? = mailTransaction?.beginMessage(envelope)
        var decoder = DataDecoder(maximumLineLength: limits.maximumTextLineLength)
        var refusal: SMTPReply?
        let rejectBare = context.configuration.bareLineEndings == .reject
        while true {
            while let frame = decoder.decode(&io.input) {
                guard case .content(let chunk) = frame else {
                    let outcome = await finish(&sink, refusal: refusal, envelope: envelope, size: decoder.contentLength)
                    return try await perform(machine.dataFinished(outcome))
                }
                if refusal == nil {
                    if decoder.contentLength > limits.maximumMessageSize {
                        refusal = Replies.messageTooBig(limits.maximumMessageSize)
                    } else if decoder.sawOverlongLine {
                        refusal = Replies.textLineTooLong
                    } else if rejectBare && decoder.sawBareLineEnding {
                        refusal = Replies.bareLineEnding
                    }
                }
                if refusal != nil { await abandon(&sink); continue }
                do {
                    try await sink?.append(chunk)
                } catch {
                    log(.error, "storing message content failed", metadata: ["error": "\(error)"])
                    refusal = Replies.transactionFailed
                    await abandon(&sink)
                }
            }
            if let end = try await awaitContent() {
                await abandon(&sink)  // before any reply: the client must not see 421 while we still hold it
                return try await conclude(end)
            }
        }
    }

    /// Why message content stopped before its end.
    enum ContentEnd {
        case clientLeft
        case timedOut
    }

    /// Waits for more message content (DATA or a BDAT chunk). Returns nil when bytes
    /// arrived; otherwise why the content will not be finished. The caller abandons the
    /// message, then `conclude`s.
    func awaitContent() async throws -> ContentEnd? {
        while true {
            guard let event = try await io.next(timeout: limits.dataTimeout) else { return .clientLeft }
            switch event {
            case .bytes(let bytes):
                io.append(bytes)
                return nil
            case .timeout:
                return .timedOut
            case .shutdown:
                _ = machine.shutdown()  // the transaction may finish; the session ends after it
            case .proxyHeader, .tlsEstablished:
                continue
            }
        }
    }

    /// After an unfinished message: whether the session goes on (421 and close on timeout).
    func conclude(_ end: ContentEnd) async throws -> Bool {
        switch end {
        case .clientLeft:
            return false
        case .timedOut:
            context.metrics.timeouts.increment()
            return try await perform(machine.timedOut())
        }
    }

    /// Ends the message: the sink's verdict (a refusal abandons it). `size` is its content
    /// in octets as the client sent it, dot-stuffing removed, for the byte counter.
    func finish(_ sink: inout (any MessageSink)?, refusal: SMTPReply?, envelope: Envelope, size: Int) async -> StoreOutcome {
        if let refusal {
            await abandon(&sink)
            log(.info, "message refused", metadata: ["id": "\(envelope.transactionID)", "reply": "\(refusal)"])
            return .refused(refusal)
        }
        guard var open = sink else { return .refused(Replies.transactionFailed) }
        sink = nil
        let outcome = await open.finish()
        if case .stored(let id) = outcome {
            context.metrics.messagesReceived.increment()
            context.metrics.bytesReceived.increment(by: Int64(size))
            log(.info, "message stored", metadata: ["id": "\(id)", "transaction": "\(envelope.transactionID)",
                                                      "from": "<\(envelope.sender)>", "size": "\(size)",
                                                      "recipients": "\(envelope.recipients.count)"])
        }
        return outcome
    }

    func abandon(_ sink: inout (any MessageSink)?) async {
        guard var open = sink else { return }
        sink = nil
        await open.abandon()
    }

    /// BDAT (RFC 3030): exactly `size` octets follow the command, whether it is accepted or not.
    func receiveChunk(size: Int, last: Bool) async throws -> Bool {
        let refusal = machine.chunkWillBeRead(size: size)
        if refusal == nil && chunkSink == nil && chunkEnvelope == nil {
            let envelope = makeEnvelope()
            chunkEnvelope = envelope
            chunkSink = mailTransaction?.beginMessage(envelope)
        }
        if refusal != nil { await abandon(&chunkSink) }
        var remaining = size
        while remaining > 0 {
            if io.input.readableBytes > 0 {
                let take = min(remaining, io.input.readableBytes)
                let chunk = io.input.readSlice(length: take) ?? ByteBuffer()
                remaining -= take
                if refusal == nil, chunkSink != nil {
                    do {
                        try await chunkSink?.append(chunk)
                    } catch {
                        machine.chunkedContentFailed(Replies.transactionFailed)
                        await abandon(&chunkSink)
                    }
                }
                continue
            }
            if let end = try await awaitContent() {
                await abandon(&chunkSink)
                return try await conclude(end)
            }
        }
        if let refusal, !last {
            return try await perform(machine.chunkRefused(refusal))
        }
        var outcome: StoreOutcome?
        if last {
            if let failure = refusal ?? machine.transaction?.chunkFailure {
                outcome = .refused(failure)
                await abandon(&chunkSink)
            } else if let envelope = chunkEnvelope {
                outcome = await finish(&chunkSink, refusal: nil, envelope: envelope,
                                       size: machine.transaction?.chunkedSize ?? 0)
            }
            chunkEnvelope = nil
        }
        return try await perform(machine.chunkFinished(size: size, last: last, outcome: outcome))
    }
}
