import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// Serves one admin connection: requests in order, one answer at a time.
///
/// Nothing more is read from the client while an answer is being written, so a client
/// that pipelines requests without reading the answers holds at most one answer and one
/// read's worth of requests (the kernel's buffers fill and TCP pushes back). A request
/// must arrive whole within `requestTimeout` of the connection going idle.
final class AdminHTTPHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// A request read whole and waiting for its answer.
    private enum Waiting {
        case request(HTTPRequestHead)
        case bodyTooLarge
    }

    private enum Reading {
        case nothing
        case request(HTTPRequestHead, bodyBytes: Int)
        /// The body passed `maxBodyBytes`: the rest of it is dropped, then 413 and close.
        case discarding
    }

    private let policy: AdminAccessPolicy
    private let limits: AdminLimits
    private let respond: AdminResponder
    private let logger: Logger
    private var reading = Reading.nothing
    private var waiting = CircularBuffer<Waiting>()
    private var answering = false
    private var readHeld = false
    private var deadline: Scheduled<Void>?

    init(policy: AdminAccessPolicy, limits: AdminLimits, logger: Logger, respond: @escaping AdminResponder) {
        self.policy = policy
        self.limits = limits
        self.logger = logger
        self.respond = respond
    }

    func channelActive(context: ChannelHandlerContext) {
        armDeadline(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), reading) {
        case (.head(let head), _):
            reading = .request(head, bodyBytes: 0)
        case (.body(let chunk), .request(let head, let bodyBytes)):
            let total = bodyBytes + chunk.readableBytes
            reading = total > limits.maxBodyBytes ? .discarding : .request(head, bodyBytes: total)
        case (.end, .request(let head, _)):
            enqueue(.request(head), context: context)
        case (.end, .discarding):
            enqueue(.bodyTooLarge, context: context)
        case (.body, _), (.end, _):
            break
        }
    }

    /// Holds the read a pipelined request would need while an answer is unwritten.
    func read(context: ChannelHandlerContext) {
        if answering || !waiting.isEmpty {
            readHeld = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("admin connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func enqueue(_ request: Waiting, context: ChannelHandlerContext) {
        reading = .nothing
        waiting.append(request)
        if waiting.count > limits.maxPipelinedRequests {
            logger.debug("admin connection closed: too many pipelined requests")
            context.close(promise: nil)
            return
        }
        answerNext(context: context)
    }

    private func answerNext(context: ChannelHandlerContext) {
        guard !answering, let next = waiting.popFirst() else { return }
        answering = true
        deadline?.cancel()
        deadline = nil
        switch next {
        case .bodyTooLarge:
            write(.text(.payloadTooLarge, "request body over \(limits.maxBodyBytes) bytes\n"), headOnly: false, keepAlive: false, context: context)
        case .request(let head):
            if let refusal = policy.refusal(for: head) {
                AdminMetrics.refused(refusal)
                logger.notice("admin request refused", metadata: [
                    "reason": "\(refusal.rawValue)", "method": "\(head.method)", "uri": "\(head.uri.debugDescription)",
                    "client": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")",
                ])
                write(.text(refusal.status, refusal.message), headOnly: head.method == .HEAD, keepAlive: false, context: context)
                return
            }
            let request: AdminRequest
            do {
                request = try AdminRequest(method: head.method, uri: head.uri, client: context.channel.remoteAddress.map { "\($0)" } ?? "?")
            } catch {
                write(.text(.badRequest, "\(error)\n"), headOnly: head.method == .HEAD, keepAlive: head.isKeepAlive, context: context)
                return
            }
            let respond = self.respond
            context.eventLoop.makeFutureWithTask { await respond(request) }
                .assumeIsolated()
                .whenSuccess { response in
                    self.write(response, headOnly: head.method == .HEAD, keepAlive: head.isKeepAlive, context: context)
                }
        }
    }

    private func write(_ response: AdminResponse, headOnly: Bool, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.readableBytes)")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        if !headOnly { context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            self.answering = false
            guard keepAlive, case .success = result else {
                context.close(promise: nil)
                return
            }
            if self.waiting.isEmpty {
                self.armDeadline(context: context)
                if self.readHeld {
                    self.readHeld = false
                    context.read()
                }
            } else {
                self.answerNext(context: context)
            }
        }
    }

    private func armDeadline(context: ChannelHandlerContext) {
        deadline?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = self.logger
        deadline = context.eventLoop.scheduleTask(in: limits.requestTimeout) {
            logger.debug("admin connection closed: no whole request within the request timeout")
            loopBound.value.close(promise: nil)
        }
    }
}
