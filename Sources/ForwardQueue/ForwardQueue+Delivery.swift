import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import SMTPProtocol
import SessionTransport

extension ForwardQueue {
    /// Delivers until cancelled: per configured connection, `max_connections` workers that
    /// take due entries in FIFO order, reuse sessions, and back off a peer that fails.
    /// After `configure` the workers of changed or removed connections stop and new ones
    /// start with the new settings. Nothing polls: an idle worker sleeps until an entry
    /// arrives for its connection, the peer's state changes, an operator or a reload acts,
    /// or the earliest backoff it waits for ends (one timer).
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.refreshMetrics() }
            group.addTask { await self.superviseWorkers() }
            await group.waitForAll()
        }
    }

    private func superviseWorkers() async {
        var running: [String: (settings: PeerSettings, task: Task<Void, Never>)] = [:]
        var seen = -1
        var seenEpoch = 0
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        while !Task.isCancelled {
            let (generation, epoch, peers) = book.withLock { book in
                (book.generation, book.certificateEpoch, book.configured.compactMap { book.peers[$0]?.settings })
            }
            if generation != seen {
                seen = generation
                let rereadFiles = epoch != seenEpoch
                seenEpoch = epoch
                let wanted = Dictionary(uniqueKeysWithValues: peers.map { ($0.name, $0) })
                for (name, worker) in running
                where wanted[name] != worker.settings || (rereadFiles && rereadsTLSFiles(worker.settings)) {
                    worker.task.cancel()
                    running[name] = nil
                }
                for settings in peers where running[settings.name] == nil {
                    running[settings.name] = (settings, Task { await self.runPeer(settings) })
                }
            }
            let applied = seen
            _ = await sleep(on: loop) { book in
                book.generation != applied ? .answer(true) : .sleep(.supervision, until: nil)
            }
        }
        for worker in running.values { worker.task.cancel() }
        for worker in running.values { await worker.task.value }
    }

    /// Whether a certificate reload restarts this connection's workers: only when it reads
    /// TLS files, and only when they load now (else it keeps the context it has).
    private func rereadsTLSFiles(_ settings: PeerSettings) -> Bool {
        guard settings.tls != .none, settings.caFile != nil || settings.clientCertificateFile != nil else { return false }
        do {
            _ = try Self.makeTLSContext(settings)
            logger.notice("forward: TLS files read again", metadata: ["connection": "\(settings.name)"])
            return true
        } catch {
            logger.error("forward: TLS files not reloaded; the connection keeps the ones it has",
                         metadata: ["connection": "\(settings.name)", "error": "\(error)"])
            return false
        }
    }

    /// The workers of one connection, until cancelled. A TLS set-up that fails (a bad
    /// certificate file) is logged and tried again at the connection's maximum backoff.
    private func runPeer(_ settings: PeerSettings) async {
        var tls: NIOSSLContext?
        while settings.tls != .none && tls == nil {
            do {
                tls = try Self.makeTLSContext(settings)
            } catch {
                logger.error("forward: cannot set up TLS for the connection; not delivering",
                             metadata: ["connection": "\(settings.name)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(settings.maxBackoff))
                if Task.isCancelled { return }
            }
        }
        let context = tls
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<settings.maxConnections {
                group.addTask { await self.worker(settings, tls: context) }
            }
            await group.waitForAll()
        }
    }

    private func refreshMetrics() async {
        while !Task.isCancelled {
            let now = Date()
            book.withLock { book in
                for (name, queue) in book.peers { book.metrics[name]?.update(queue, now: now) }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Waits for the next due entry of `connection`; nil when cancelled or idle past `idle`.
    /// Sleeps until woken (`SleepReason.work`) or the earliest due time it knows of.
    private func nextEntry(_ connection: String, connected: Bool, idle: TimeInterval?, on loop: any EventLoop) async -> QueueEntry? {
        let giveUp = idle.map { Date().addingTimeInterval($0) }
        let observer = options.dispatchObserver
        while !Task.isCancelled {
            var claimed: QueueEntry?
            let decide = { (book: inout QueueBook) -> SleepDecision in
                let now = Date()
                switch book.peers[connection]?.claim(now: now, connected: connected) ?? .wait(until: nil) {
                case .deliver(let entry):
                    observer?(connection, entry)
                    claimed = entry
                    return .answer(true)
                case .wait(let until):
                    if let giveUp, now >= giveUp { return .answer(false) }
                    let wakeAt = [until, giveUp].compactMap { $0 }.min()
                    return .sleep(.work(connection: connection), until: wakeAt.map { Self.deadline(in: $0.timeIntervalSince(now)) })
                }
            }
            _ = await sleep(on: loop, decide)
            if let claimed { return claimed }
            if let giveUp, Date() >= giveUp { return nil }
        }
        return nil
    }

    /// One of a connection's workers. It runs on one event loop, and its sessions' channels
    /// live there too, so a reply resumes the worker on the thread that read it.
    private func worker(_ settings: PeerSettings, tls: NIOSSLContext?) async {
        let executor = EventLoopTaskExecutor(MultiThreadedEventLoopGroup.singleton.next())
        await withTaskExecutorPreference(executor) {
            while !Task.isCancelled {
                guard let first = await nextEntry(settings.name, connected: false, idle: nil, on: executor.eventLoop) else { return }
                await session(settings, tls: tls, first: first, on: executor.eventLoop)
            }
        }
    }

    /// One connection: set up, deliver `first` and whatever is due next, QUIT when idle.
    private func session(_ settings: PeerSettings, tls: NIOSSLContext?, first: QueueEntry, on eventLoop: any EventLoop) async {
        var pending: QueueEntry? = first
        var connected = false
        do {
            let (channel, inbox) = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.milliseconds(Int64(settings.connectTimeout * 1000)))
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let inbox = ReplyInbox(eventLoop: channel.eventLoop)
                        try channel.pipeline.syncOperations.addHandler(inbox)
                        return (channel, inbox)
                    }
                }
            defer { channel.close(promise: nil) }
            connected = true
            let policy = DeliveryMachine.Policy(tls: settings.tls, heloName: settings.heloName ?? nodeID, nodeID: nodeID)
            let session = PeerSession(machine: DeliveryMachine(policy: policy), channel: channel, inbox: inbox,
                                      settings: settings, tlsContext: tls)
            try await session.open()
            peerUp(settings.name)
            while let entry = pending {
                try await deliver(entry, over: session, settings: settings)
                pending = nil
                pending = await nextEntry(settings.name, connected: true, idle: settings.idleTimeout, on: eventLoop)
            }
            await session.quit()
        } catch {
            let reason = (error as? SessionFailure)?.reason
                ?? (connected ? "session failed: \(error)" : "cannot connect to \(settings.host):\(settings.port): \(error)")
            sessionFailed(settings.name, entry: pending, reason: reason)
        }
    }

    /// Loads and sends one entry, then records the outcome. Throws when the session broke.
    private func deliver(_ entry: QueueEntry, over session: PeerSession, settings: PeerSettings) async throws {
        let original: [UInt8]
        do {
            if let message = recent.message(for: entry.id), let bytes = try? message.bytes() {
                original = bytes
            } else {
                original = try await loadOriginal(entry.item.reference)
            }
        } catch {
            settle(entry, settings.name, outcome: .rejected("cannot read the message (\(entry.item.reference)): \(error)"), unreadable: true)
            return
        }
        var content = ByteBuffer()
        if session.sendsChunks {
            // BDAT: the bytes as they are, no dot-stuffing on either side.
            content.reserveCapacity(entry.item.prefix.count + original.count)
            content.writeBytes(entry.item.prefix)
            content.writeBytes(original)
        } else {
            var stuffer = DotStuffer()
            content.reserveCapacity(entry.item.prefix.count + original.count + original.count / 50 + 8)
            stuffer.encode(ByteBuffer(bytes: entry.item.prefix), into: &content)
            stuffer.encode(ByteBuffer(bytes: original), into: &content)
            stuffer.finish(into: &content)
        }
        let envelope = DeliveryEnvelope(sender: entry.item.sender, recipients: entry.item.recipients,
                                        size: UInt64(entry.item.prefix.count + original.count))
        let outcome = try await session.deliver(envelope, content: content)
        settle(entry, settings.name, outcome: outcome, unreadable: false)
    }

    private func settle(_ entry: QueueEntry, _ connection: String, outcome: DeliveryOutcome, unreadable: Bool) {
        if case .deferred = outcome {} else { recent.forget(entry.id) }
        let now = Date()
        let jitter = options.jitter.next()
        let (record, woken) = book.withLock { book -> (JournalRecord?, [Sleepers.Sleeper]) in
            let metrics = book.metrics[connection]
            switch outcome {
            case .delivered:
                book.peers[connection]?.delivered(entry.id)
                metrics?.attempt(.delivered)
                return (.delivered(id: entry.id), book.sleepers.removeAll(.delivery(entry.item.reference)))
            case .deferred(let reason):
                metrics?.attempt(.deferred)
                let record = book.peers[connection]?.deferred(entry.id, reason: reason, now: now, jitter: jitter, backOff: true)
                // Back in the FIFO with a due time the idle workers do not know yet.
                return (record, book.sleepers.removeAll(.work(connection: connection)))
            case .rejected(let reason):
                metrics?.attempt(unreadable ? .unreadable : .rejected)
                return (book.peers[connection]?.rejected(entry.id, reason: reason), [])
            }
        }
        woken.resume(woken: true)
        if case .rejected(let reason) = outcome {
            logger.warning("forward: message held", metadata: ["connection": "\(connection)", "entry": "\(entry.id)", "reason": "\(reason)"])
        }
        if let record { writer.post([record]) }
    }

    private func peerUp(_ connection: String) {
        let (wasDown, woken) = book.withLock { book -> (Bool, [Sleepers.Sleeper]) in
            let before = book.peers[connection]?.peerState
            book.peers[connection]?.peerUp()
            // The probe got through: the workers that waited for it may start sessions.
            return before == .down ? (true, book.sleepers.removeAll(.work(connection: connection))) : (false, [])
        }
        woken.resume(woken: true)
        if wasDown { logger.info("forward: peer is back", metadata: ["connection": "\(connection)"]) }
    }

    private func sessionFailed(_ connection: String, entry: QueueEntry?, reason: String) {
        let now = Date()
        let jitter = options.jitter.next()
        let (record, wasUp, woken) = book.withLock { book -> (JournalRecord?, Bool, [Sleepers.Sleeper]) in
            let before = book.peers[connection]?.peerState
            book.peers[connection]?.peerFailed(reason: reason, now: now, jitter: jitter)
            book.metrics[connection]?.attempt(.sessionFailed)
            // A probe ended and the next one has a time: the idle workers look again.
            let woken = book.sleepers.removeAll(.work(connection: connection))
            guard let entry else { return (nil, before != .down, woken) }
            return (book.peers[connection]?.deferred(entry.id, reason: reason, now: now, jitter: jitter, backOff: false), before != .down, woken)
        }
        woken.resume(woken: true)
        if wasUp {
            logger.warning("forward: peer unreachable, backing off", metadata: ["connection": "\(connection)", "reason": "\(reason)"])
        }
        if let record { writer.post([record]) }
    }

    static func makeTLSContext(_ settings: PeerSettings) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if settings.tls == .required {
            configuration.certificateVerification = .fullVerification
            if let ca = settings.caFile { configuration.trustRoots = .file(ca) }
        } else {
            // Opportunistic TLS protects against passive listeners only (RFC 7435).
            configuration.certificateVerification = .none
        }
        if let certificate = settings.clientCertificateFile, let key = settings.clientKeyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}
