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

    public let configuration: TCPCopyConfiguration
    let logger: Logger
    private(set) var engine: TCPCopyEngine
    /// `--compare`; nil without it.
    var compare: CompareObserver?
    private var actions: [EngineAction] = []
    /// The control links to the targets' intercepts (set up by `run`).
    private(set) var interceptLinks: InterceptLinks<IPAddress>?
    private var linkChanges: [InterceptLinks<IPAddress>.Change] = []
    /// The stats line's own counters (`registrations_without_link`: sessions started while
    /// their link was down, registered again when it is back as `registrations_replayed`);
    /// the engine's, the links' and the levels are copied in when the line is rendered.
    private var counters = TCPCopyDaemonCounters()
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
        keepLargeAllocationsMapped()
        useCRC32CInstruction()
        let loop = try EventLoop()
        loop.batching = WakeupWindow(microseconds: Int64(configuration.batchWindowMicroseconds))
        let signals = try SignalSource()
        try loop.add(signals.descriptor.rawValue, token: Token.signals)
        if let metrics { try loop.add(metrics.descriptor, token: Token.metrics) }
        // Before the control links, so that a wrong -o fails at once.
        let sender = try makeSink()
        self.sink = sender
        let links = try connectLinks(loop: loop, sender: sender)
        let capture = try makePacketSource(configuration: configuration, logger: logger)
        self.capture = capture
        sender.prepare(destinations: links.targets)
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
        var beat = Beat(now: monotonicNow(), statsInterval: configuration.statsInterval)
        while beat.running {
            try turn(&beat, loop: loop, signals: signals, capture: capture, links: links, sender: sender)
        }
        shutDown(capture: capture, links: links, sender: sender)
    }

    /// The loop's state between turns: its timers, and whether it is behind the capture.
    private struct Beat {
        var lastTick: MonotonicTime
        var lastMemoryCheck: MonotonicTime
        var counterSchedule: CounterSchedule
        var running = true
        /// The last turn stopped reading the capture at its limit with packets still waiting.
        /// The batching window then must not pause the loop: the window saves wake-ups when
        /// packets trickle in, but with a backlog every turn finds a full batch anyway, and a
        /// pause only lets the backlog grow until the capture buffer overflows (the drops
        /// with and without the pauses are in docs/performance-history.md).
        var behind = false
        var captureLoss = LossNotice()

        init(now: MonotonicTime, statsInterval: Int) {
            lastTick = now
            lastMemoryCheck = now
            counterSchedule = CounterSchedule(intervalSeconds: statsInterval, now: now)
        }
    }

    /// One turn of the loop: wait, dispatch each event to its source's handler, then the timers.
    private func turn(
        _ beat: inout Beat, loop: EventLoop, signals: SignalSource, capture: PacketSource,
        links: InterceptLinks<IPAddress>, sender: PacketSink
    ) throws {
        // Sleep until the next session timer is due (the engine keeps them in a heap), so
        // that idle keep-alive sessions do not wake the loop every 10 ms.
        var timeout: Int32 =
            links.settingUp ? 10 : Int32(max(10, engine.millisecondsUntilNextTick(now: monotonicNow(), limit: 500)))
        // A source paced by time (a replayed file) wakes the loop when its next packet is due.
        if let due = capture.millisecondsUntilDue(now: monotonicNow()) {
            timeout = Int32(min(Int64(timeout), max(0, due)))
        }
        let events = try loop.wait(timeoutMilliseconds: timeout, urgent: beat.behind || engine.requestsAwaitAnswers)
        beat.behind = false
        for event in events {
            let now = monotonicNow()
            switch event.token {
            case Token.signals:
                beat.running =
                    signals.handlePending {
                        logger.info("tcpcopy stats: \(statsLine())")
                        logCompareSummary(atExit: false)
                    } && beat.running
            case Token.capture:
                beat.behind = try readCapture(capture, now: now, sender: sender) || beat.behind
            case Token.metrics:
                metrics?.serve(values: metricValues)
            case Token.compare:
                _ = try compare?.readCaptures()
            case let token where links.owns(token: token):
                handleLink(event, links: links, now: now, sender: sender)
            default:
                break
            }
        }
        let now = monotonicNow()
        if let due = capture.millisecondsUntilDue(now: now), due <= 0 {
            beat.behind = try readCapture(capture, now: now, sender: sender) || beat.behind
        }
        if capture.exhausted && engine.sessionCount == 0 { beat.running = false }
        onTimers(&beat, now: now, capture: capture, links: links, sender: sender)
        // Registrations reach intercept before the SYNs they announce leave (sendQueued
        // writes the links again, which costs nothing once they are empty).
        links.flushAll(now: now, changes: &linkChanges)
        applyLinkChanges(links, now: now, sender: sender)
        sendQueued(sender)
    }

    /// The session timers and link maintenance every 10 ms, the memory and capture-loss checks
    /// every 100 ms, and the periodic stats line.
    private func onTimers(
        _ beat: inout Beat, now: MonotonicTime, capture: PacketSource, links: InterceptLinks<IPAddress>,
        sender: PacketSink
    ) {
        if now - beat.lastTick >= 10 {
            beat.lastTick = now
            engine.tick(now: now, actions: &actions)
            perform(sender: sender)
            links.maintain(now: now, changes: &linkChanges)
            applyLinkChanges(links, now: now, sender: sender)
        }
        // Often enough that a flood of new sessions cannot overshoot the cap by much.
        if now - beat.lastMemoryCheck >= 100 {
            beat.lastMemoryCheck = now
            checkMemory(now: now, atStart: false)
            metrics?.reap()
            compare?.collect()
            compare?.probeClocks(links)
            // The capture's drop count, on the same 100 ms beat (reading it costs nothing:
            // each read of the socket brings it).
            let dropped = capture.kernelDropped
            if let lost = beat.captureLoss.check(total: dropped, now: now) {
                logger.warning(
                    "the kernel dropped \(lost) captured packets (capture_dropped=\(dropped)): tcpcopy is behind the traffic, and the copies of those sessions are cut. Give tcpcopy more CPU, or a larger --capture-buffer if the traffic comes in bursts."
                )
            }
        }
        if beat.counterSchedule.isDue(now: now) {
            logger.info("tcpcopy stats: \(statsLine())")
        }
    }

    /// An event on a control link: the target's responses go to the engine.
    private func handleLink(
        _ event: EventLoop.Event, links: InterceptLinks<IPAddress>, now: MonotonicTime, sender: PacketSink
    ) {
        let intercept = links.target(of: event.token)
        links.handle(event, now: now, changes: &linkChanges) { event in
            counters.funnel.controlMessagesReceived += 1
            switch event {
            case .response(let packet):
                engine.response(packet, now: now, actions: &actions)
                counters.funnel.responded(packet)
                metrics?.responded(packet)
            case .message(.answerPiece(let piece)):
                compare?.answered(piece, via: intercept)
            case .message(.clockEcho(let sent, let stamp)):
                compare?.clockEchoed(sent: sent, stamp: stamp, from: intercept)
            case .message:
                break
            }
        }
        perform(sender: sender)
        applyLinkChanges(links, now: now, sender: sender)
    }

    /// Tells the engine which links went down (their sessions are dropped) or came back (their
    /// registrations are sent again).
    private func applyLinkChanges(_ links: InterceptLinks<IPAddress>, now: MonotonicTime, sender: PacketSink) {
        guard !linkChanges.isEmpty else { return }
        let changes = linkChanges
        linkChanges.removeAll()
        for change in changes {
            switch change {
            case .down(let target):
                // Nothing more goes to the target until the link is greeted again.
                engine.linkDown(of: target, now: now, actions: &actions)
                perform(sender: sender)
            case .up(let target, let attempts):
                engine.linkUp(of: target)
                links.replay(engine.registeredRoutes(of: target), to: target, attempts: attempts)
            }
        }
    }

    /// Connects to every target's intercept, blocking (tcpcopy refuses to start without
    /// intercept); a target whose intercept is full starts with its link down.
    private func connectLinks(loop: EventLoop, sender: PacketSink) throws -> InterceptLinks<IPAddress> {
        let port = configuration.interceptPort
        let secret = configuration.secret
        let links = InterceptLinks(
            targets: engine.targets, loop: loop, firstToken: Token.firstTarget, port: port, logger: logger
        ) { target, now throws(InterceptHandshakeError) in
            try InterceptLink(
                to: target, port: port, timeoutMilliseconds: InterceptLinks<IPAddress>.Timing().setUpMilliseconds,
                outputCapacity: 4 << 20, now: now, secret: secret)
        }
        links.lossMetadata = { [unowned self] in ["sessions_live": "\(engine.sessionCount)"] }
        interceptLinks = links
        for target in links.targets {
            do {
                let connection = try InterceptLink.connect(
                    to: target, port: port, attempts: 10, intervalMilliseconds: 500, outputCapacity: 4 << 20,
                    logger: logger, secret: secret)
                try links.adopt(connection, for: target)
                logger.info("connected to intercept", metadata: ["target": "\(target.endpointDescription(port: port))"])
            } catch InterceptHandshakeError.tooManyConnections {
                // intercept is full of (perhaps hostile) connections: not a configuration error.
                // Start with the link down (nothing is sent there) and keep trying with backoff.
                links.startWithoutSlot(target, now: monotonicNow(), changes: &linkChanges)
                applyLinkChanges(links, now: monotonicNow(), sender: sender)
            } catch {
                logger.critical(
                    "cannot reach intercept at \(target.endpointDescription(port: port)): \(error). Start intercept on the target first, and check that this host may connect to it (intercept --tcpcopy-allow)."
                )
                throw error
            }
        }
        return links
    }

    /// Releases every target socket we hold, then says goodbye to the intercepts.
    private func shutDown(capture: PacketSource, links: InterceptLinks<IPAddress>, sender: PacketSink) {
        engine.shutdown(now: monotonicNow(), actions: &actions)
        perform(sender: sender)
        sendQueued(sender)
        links.sayGoodbye()
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
                let sent = interceptLinks?.send(message, to: target)
                switch sent {
                case nil: if case .register = message { counters.registrationsWithoutLink += 1 }
                case true?: counters.funnel.controlMessagesSent += 1
                case false?: counters.controlBacklogDropped += 1
                }
                if compare != nil { compareControl(message, to: target, linked: sent != nil) }
            case .notice(let text):
                logger.warning("\(text)")
            case .send(let segment):
                // Counted in the funnel as handed to the kernel; the kernel's refusals are
                // counted as send errors when the queue is sent.
                if sender.queuedCount >= sender.batchLimit { sendQueued(sender) }
                sender.queue(segment)
                compare?.copySent(segment)
                counters.funnel.sent(segment)
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
        interceptLinks?.flushQuietly()
        counters.packetsSent += sender.flush { error in
            if sender.sendErrors[error.errnoName] == 1 {
                logger.warning("send failed (counted as send_error_\(error.errnoName); copying goes on): \(error)")
            }
        }
    }

    /// The sink `-o` chose for IPv4: frames on that interface, or the raw IP socket by
    /// default; IPv6 routes add the raw IPv6 socket, and each copy leaves by its family.
    /// `-o IFACE`: the link-layer sink sends both families (its frames say their EtherType).
    /// Otherwise the raw socket of each family the routes need, split by `FamilySplitSink`.
    private func makeSink() throws -> PacketSink {
        let sendBufferBytes: Int32 = 4 << 20
        if let interface = configuration.sendInterface {
            return try LinkLayerSink(interface: interface, sendBufferBytes: sendBufferBytes, logger: logger)
        }
        let families = Set(configuration.routes.map(\.targetAddress.family))
        let ipv6 = families.contains(.ipv6) ? try RawIPv6Sink(sendBufferBytes: sendBufferBytes) : nil
        if let ipv6, !families.contains(.ipv4) { return ipv6 }
        let ipv4 = try RawIPSink(sendBufferBytes: sendBufferBytes)
        guard let ipv6 else { return ipv4 }
        return FamilySplitSink(ipv4: ipv4, ipv6: ipv6)
    }

    // The link counters `metricValues` reads, kept by `InterceptLinks`.
    private var links: [IPAddress: ControlConnection] { interceptLinks?.established ?? [:] }
    private var closedControlBytes: (received: Int, sent: Int) { interceptLinks?.closedBytes ?? (0, 0) }

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

    /// Every counter and level now: the stats line, and what the metrics endpoint serves.
    private func metricValues() -> [MetricValue] {
        var counters = counters
        counters.engine = engine.counters
        capture?.addCounters(to: &counters.capture)
        counters.compare = compare?.counters
        counters.sessionsLive = engine.sessionCount
        counters.sendErrors = sink?.sendErrors ?? [:]
        sink?.addCounters(to: &counters)
        counters.controlBytesOut = closedControlBytes.sent + links.values.reduce(0) { $0 + $1.bytesSent }
        counters.controlBytesIn = closedControlBytes.received + links.values.reduce(0) { $0 + $1.bytesReceived }
        counters.controlLinkFailures = interceptLinks?.failures ?? 0
        counters.controlLinksCorrupt = interceptLinks?.corruptStreams ?? 0
        counters.controlLinksDown = interceptLinks?.backoffs.count ?? 0
        counters.registrationsReplayed = interceptLinks?.registrationsReplayed ?? 0
        counters.registrationsRefused = interceptLinks?.registrationsRefused ?? [:]
        counters.memorySessionLimit = engine.admission.memory.sessionLimit ?? 0
        counters.bufferedKB = engine.buffers.totalBytes >> 10
        counters.rssKB = residentBytes >> 10
        counters.rssPeakKB = peakResidentBytes >> 10
        return counters.metricValues
    }

    private func statsLine() -> String { CounterLine(metricValues()).text }
}
