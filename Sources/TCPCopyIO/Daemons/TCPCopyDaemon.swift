import CTCPCopyShims
import Glibc
import Logging
import TCPCopyCore

/// tcpcopy: captures the online port's inbound packets, replays each session against every
/// target through `TCPCopyEngine`, and talks to the targets' intercepts. One thread, one epoll.
public final class TCPCopyDaemon {
    private enum Token {
        static let signals: UInt64 = 1
        static let capture: UInt64 = 2
        static let metrics: UInt64 = 5
        static let compare: UInt64 = 6
        static let firstTarget: UInt64 = 16
    }

    /// Control-link timing: a heartbeat every 2 s (intercept answers each), the link declared
    /// dead after 6 s without a byte from intercept, reconnection attempts from 0.5 s apart
    /// doubling to 30 s, each allowed 3 s to connect and be welcomed.
    private enum LinkTiming {
        static let heartbeatMilliseconds: Int64 = 2000
        static let deadAfterMilliseconds: Int64 = 6000
        static let firstRetryMilliseconds: Int64 = 500
        static let maximumRetryMilliseconds: Int64 = 30_000
        static let setUpMilliseconds: Int64 = 3000
    }

    public let configuration: TCPCopyConfiguration
    let logger: Logger
    private(set) var engine: TCPCopyEngine
    /// `--compare`; nil without it.
    var compare: CompareObserver?
    private var actions: [EngineAction] = []
    /// Established control connections, by target.
    private var links: [IPv4Address: ControlConnection] = [:]
    /// Connections being set up again after a loss.
    private var pendingLinks: [IPv4Address: InterceptLink] = [:]
    /// Targets whose link is down, with when to try again.
    private var backoffs: [IPv4Address: ReconnectBackoff] = [:]
    private var packetsSent = 0
    /// SYNs, SYN-ACKs, requests, responses and control messages: the funnel's middle steps.
    private var funnel = TrafficFunnel()
    private var controlBacklogDropped = 0
    private var linkFailures = 0
    /// Registrations that could not be sent because the target's intercept was unreachable:
    /// sessions started while the link was down. They are registered again when the link is
    /// back (`registrationsReplayed`); those that gave up before are lost.
    private var registrationsWithoutLink = 0
    /// Registrations sent again when a link was re-established (`engine.registeredRoutes`), so
    /// that sessions started during an outage get their responses once intercept is back.
    private var registrationsReplayed = 0
    /// Control traffic of links already lost, so that totals survive reconnections.
    private var closedControlBytes = (received: 0, sent: 0)
    private let memoryGauge = ResidentMemoryGauge()
    private var residentBytes = 0
    private var peakResidentBytes = 0
    private var lastTrim = MonotonicTime.zero
    private var capture: PacketSource?
    /// Where copies leave: the raw IP socket, or the link layer with `-o`.
    private var sink: PacketSink?

    /// Called once everything is set up and the daemon starts its loop (`-d` waits for it, and
    /// the pid file is written then).
    public var onReady: (() -> Void)?
    /// `--metrics-listen`: served from this loop; nil without it.
    public var metrics: MetricsEndpoint?

    public init(configuration: TCPCopyConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let tuning = SessionTuning(configuration: configuration)
        engine = TCPCopyEngine(configuration: configuration, tuning: tuning)
        actions.reserveCapacity(64)
    }

    public func run() throws {
        try Capability.require(
            [.netRaw], program: "tcpcopy",
            needs:
                "captures and sends packets with raw sockets (CAP_NET_ADMIN is optional: it lets tcpcopy enlarge their buffers)",
            logger: logger)
        let loop = try EventLoop()
        loop.batching = WakeupWindow(microseconds: Int64(configuration.batchWindowMicroseconds))
        let signals = try SignalSource()
        try loop.add(signals.descriptor.rawValue, token: Token.signals)
        if let metrics { try loop.add(metrics.descriptor, token: Token.metrics) }
        // Before the control links, so that a wrong -o fails at once.
        let sender = try makeSink()
        self.sink = sender
        let targets = engine.targets
        for (index, target) in targets.enumerated() {
            let link: ControlConnection
            do {
                link = try InterceptLink.connect(
                    to: target, port: configuration.interceptPort, attempts: 10, intervalMilliseconds: 500,
                    outputCapacity: 4 << 20, logger: logger, secret: configuration.secret)
            } catch where error.errno == EBUSY {
                // intercept is full of (perhaps hostile) connections: not a configuration error.
                // Start with the link down (nothing is sent there) and keep trying with backoff.
                logger.error(
                    "intercept at \(target):\(configuration.interceptPort) has too many control connections; nothing is copied to it until a slot frees (retrying with backoff)"
                )
                engine.linkDown(of: target, now: monotonicNow(), actions: &actions)
                actions.removeAll()
                backoffs[target] = ReconnectBackoff(
                    lostAt: monotonicNow(), initialMilliseconds: LinkTiming.firstRetryMilliseconds,
                    maximumMilliseconds: LinkTiming.maximumRetryMilliseconds)
                continue
            } catch {
                logger.critical(
                    "cannot reach intercept at \(target):\(configuration.interceptPort): \(error). Start intercept on the target first, and check that this host may connect to it (intercept --tcpcopy-allow)."
                )
                throw error
            }
            links[target] = link
            try loop.add(link.descriptor.rawValue, token: Token.firstTarget + UInt64(index))
            logger.info("connected to intercept", metadata: ["target": "\(target):\(configuration.interceptPort)"])
        }
        let capture = try makePacketSource(configuration: configuration, logger: logger)
        self.capture = capture
        sender.prepare(destinations: targets)
        for descriptor in capture.descriptors { try loop.add(descriptor, token: Token.capture) }
        try startComparing(capture: capture, loop: loop, token: Token.compare)
        checkMemory(now: monotonicNow(), atStart: true)
        logger.info(
            "copying",
            metadata: [
                "routes": "\(configuration.routes.map(\.description).joined(separator: ","))",
                "copies": "\(configuration.copies)",
            ])
        onReady?()

        var lastTick = monotonicNow()
        var lastMemoryCheck = lastTick
        var counterSchedule = CounterSchedule(intervalSeconds: configuration.statsInterval, now: lastTick)
        var running = true
        // The last turn stopped reading the capture at its limit with packets still waiting.
        // The batching window then must not pause the loop: the window saves wake-ups when
        // packets trickle in, but with a backlog every turn finds a full batch anyway, and a
        // pause only lets the backlog grow until the capture buffer overflows (the drops
        // with and without the pauses are in docs/performance-history.md).
        var behind = false
        var captureLoss = LossNotice()
        while running {
            // Sleep until the next session timer is due (the engine keeps them in a heap), so
            // that idle keep-alive sessions do not wake the loop every 10 ms.
            var timeout: Int32 =
                pendingLinks.isEmpty
                ? Int32(max(10, engine.millisecondsUntilNextTick(now: monotonicNow(), limit: 500))) : 10
            // A source paced by time (a replayed file) wakes the loop when its next packet is due.
            let due = capture.millisecondsUntilDue(now: monotonicNow())
            if let due { timeout = Int32(min(Int64(timeout), max(0, due))) }
            let events = try loop.wait(timeoutMilliseconds: timeout, urgent: behind || engine.requestsAwaitAnswers)
            behind = false
            for event in events {
                let now = monotonicNow()
                switch event.token {
                case Token.signals:
                    running =
                        signals.handlePending {
                            logger.info("tcpcopy stats: \(statsLine())")
                            logCompareSummary(atExit: false)
                        } && running
                case Token.capture:
                    behind = try readCapture(capture, now: now, sender: sender) || behind
                case Token.metrics:
                    metrics?.serve { statsLine() }
                case Token.compare:
                    _ = try compare?.readCaptures()
                default:
                    let target = targets[Int(event.token - Token.firstTarget)]
                    if pendingLinks[target] != nil {
                        advancePendingLink(target, token: event.token, loop: loop, now: now)
                        continue
                    }
                    guard let link = links[target] else { continue }
                    if event.writable { flush(link, target: target, loop: loop, token: event.token, sender: sender) }
                    guard event.readable || event.failed else { continue }
                    var saidGoodbye: GoodbyeReason?
                    let outcome = link.read { event in
                        funnel.controlMessagesReceived += 1
                        switch event {
                        case .response(let packet):
                            engine.response(packet, now: now, actions: &actions)
                            funnel.responded(packet)
                            metrics?.responded(packet)
                        case .message(.goodbye(let reason)):
                            logger.warning("intercept at \(target) says goodbye: \(reason)")
                            saidGoodbye = reason
                        case .message(.refused(let key, let reason)):
                            noteRefusedRegistration(key, reason: reason, now: now)
                        case .message(.answerPiece(let piece)):
                            compare?.answered(piece)
                        case .message:
                            break
                        }
                    }
                    perform(sender: sender)
                    switch outcome {
                    case .open where saidGoodbye != nil:
                        // Its intercept is going away: stop sending now, not when the socket closes.
                        linkLost(target, why: "intercept said goodbye (\(saidGoodbye!))", loop: loop, sender: sender)
                    case .open: break
                    case .closed(let why):
                        linkLost(target, why: why, loop: loop, sender: sender)
                    case .corrupt(let error):
                        linkLost(target, why: "corrupt control stream: \(error)", loop: loop, sender: sender)
                    }
                }
            }
            let now = monotonicNow()
            if let due = capture.millisecondsUntilDue(now: now), due <= 0 {
                behind = try readCapture(capture, now: now, sender: sender) || behind
            }
            if capture.exhausted && engine.sessionCount == 0 { running = false }
            if now - lastTick >= 10 {
                lastTick = now
                engine.tick(now: now, actions: &actions)
                perform(sender: sender)
                maintainLinks(targets: targets, loop: loop, sender: sender, now: now)
            }
            // Often enough that a flood of new sessions cannot overshoot the cap by much.
            if now - lastMemoryCheck >= 100 {
                lastMemoryCheck = now
                checkMemory(now: now, atStart: false)
                metrics?.reap()
                compare?.collect()
                // The capture's drop count, on the same 100 ms beat (reading it costs nothing:
                // each read of the socket brings it).
                let dropped = capture.kernelDropped
                if let lost = captureLoss.check(total: dropped, now: now) {
                    logger.warning(
                        "the kernel dropped \(lost) captured packets (capture_dropped=\(dropped)): tcpcopy is behind the traffic, and the copies of those sessions are cut. Give tcpcopy more CPU, or a larger --capture-buffer if the traffic comes in bursts."
                    )
                }
            }
            if counterSchedule.isDue(now: now) {
                logger.info("tcpcopy stats: \(statsLine())")
            }
            // Registrations reach intercept before the SYNs they announce leave (sendQueued
            // writes the links again, which costs nothing once they are empty).
            for (index, target) in targets.enumerated() {
                if let link = links[target] {
                    flush(link, target: target, loop: loop, token: Token.firstTarget + UInt64(index), sender: sender)
                }
            }
            sendQueued(sender)
        }
        // Release every target socket we hold, then say goodbye.
        engine.shutdown(now: monotonicNow(), actions: &actions)
        perform(sender: sender)
        sendQueued(sender)
        for link in links.values {
            link.send(.goodbye(.shuttingDown))
            try? link.flush()
        }
        logCompareSummary(atExit: true)
        logger.info("tcpcopy stats: \(statsLine())")
        if let summary = capture.summary(engine: engine.counters) { logger.notice("\(summary)") }
    }

    /// Reads what the capture has ready and hands each packet to the engine.
    private func readCapture(_ capture: PacketSource, now: MonotonicTime, sender: PacketSink) throws -> Bool {
        let behind = try capture.read(limit: 1024, now: now) { packet in
            engine.captured(packet.bytes, now: now, actions: &actions)
            // A flood of new sessions must not outrun the memory check.
            if engine.wantsMemoryReading { checkMemory(now: now, atStart: false) }
        }
        perform(sender: sender)
        return behind
    }

    /// Carries out the engine's actions: control messages go to their link's output buffer and
    /// packets to the send queue, both written once per loop turn, the control links first so
    /// that a registration reaches intercept before the SYN it announces leaves.
    private func perform(sender: PacketSink) {
        for action in actions {
            switch action {
            case .control(let message, let target):
                switch message {
                case .register(let key): metrics?.sessionStarted(key)
                case .unregister(let key): metrics?.sessionEnded(key)
                default: break
                }
                guard let link = links[target] else {
                    if case .register = message { registrationsWithoutLink += 1 }
                    if compare != nil { compareControl(message, link: nil) }
                    continue
                }
                if link.send(message) { funnel.controlMessagesSent += 1 } else { controlBacklogDropped += 1 }
                if compare != nil { compareControl(message, link: link) }
            case .notice(let text):
                logger.warning("\(text)")
            case .send(let segment):
                // Counted in the funnel as handed to the kernel; the kernel's refusals are
                // counted as send errors when the queue is sent.
                if sender.queuedCount >= sender.batchLimit { sendQueued(sender) }
                sender.queue(segment)
                compare?.copySent(segment)
                funnel.sent(segment)
                metrics?.sent(segment)
            }
        }
        actions.removeAll(keepingCapacity: true)
    }

    /// Sends the queued packets, after writing what the control links hold: a registration
    /// must reach intercept before the SYN it announces. (A link whose write fails is dealt
    /// with by the end-of-turn flush, which also tracks its writable interest.)
    private func sendQueued(_ sender: PacketSink) {
        guard sender.queuedCount > 0 else { return }
        for link in links.values { try? link.flush() }
        packetsSent += sender.flush { error in
            if sender.sendErrors[error.errnoName] == 1 {
                logger.warning("send failed (counted as send_error_\(error.errnoName); copying goes on): \(error)")
            }
        }
    }

    /// The sink `-o` chose: frames on that interface, or the raw IP socket by default.
    private func makeSink() throws -> PacketSink {
        let sendBufferBytes: Int32 = 4 << 20
        if let interface = configuration.sendInterface {
            return try LinkLayerSink(interface: interface, sendBufferBytes: sendBufferBytes, logger: logger)
        }
        return try RawIPSink(sendBufferBytes: sendBufferBytes)
    }

    private func flush(
        _ link: ControlConnection, target: IPv4Address, loop: EventLoop, token: UInt64, sender: PacketSink
    ) {
        do {
            try link.flush()
            try loop.modify(link.descriptor.rawValue, token: token, writable: link.hasPendingOutput)
        } catch {
            linkLost(target, why: "\(error)", loop: loop, sender: sender)
        }
    }

    private func linkLost(_ target: IPv4Address, why: String, loop: EventLoop, sender: PacketSink) {
        guard let link = links.removeValue(forKey: target) else { return }
        loop.remove(link.descriptor.rawValue)
        closedControlBytes.received += link.bytesReceived
        closedControlBytes.sent += link.bytesSent
        linkFailures += 1
        let live = engine.sessionCount
        logger.error(
            "lost the control connection to intercept at \(target): \(why); its sessions are dropped (counted as aborted), reconnecting",
            metadata: ["sessions_live": "\(live)"])
        let now = monotonicNow()
        // Nothing more goes to the target until the link is greeted again.
        engine.linkDown(of: target, now: now, actions: &actions)
        perform(sender: sender)
        backoffs[target] = ReconnectBackoff(
            lostAt: now, initialMilliseconds: LinkTiming.firstRetryMilliseconds,
            maximumMilliseconds: LinkTiming.maximumRetryMilliseconds)
    }

    /// Heartbeats and silence on the established links; reconnection attempts on the lost ones.
    private func maintainLinks(targets: [IPv4Address], loop: EventLoop, sender: PacketSink, now: MonotonicTime) {
        for (index, target) in targets.enumerated() {
            let token = Token.firstTarget + UInt64(index)
            if let link = links[target] {
                if link.liveness.isDead(now: now) {
                    linkLost(
                        target,
                        why: "intercept silent for \(link.liveness.silence(now: now)) ms (no heartbeat answer)",
                        loop: loop, sender: sender)
                } else if link.liveness.heartbeatDue(now: now) {
                    link.send(.heartbeat)
                    link.liveness.sent(now: now)
                }
                continue
            }
            if pendingLinks[target] != nil {
                advancePendingLink(target, token: token, loop: loop, now: now)
                continue
            }
            guard let backoff = backoffs[target], backoff.isDue(now: now) else { continue }
            do {
                let link = try InterceptLink(
                    to: target, port: configuration.interceptPort, timeoutMilliseconds: LinkTiming.setUpMilliseconds,
                    outputCapacity: 4 << 20, now: now, secret: configuration.secret)
                try loop.add(link.descriptor, token: token, writable: true)
                pendingLinks[target] = link
            } catch {
                retryLater(target, after: error, now: now)
            }
        }
    }

    private func advancePendingLink(_ target: IPv4Address, token: UInt64, loop: EventLoop, now: MonotonicTime) {
        guard let link = pendingLinks[target] else { return }
        switch link.advance(now: now) {
        case .waiting:
            try? loop.modify(link.descriptor, token: token, writable: link.stage == .connecting)
        case .failed(let error):
            loop.remove(link.descriptor)
            pendingLinks[target] = nil
            retryLater(target, after: error, now: now)
        case .established:
            pendingLinks[target] = nil
            try? loop.modify(link.descriptor, token: token, writable: false)
            links[target] = link.connection
            engine.linkUp(of: target)
            let attempts = (backoffs.removeValue(forKey: target)?.failures ?? 0) + 1
            let replayed = engine.registeredRoutes(of: target)
            for key in replayed { link.connection.send(.register(key)) }
            registrationsReplayed += replayed.count
            logger.warning(
                "reconnected to intercept at \(target):\(configuration.interceptPort) after \(attempts) attempt(s); copying resumes (\(replayed.count) sessions started meanwhile registered again)"
            )
        }
    }

    /// Registrations intercept refused, by reason (`RegistrationRefusal`): their sessions get no
    /// responses (another tcpcopy, or a squatter, owns the key; or intercept's route cap).
    private var registrationsRefused: [RegistrationRefusal: Int] = [:]
    private var lastRefusalNotice: MonotonicTime?

    private func noteRefusedRegistration(_ key: RouteKey, reason: RegistrationRefusal, now: MonotonicTime) {
        registrationsRefused[reason, default: 0] += 1
        if let last = lastRefusalNotice, now - last < 10_000 { return }
        lastRefusalNotice = now
        let why =
            switch reason {
            case .ownedByAnother:
                "another control connection owns it (another tcpcopy copying the same clients without its own -f, or a peer squatting on the port: consider --secret-file)"
            case .connectionCap: "this connection is at intercept's --max-routes-per-connection"
            case .totalCap: "intercept is at its --max-routes"
            case .unknown: "an unknown reason"
            }
        logger.warning(
            "intercept refused the registration of \(key): \(why); that session's responses will not come back (registrations_refused)"
        )
    }

    private func retryLater(_ target: IPv4Address, after error: SystemCallError, now: MonotonicTime) {
        guard var backoff = backoffs[target] else { return }
        let delay = backoff.failed(now: now)
        backoffs[target] = backoff
        logger.warning(
            "intercept at \(target):\(configuration.interceptPort) still unreachable (attempt \(backoff.failures): \(error)); next attempt in \(delay) ms"
        )
    }

    /// Reads the resident set size and hands it to the engine, whose admission turns it into
    /// the session limit the memory cap implies (`SessionAdmission`, `MemoryBudget`). While
    /// memory is pressed, freed memory is handed back to the kernel (malloc_trim) once a second,
    /// so that the limits can be lifted when it is really free.
    private func checkMemory(now: MonotonicTime, atStart: Bool) {
        guard var resident = memoryGauge.residentBytes() else { return }
        if engine.admission.memoryPressed && now - lastTrim >= 1000 {
            lastTrim = now
            _ = CTCPCopyShims_malloc_trim()
            resident = memoryGauge.residentBytes() ?? resident
        }
        residentBytes = resident
        peakResidentBytes = max(peakResidentBytes, resident)
        switch engine.memoryReading(residentBytes: resident) {
        case .none:
            break
        case .capReached(let limit):
            let hint = atStart ? ". tcpcopy itself needs more than that: raise -m" : ""
            logger.warning(
                "memory cap reached: resident \(resident >> 20) MiB > -m \(configuration.memoryLimitMB) MiB with \(limit) live sessions; new sessions beyond \(limit) live are refused (counted as memory_full)\(hint)"
            )
        case .lowered(let limit):
            logger.warning(
                "memory still growing over the cap (resident \(resident >> 20) MiB): new sessions beyond \(limit) live are refused"
            )
        case .released:
            logger.info("memory back under the cap (\(resident >> 20) MiB); the memory session limit is lifted")
        }
    }

    private func statsLine() -> String {
        var line = engine.counters.line
        capture?.addCounters(to: &line)
        compare?.addCounters(to: &line)
        line.add("sessions_live", engine.sessionCount)
        line.add("packets_sent", packetsSent)
        funnel.add(to: &line)
        let sendErrors = sink?.sendErrors ?? [:]
        line.add("send_errors", sendErrors.values.reduce(0, +))
        for (name, count) in sendErrors.sorted(by: { $0.key < $1.key }) { line.add("send_error_\(name)", count) }
        sink?.addCounters(to: &line)
        line.add("control_backlog_dropped", controlBacklogDropped)
        line.add("control_bytes_out", closedControlBytes.sent + links.values.reduce(0) { $0 + $1.bytesSent })
        line.add("control_bytes_in", closedControlBytes.received + links.values.reduce(0) { $0 + $1.bytesReceived })
        line.add("control_link_failures", linkFailures)
        line.add("control_links_down", backoffs.count)
        line.add("registrations_without_link", registrationsWithoutLink)
        line.add("registrations_replayed", registrationsReplayed)
        line.add("registrations_refused", registrationsRefused.values.reduce(0, +))
        line.add("registrations_refused_owned", registrationsRefused[.ownedByAnother, default: 0])
        line.add(
            "registrations_refused_cap",
            registrationsRefused[.connectionCap, default: 0] + registrationsRefused[.totalCap, default: 0])
        line.add("memory_full", engine.counters.memoryFull)
        line.add("memory_session_limit", engine.admission.memory.sessionLimit ?? 0)
        line.add("buffered_kb", engine.buffers.totalBytes >> 10)
        line.add("rss_kb", residentBytes >> 10)
        line.add("rss_peak_kb", peakResidentBytes >> 10)
        return line.text
    }
}
