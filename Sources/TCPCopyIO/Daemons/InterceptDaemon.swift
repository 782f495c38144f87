import Glibc
import Logging
import TCPCopyCore

/// intercept: gives every packet of its NFQUEUE queue a verdict (ACCEPT for allow-listed
/// destinations, DROP for all others) and sends the headers of dropped responses to the tcpcopy
/// that registered their session. One thread, one epoll.
public final class InterceptDaemon {
    private enum Token {
        static let signals: UInt64 = 1
        static let queue: UInt64 = 2
        static let listener: UInt64 = 3
        static let metrics: UInt64 = 5
        static let firstConnection: UInt64 = 16
    }

    /// Output buffered for one tcpcopy at most; a peer that lets it fill is not reading, and is
    /// dropped rather than allowed to hold memory or the others back.
    static let outputCapacity = 8 << 20
    /// Control connections open at once at most; more are refused (goodbye(too many
    /// connections), on which tcpcopy retries with backoff).
    static let maximumConnections = 64
    /// A connection must complete its handshake this soon after connecting.
    static let handshakeMilliseconds: Int64 = 2000

    public let configuration: InterceptConfiguration
    let logger: Logger
    private var engine: InterceptEngine<UInt64>
    private var connections: [UInt64: ControlConnection] = [:]
    private var nextToken = Token.firstConnection
    private var deliveries: [InterceptEngine<UInt64>.Delivery] = []
    /// The messages of one read, kept between reads for their capacity.
    private var messages: [ControlMessage] = []
    private var touched: Set<UInt64> = []
    /// Connections to drop after the current event (their output buffer overflowed).
    private var overflowed: Set<UInt64> = []
    private var queue: NetfilterQueue?
    private var peerPolicy = ControlPeerPolicy(networks: [], source: .listed)

    /// Called once everything is set up and the daemon starts its loop (`-d` waits for it, and
    /// the pid file is written then).
    public var onReady: (() -> Void)?
    /// `--metrics-listen`: served from this loop; nil without it.
    public var metrics: MetricsEndpoint?

    public init(configuration: InterceptConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        engine = InterceptEngine(
            allowList: configuration.allowList, ipv6AllowList: configuration.ipv6AllowList,
            limits: .init(
                routeIdleMilliseconds: Int64(configuration.routeTimeout) * 1000,
                maximumRoutesPerOwner: configuration.maxRoutesPerConnection, maximumRoutes: configuration.maxRoutes),
            secret: configuration.secret)
        engine.answers.enabled = configuration.reportsAnswers
    }

    public func run() throws {
        let needed: [Capability] = configuration.installRule ? [.netAdmin, .netRaw] : [.netAdmin]
        try Capability.require(
            needed, program: "intercept",
            needs: configuration.installRule
                ? "reads the NFQUEUE queue (CAP_NET_ADMIN) and installs its iptables rule (CAP_NET_ADMIN and CAP_NET_RAW)"
                : "reads the NFQUEUE queue over netlink",
            logger: logger)
        keepLargeAllocationsMapped()
        useCRC32CInstruction()
        let loop = try EventLoop()
        loop.batching = WakeupWindow(microseconds: Int64(configuration.batchWindowMicroseconds))
        let signals = try SignalSource()
        try loop.add(signals.descriptor.rawValue, token: Token.signals)
        if let metrics { try loop.add(metrics.descriptor, token: Token.metrics) }
        let queue = try openQueue()
        try loop.add(queue.fileDescriptor, token: Token.queue)
        let listener = try openListener()
        try loop.add(listener.descriptor.rawValue, token: Token.listener)
        peerPolicy =
            configuration.tcpcopyAllow.map {
                ControlPeerPolicy(networks: $0, ipv6Networks: configuration.tcpcopyAllowIPv6, source: .listed)
            }
            ?? .localNetworks(interfaceNetworks(), ipv6InterfaceNetworks: interfaceIPv6Networks())
        let installedRule = try prepareRule()
        logger.info(
            "intercepting",
            metadata: [
                "queue": "\(configuration.queue)", "port": "\(configuration.listenPort)",
                "allow":
                    "\((configuration.allowList.map(\.description) + configuration.ipv6AllowList.map { "[\($0)]" }).joined(separator: ","))",
                "tcpcopy_allow":
                    "\(peerPolicy.description)\(peerPolicy.source == .localNetworks ? " (this host's networks; set --tcpcopy-allow to restrict)" : "")",
            ])
        onReady?()
        var beat = Beat(
            now: monotonicNow(), statsInterval: configuration.statsInterval,
            queueLosses: KernelQueueStatistics.losses(of: configuration.queue) ?? 0)
        while beat.running {
            try turn(&beat, loop: loop, signals: signals, queue: queue, listener: listener)
        }
        shutDown(loop: loop, installedRule: installedRule)
    }

    /// The loop's state between turns: its timers, and whether it left queued packets unread.
    private struct Beat {
        var lastTick: MonotonicTime
        var lastRuleCheck: MonotonicTime
        var counterSchedule: CounterSchedule
        var running = true
        /// The last turn left queued packets unread: the next wait skips the batching window's
        /// pause (see tcpcopy's loop).
        var behind = false
        /// The kernel's drops of this queue, read once a second while responses come in.
        var queueLoss: LossNotice
        var queuedAtLastCheck = 0

        init(now: MonotonicTime, statsInterval: Int, queueLosses: Int) {
            lastTick = now
            lastRuleCheck = now
            counterSchedule = CounterSchedule(intervalSeconds: statsInterval, now: now)
            queueLoss = LossNotice(baseline: queueLosses)
        }
    }

    /// One turn of the loop: wait, dispatch each event to its source's handler, write what the
    /// connections hold, then the timers.
    private func turn(
        _ beat: inout Beat, loop: EventLoop, signals: SignalSource, queue: NetfilterQueue, listener: ControlListener
    ) throws {
        // 500 ms: the rule check's beat (below) even when nothing happens.
        var events = try loop.wait(timeoutMilliseconds: 500, urgent: beat.behind)
        beat.behind = false
        // The queue goes last: a registration that arrived with its session's first response
        // then routes that response directly, instead of it being held and released.
        if let queueEvent = events.firstIndex(where: { $0.token == Token.queue }) {
            events.swapAt(queueEvent, events.count - 1)
        }
        for event in events {
            let now = monotonicNow()
            switch event.token {
            case Token.signals:
                beat.running = signals.handlePending { logStats() } && beat.running
            case Token.queue:
                beat.behind = try drain(queue, engine: &engine, now: now)
                noteVerdictWriteErrors(queue)
            case Token.listener:
                acceptConnections(listener, loop: loop, now: now)
            case Token.metrics:
                metrics?.serve(values: metricValues)
            default:
                handleConnection(event, loop: loop, now: now)
            }
            dropOverflowed(loop: loop)
        }
        flushTouched(loop: loop)
        onTimers(&beat, now: monotonicNow(), loop: loop, listener: listener)
    }

    /// The engine's tick, silent connections, the paused listener and the kernel's queue losses
    /// every second; the rule and the handshakes every 500 ms; the periodic stats.
    private func onTimers(_ beat: inout Beat, now: MonotonicTime, loop: EventLoop, listener: ControlListener) {
        if now - beat.lastTick >= 1000 {
            beat.lastTick = now
            engine.tick(now: now)
            dropSilent(loop: loop, now: now)
            metrics?.reap()
            if listenerPaused {
                // Paused after a transient accept error (a full descriptor table keeps the
                // listener readable, which would spin the loop): try again once a second.
                listenerPaused = (try? loop.add(listener.descriptor.rawValue, token: Token.listener)) == nil
            }
            if engine.counters.queued != beat.queuedAtLastCheck,
                let total = KernelQueueStatistics.losses(of: configuration.queue),
                let lost = beat.queueLoss.check(total: total, now: now)
            {
                logger.warning(
                    "the kernel dropped \(lost) responses of queue \(configuration.queue) (kernel_queue_dropped + kernel_user_dropped = \(total)): intercept is behind, and the sessions they belong to lose them until the target retransmits. Raise -q (the queue's length) for bursts; a steady loss needs more CPU for intercept."
                )
            }
            beat.queuedAtLastCheck = engine.counters.queued
        }
        // A flushed rule is back (or reported) within a second.
        if now - beat.lastRuleCheck >= 500 {
            beat.lastRuleCheck = now
            watchRule()
            dropUngreeted(loop: loop, now: now)
        }
        if beat.counterSchedule.isDue(now: now) {
            logStats()
        }
    }

    /// Messages from one tcpcopy: each goes to the engine, and its answer back.
    private func handleConnection(_ event: EventLoop.Event, loop: EventLoop, now: MonotonicTime) {
        guard let connection = connections[event.token] else { return }
        if event.writable { touched.insert(event.token) }
        guard event.readable || event.failed else { return }
        messages.removeAll(keepingCapacity: true)
        // One buffer (64 KiB, some 3,000 registrations) per connection and turn: the
        // queue's verdicts come after the connections' events, and a peer flooding
        // registrations must not hold them back (the level-triggered loop returns).
        let outcome = connection.read(into: &messages, maximumReads: 1)
        var closeAfterReply = false
        for message in messages where !closeAfterReply {
            closeAfterReply = answer(message, on: connection, token: event.token, now: now)
        }
        deliver(deliveries)
        deliveries.removeAll(keepingCapacity: true)
        touched.insert(event.token)
        switch outcome {
        case .open where !closeAfterReply: break
        case .open: close(event.token, loop: loop, why: "protocol misuse")
        case .closed(let why): close(event.token, loop: loop, why: why)
        case .corrupt(let error):
            engine.counters.connectionsRejected += 1
            connection.send(.goodbye(.protocolError))
            close(event.token, loop: loop, why: "corrupt control stream: \(error)", warn: true)
        }
    }

    /// Hands one message to the engine and queues its reply; true when the connection must be
    /// closed once the reply is written.
    private func answer(
        _ message: ControlMessage, on connection: ControlConnection, token: UInt64, now: MonotonicTime
    ) -> Bool {
        if case .register(let key) = message { checkCoverage(of: key, peer: connection.peer) }
        switch engine.received(
            message, from: token, now: now, deliveries: &deliveries, nonce: randomNonce,
            clockMicroseconds: UInt64(monotonicMicroseconds()))
        {
        case .none: break
        case .duplicate(let key, let owner):
            if !connection.send(.refused(key, .ownedByAnother)) { overflowed.insert(token) }
            noteDuplicate(key, peer: connection.peer, owner: connections[owner]?.peer, now: now)
        case .overCap(let key, let reason):
            if !connection.send(.refused(key, reason)) { overflowed.insert(token) }
            noteOverCap(reason, peer: connection.peer, now: now)
        case .send(let reply):
            if !connection.send(reply) { overflowed.insert(token) }
        case .sendAndClose(let reply):
            connection.send(reply)
            if reply == .goodbye(.badSecret) {
                logger.warning(
                    "refused a control connection: wrong shared secret (--secret-file)",
                    metadata: ["peer": "\(connection.peer)"])
            } else {
                logger.warning(
                    "closing control connection: protocol misuse",
                    metadata: ["peer": "\(connection.peer)", "message": "\(message)"])
            }
            return true
        }
        return false
    }

    /// Writes what the connections touched this turn hold; epoll is told only when pending
    /// output starts or stops, not on every turn.
    private func flushTouched(loop: EventLoop) {
        for token in touched {
            guard let connection = connections[token] else { continue }
            do {
                try connection.flush()
                let watch = connection.hasPendingOutput
                if watch != connection.watchesWritable {
                    try loop.modify(connection.descriptor.rawValue, token: token, writable: watch)
                    connection.watchesWritable = watch
                }
            } catch {
                close(token, loop: loop, why: "\(error)")
            }
        }
        touched.removeAll(keepingCapacity: true)
    }

    private func openQueue() throws -> NetfilterQueue {
        do {
            let queue = try NetfilterQueue(
                queue: configuration.queue, maximumLength: configuration.queueMaxLength,
                receiveBufferBytes: Int32(clamping: configuration.netlinkReceiveBufferBytes),
                copiesPayload: configuration.reportsAnswers)
            self.queue = queue
            return queue
        } catch {
            logger.critical(
                "cannot open NFQUEUE queue \(configuration.queue): \(error). intercept needs CAP_NET_ADMIN and the nfnetlink_queue module, and no other process may read the same queue."
            )
            throw error
        }
    }

    private func openListener() throws -> ControlListener {
        do {
            return try ControlListener(bindAddress: configuration.bindAddress, port: configuration.listenPort)
        } catch {
            logger.critical("cannot listen for tcpcopy on port \(configuration.listenPort): \(error)")
            throw error
        }
    }

    /// Says goodbye to every tcpcopy, and removes the rule if asked.
    private func shutDown(loop: EventLoop, installedRule: InstalledRule?) {
        for (token, connection) in connections {
            connection.send(.goodbye(.shuttingDown))
            try? connection.flush()
            close(token, loop: loop, why: "shutting down")
        }
        // Only a clean stop (SIGTERM, SIGINT) gets here; an error exit throws past it.
        if let installedRule, configuration.removeRuleOnExit { removeRule(installedRule) }
        if configuration.removeRuleOnExit { ipv6RuleWatch?.remove(logger: logger) }
        logStats()
    }

    /// Accepts what is pending. A transient error (out of descriptors or memory) is counted,
    /// logged, and pauses the listener until the next tick; intercept keeps running.
    private func acceptConnections(_ listener: ControlListener, loop: EventLoop, now: MonotonicTime) {
        while true {
            let accepted: (FileDescriptor, IPAddress, UInt16)?
            do {
                accepted = try listener.accept()
            } catch {
                let name = error.errnoName
                acceptErrors[name, default: 0] += 1
                logger.error(
                    "accept() on the control port failed: \(error); counted as accept_error_\(name), retrying in 1 s (intercept goes on)"
                )
                loop.remove(listener.descriptor.rawValue)
                listenerPaused = true
                return
            }
            guard let (fd, address, port) = accepted else { return }
            let peer = address.endpointDescription(port: port)
            let refusal: (String, GoodbyeReason)?
            if !peerPolicy.allows(address) {
                refusal = (
                    peerPolicy.source == .listed
                        ? "not in --tcpcopy-allow (\(peerPolicy.description))"
                        : "not on this host's networks (\(peerPolicy.description)); list it with --tcpcopy-allow",
                    .notAllowed
                )
            } else if connections.count >= Self.maximumConnections {
                refusal = ("\(Self.maximumConnections) control connections are open already", .tooManyConnections)
            } else {
                refusal = nil
            }
            if let (refusal, reason) = refusal {
                // A fresh socket has room for one small frame; the goodbye tells tcpcopy why.
                let connection = ControlConnection(descriptor: fd, peer: peer, outputCapacity: 64, now: now)
                connection.send(.goodbye(reason))
                try? connection.flush()
                engine.counters.connectionsRefused += 1
                logger.warning("refused a control connection", metadata: ["peer": "\(peer)", "reason": "\(refusal)"])
                continue  // closed as `connection` and `fd` go out of scope
            }
            let token = nextToken
            nextToken += 1
            let deadAfter = Int64(configuration.heartbeatTimeout) * 1000
            let connection = ControlConnection(
                descriptor: fd, peer: peer, outputCapacity: Self.outputCapacity, now: now,
                heartbeatMilliseconds: deadAfter / 2, deadAfterMilliseconds: deadAfter)
            do {
                try loop.add(fd.rawValue, token: token)
            } catch {
                acceptErrors[error.errnoName, default: 0] += 1
                logger.error("cannot watch the control connection of \(peer): \(error); closed (intercept goes on)")
                continue
            }
            connections[token] = connection
            logger.info("tcpcopy connected", metadata: ["peer": "\(peer)"])
        }
    }

    /// Transient accept (and epoll_ctl) failures, by errno name.
    private var acceptErrors: [String: Int] = [:]
    private var listenerPaused = false
    var ruleWatch: QueueRuleWatch?
    /// The IPv6 rule `--install-rule` installed, if any.
    var ipv6RuleWatch: IPv6QueueRuleWatch?
    var lastUnreadableNotice: MonotonicTime?
    /// Target ports registered that the rule does not cover, warned about once each.
    var uncoveredPortsWarned: Set<UInt16> = []
    /// `reportAnswer`'s pieces of one packet, kept to reuse their storage.
    var answerPieces: [ReportedPiece] = []
    private var verdictWriteErrorsLogged = 0

    /// Logs each verdict write given up since the last call.
    private func noteVerdictWriteErrors(_ queue: NetfilterQueue) {
        let total = queue.verdictWriteErrors.values.reduce(0, +)
        guard total > verdictWriteErrorsLogged else { return }
        logger.error(
            "the kernel refused \(total - verdictWriteErrorsLogged) verdict write(s) (\(queue.verdictWriteErrors.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))); their packets stay dropped, intercept goes on"
        )
        verdictWriteErrorsLogged = total
    }

    private var lastDuplicateNotice: MonotonicTime?
    private var duplicatesSinceNotice = 0
    private var lastOverCapNotice: MonotonicTime?
    private var overCapSinceNotice = 0

    /// A registration over a route cap was refused (and answered): said at most every 10 s.
    private func noteOverCap(_ reason: RegistrationRefusal, peer: String, now: MonotonicTime) {
        overCapSinceNotice += 1
        if let last = lastOverCapNotice, now - last < 10_000 { return }
        lastOverCapNotice = now
        let cap =
            reason == .connectionCap
            ? "\(configuration.maxRoutesPerConnection) routes per connection (--max-routes-per-connection)"
            : "\(configuration.maxRoutes) routes in all (--max-routes)"
        logger.warning(
            "registration refused: \(peer) is over the cap of \(cap) (\(overCapSinceNotice) refused since the last notice; registrations_over_cap)"
        )
        overCapSinceNotice = 0
    }

    /// Fresh random bytes for a handshake challenge (the system generator: getrandom(2)).
    private func randomNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<ControlHandshake.nonceLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// Two tcpcopy processes registered the same session: the first keeps its route (no
    /// misrouting), and the operator learns why, at most every 10 s.
    private func noteDuplicate(_ key: RouteKey, peer: String, owner: String?, now: MonotonicTime) {
        duplicatesSinceNotice += 1
        if let last = lastDuplicateNotice, now - last < 10_000 { return }
        lastDuplicateNotice = now
        logger.warning(
            "duplicate registration refused: \(key) from \(peer) is already routed to \(owner ?? "another tcpcopy") (\(duplicatesSinceNotice) since the last notice). Two tcpcopy processes copy the same clients: give each its own -f (port shift factor)."
        )
        duplicatesSinceNotice = 0
    }

    /// Gives every queued packet of up to four batches its verdict and forwards the headers of
    /// routed responses (a pure ACK at the end, unless a later packet of its session supersedes
    /// it: `HeldAcks`); true when more are probably waiting. `engine` is passed in (one
    /// exclusive access to the property for the whole batch) and the forwarding state is a
    /// local: the closure runs per packet, and each access to a class property there costs a
    /// load through `self` (and, in debug builds, a run-time exclusivity check; see Package.swift).
    private func drain(
        _ queue: NetfilterQueue, engine: inout InterceptEngine<UInt64>, now: MonotonicTime
    ) throws -> Bool {
        var forwarding = ForwardingRun()
        defer {
            // The pure ACKs held for a later packet of their session that did not come.
            engine.releaseHeldAcks { token, headers in
                headers.withUnsafeBytes { forward($0, to: token, in: &forwarding) }
            }
            finish(forwarding, counters: &engine.counters)
        }
        return try queue.process(maximumBatches: 4) { bytes in
            let (verdict, route) = engine.queued(bytes.bindMemory(to: UInt8.self), now: now)
            // (Routes not compared yet too: their SYN-ACK may come before the `compare`. A pure
            // ACK, held, is nothing of an answer.)
            if let route, !route.isHeld, let packet = route.packet, engine.answers.enabled {
                reportAnswer(packet, bytes, engine: &engine, in: &forwarding)
            }
            if let route {
                if let earlier = route.earlierAck {
                    earlier.withUnsafeBytes { forward($0, to: route.connection, in: &forwarding) }
                }
                if !route.isHeld {
                    let headers = UnsafeRawBufferPointer(rebasing: bytes[..<route.headerLength])
                    forward(headers, to: route.connection, in: &forwarding)
                }
            }
            return verdict == .accept
        }
    }

    /// Queues held response headers, released by a registration, on their tcpcopy connection.
    private func deliver(_ deliveries: [InterceptEngine<UInt64>.Delivery]) {
        guard !deliveries.isEmpty else { return }
        var forwarding = ForwardingRun()
        for delivery in deliveries {
            let connection = connection(for: delivery.connection, in: &forwarding)
            forwarding.count(connection?.send(.response(delivery.header)), to: delivery.connection)
        }
        finish(forwarding, counters: &engine.counters)
    }

    /// Sends a response's headers to the tcpcopy of `token` and counts the outcome.
    private func forward(_ headers: UnsafeRawBufferPointer, to token: UInt64, in run: inout ForwardingRun) {
        run.count(connection(for: token, in: &run)?.sendResponse(headers: headers), to: token)
    }

    /// The connection `token` names, looked up (and marked for this turn's flush) only when it
    /// is not the one the run forwarded to last.
    func connection(for token: UInt64, in run: inout ForwardingRun) -> ControlConnection? {
        if token != run.token {
            run.token = token
            run.connection = connections[token]
            if run.connection != nil { touched.insert(token) }
        }
        return run.connection
    }

    private func finish(_ run: ForwardingRun, counters: inout InterceptCounters) {
        counters.forwarded += run.forwarded
        counters.backlogDropped += run.refused
        for token in run.overflowed { overflowed.insert(token) }
    }

    /// Drops the connections whose output buffer overflowed: their peer is not reading.
    private func dropOverflowed(loop: EventLoop) {
        guard !overflowed.isEmpty else { return }
        for token in overflowed where connections[token] != nil {
            engine.counters.connectionsOverflowed += 1
            close(
                token, loop: loop,
                why:
                    "not reading: \(Self.outputCapacity >> 20) MiB of output waiting (the output cap); its routes are dropped",
                warn: true)
        }
        overflowed.removeAll(keepingCapacity: true)
    }

    /// Drops connections silent for longer than `--heartbeat-timeout` (tcpcopy sends a
    /// heartbeat every 2 s): a peer that connected and never spoke, froze, or whose packets a
    /// firewall now drops.
    /// A slot is held past the handshake only by a peer that completed it: hello (and the
    /// secret's proof) within 2 s of connecting.
    private func dropUngreeted(loop: EventLoop, now: MonotonicTime) {
        for (token, connection) in connections
        where !engine.isGreeted(token) && now - connection.openedAt >= Self.handshakeMilliseconds {
            engine.counters.handshakeTimeouts += 1
            connection.send(.goodbye(.handshakeTimeout))
            close(token, loop: loop, why: "no complete handshake within \(Self.handshakeMilliseconds) ms", warn: true)
        }
    }

    private func dropSilent(loop: EventLoop, now: MonotonicTime) {
        for (token, connection) in connections where connection.liveness.isDead(now: now) {
            engine.counters.connectionsTimedOut += 1
            close(
                token, loop: loop, why: "silent for \(connection.liveness.silence(now: now)) ms (--heartbeat-timeout)",
                warn: true)
        }
    }

    private func close(_ token: UInt64, loop: EventLoop, why: String, warn: Bool = false) {
        guard let connection = connections.removeValue(forKey: token) else { return }
        try? connection.flush()  // a goodbye, if one is queued
        closedControlBytes.received += connection.bytesReceived
        closedControlBytes.sent += connection.bytesSent
        loop.remove(connection.descriptor.rawValue)
        engine.closed(token)
        let metadata: Logger.Metadata = ["peer": "\(connection.peer)", "reason": "\(why)"]
        if warn {
            logger.warning("tcpcopy disconnected", metadata: metadata)
        } else {
            logger.info("tcpcopy disconnected", metadata: metadata)
        }
    }

    /// Control traffic of connections already closed, so that totals survive reconnections.
    private var closedControlBytes = (received: 0, sent: 0)

    /// One line per open tcpcopy connection: where each one's responses went.
    private func connectionLines() -> [String] {
        connections.values.map { connection in
            "intercept connection \(connection.peer): messages_out=\(connection.messagesQueued) "
                + "messages_refused=\(connection.messagesRefused) bytes_out=\(connection.bytesSent) "
                + "bytes_in=\(connection.bytesReceived)"
        }.sorted()
    }

    private func logStats() {
        logger.info("intercept stats: \(statsLine())")
        for text in connectionLines() { logger.info("\(text)") }
    }

    /// Every counter and level now: the stats line, and what the metrics endpoint serves.
    private func metricValues() -> [MetricValue] {
        var counters = InterceptDaemonCounters()
        counters.engine = engine.counters
        counters.controlBytesIn =
            closedControlBytes.received + connections.values.reduce(0) { $0 + $1.bytesReceived }
        counters.controlBytesOut = closedControlBytes.sent + connections.values.reduce(0) { $0 + $1.bytesSent }
        counters.routes = engine.routeCount
        counters.connectionsOpen = connections.count
        counters.queueOverruns = queue?.overruns ?? 0
        counters.netlinkErrors = queue?.netlinkErrors ?? 0
        counters.netlinkMalformed = queue?.malformedMessages ?? 0
        counters.ruleMissing = ruleWatch?.isPresent == false ? 1 : 0
        counters.rulePresent = ruleWatch?.isPresent == false ? 0 : 1
        counters.ruleMissingChecks = ruleWatch?.missingChecks ?? 0
        counters.ruleReinstalled = ruleWatch?.reinstalls ?? 0
        counters.ipv6Rule = ipv6RuleWatch?.counters
        counters.acceptErrors = acceptErrors
        counters.verdictWriteErrors = queue?.verdictWriteErrors.values.reduce(0, +) ?? 0
        if configuration.reportsAnswers { counters.answers = Self.compareCounters(engine.answers) }
        KernelQueueStatistics.add(queue: configuration.queue, to: &counters)
        return counters.metricValues
    }

    private func statsLine() -> String { CounterLine(metricValues()).text }
}

/// Forwarding for one event: the connection responses went to last (consecutive responses mostly
/// go to the same tcpcopy, often the only one), and what happened to them, added to the daemon's
/// counters once at the end.
struct ForwardingRun {
    var token: UInt64?
    var connection: ControlConnection?
    var forwarded = 0
    /// No such connection any more, or its output buffer was full.
    var refused = 0
    /// Connections whose output buffer was full: their peer is not reading.
    var overflowed: [UInt64] = []

    /// `sent`: whether the connection queued the headers; nil when there was no connection.
    mutating func count(_ sent: Bool?, to token: UInt64) {
        switch sent {
        case true?: forwarded += 1
        case false?:
            refused += 1
            if overflowed.last != token { overflowed.append(token) }
        case nil: refused += 1
        }
    }
}
