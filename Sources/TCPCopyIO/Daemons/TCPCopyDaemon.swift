import Glibc
import Logging
import TCPCopyCore

/// tcpcopy: captures the online port's inbound packets, replays each session against every
/// target through `TCPCopyEngine`, and talks to the targets' intercepts. One thread, one epoll.
public final class TCPCopyDaemon {
    private enum Token {
        static let signals: UInt64 = 1
        static let capture: UInt64 = 2
        static let firstTarget: UInt64 = 16
    }

    public let configuration: TCPCopyConfiguration
    private let logger: Logger
    private var engine: TCPCopyEngine
    private var actions: [EngineAction] = []
    private var packetBuffer: [UInt8] = []
    private var links: [IPv4Address: ControlConnection] = [:]
    private var sendErrors: [String: Int] = [:]
    private var packetsSent = 0
    private var controlBacklogDropped = 0
    private var linkFailures = 0

    public init(configuration: TCPCopyConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        var tuning = SessionTuning()
        tuning.idleTimeoutMilliseconds = Int64(configuration.sessionTimeout) * 1000
        tuning.mtu = configuration.mtu
        engine = TCPCopyEngine(configuration: configuration, tuning: tuning)
        actions.reserveCapacity(64)
        packetBuffer.reserveCapacity(65536)
    }

    public func run() throws {
        let loop = try EventLoop()
        let signals = try SignalSource()
        try loop.add(signals.descriptor.rawValue, token: Token.signals)
        let targets = engine.targets
        for (index, target) in targets.enumerated() {
            let link: ControlConnection
            do {
                link = try InterceptLink.connect(
                    to: target, port: configuration.interceptPort, attempts: 10, intervalMilliseconds: 500,
                    outputCapacity: 4 << 20, logger: logger)
            } catch {
                logger.critical(
                    "cannot reach intercept at \(target):\(configuration.interceptPort): \(error). Start intercept on the target first, and check that this host may connect to it."
                )
                throw error
            }
            links[target] = link
            try loop.add(link.descriptor.rawValue, token: Token.firstTarget + UInt64(index))
            logger.info("connected to intercept", metadata: ["target": "\(target):\(configuration.interceptPort)"])
        }
        let capture = try RawCaptureSocket(receiveBufferBytes: 16 << 20)
        let sender = try RawSendSocket(sendBufferBytes: 4 << 20)
        try loop.add(capture.descriptor.rawValue, token: Token.capture)
        logger.info(
            "copying",
            metadata: [
                "routes": "\(configuration.routes.map(\.description).joined(separator: ","))",
                "copies": "\(configuration.copies)",
            ])

        var lastTick = monotonicNow()
        var counterSchedule = CounterSchedule(intervalSeconds: configuration.statsInterval, now: lastTick)
        var running = true
        var messages: [ControlMessage] = []
        while running {
            let timeout: Int32 = engine.sessionCount > 0 ? 10 : 500
            for event in try loop.wait(timeoutMilliseconds: timeout) {
                let now = monotonicNow()
                switch event.token {
                case Token.signals:
                    running = signals.handlePending { logger.info("tcpcopy stats: \(statsLine())") } && running
                case Token.capture:
                    try capture.receive(limit: 256) { bytes in
                        engine.captured(bytes, now: now, actions: &actions)
                    }
                    perform(sender: sender)
                default:
                    let target = targets[Int(event.token - Token.firstTarget)]
                    guard let link = links[target] else { continue }
                    if event.writable { flush(link, target: target, loop: loop, token: event.token) }
                    guard event.readable || event.failed else { continue }
                    messages.removeAll(keepingCapacity: true)
                    let outcome = link.read(into: &messages)
                    for message in messages {
                        if case .response(let header) = message {
                            engine.response(header, now: now, actions: &actions)
                        }
                    }
                    perform(sender: sender)
                    switch outcome {
                    case .open: break
                    case .closed(let why):
                        linkLost(target, why: why, loop: loop, sender: sender)
                    case .corrupt(let error):
                        linkLost(target, why: "corrupt control stream: \(error)", loop: loop, sender: sender)
                    }
                }
            }
            let now = monotonicNow()
            if now - lastTick >= 10 {
                lastTick = now
                engine.tick(now: now, actions: &actions)
                perform(sender: sender)
                reconnectLostLinks(targets: targets, loop: loop, now: now)
            }
            if counterSchedule.isDue(now: now) {
                logger.info("tcpcopy stats: \(statsLine())")
            }
            for (index, target) in targets.enumerated() {
                if let link = links[target] {
                    flush(link, target: target, loop: loop, token: Token.firstTarget + UInt64(index))
                }
            }
        }
        // Release every target socket we hold, then say goodbye.
        engine.shutdown(now: monotonicNow(), actions: &actions)
        perform(sender: sender)
        for link in links.values {
            link.send(.goodbye(.shuttingDown))
            try? link.flush()
        }
        logger.info("tcpcopy stats: \(statsLine())")
    }

    /// Carries out the engine's actions in order: a registration is queued (and written at
    /// once) before the SYN that follows it is sent.
    private func perform(sender: RawSendSocket) {
        for action in actions {
            switch action {
            case .control(let message, let target):
                guard let link = links[target] else { continue }
                if !link.send(message) { controlBacklogDropped += 1 }
                if case .register = message { try? link.flush() }
            case .send(let segment):
                packetBuffer.removeAll(keepingCapacity: true)
                segment.encode(into: &packetBuffer)
                if let error = sender.send(packetBuffer, to: segment.destination) {
                    sendErrors[error.errnoName, default: 0] += 1
                    if sendErrors[error.errnoName] == 1 {
                        logger.warning("raw send failed (counted; copying goes on): \(error)")
                    }
                } else {
                    packetsSent += 1
                }
            }
        }
        actions.removeAll(keepingCapacity: true)
    }

    private func flush(_ link: ControlConnection, target: IPv4Address, loop: EventLoop, token: UInt64) {
        do {
            try link.flush()
            try loop.modify(link.descriptor.rawValue, token: token, writable: link.hasPendingOutput)
        } catch {
            logger.error("control connection to \(target) failed: \(error)")
        }
    }

    private var lostLinks: [IPv4Address: MonotonicTime] = [:]

    private func linkLost(_ target: IPv4Address, why: String, loop: EventLoop, sender: RawSendSocket) {
        guard let link = links.removeValue(forKey: target) else { return }
        loop.remove(link.descriptor.rawValue)
        linkFailures += 1
        logger.error(
            "lost the control connection to intercept at \(target): \(why); its sessions are dropped, reconnecting")
        engine.dropSessions(of: target, now: monotonicNow(), actions: &actions)
        perform(sender: sender)
        lostLinks[target] = monotonicNow()
    }

    private func reconnectLostLinks(targets: [IPv4Address], loop: EventLoop, now: MonotonicTime) {
        for (target, since) in lostLinks where now - since >= 1000 {
            lostLinks[target] = now
            guard
                let link = try? InterceptLink.connect(
                    to: target, port: configuration.interceptPort, attempts: 1, intervalMilliseconds: 0,
                    outputCapacity: 4 << 20, logger: logger),
                let index = targets.firstIndex(of: target)
            else { continue }
            do {
                try loop.add(link.descriptor.rawValue, token: Token.firstTarget + UInt64(index))
            } catch { continue }
            links[target] = link
            lostLinks[target] = nil
            logger.info("reconnected to intercept", metadata: ["target": "\(target)"])
        }
    }

    private func statsLine() -> String {
        var line = engine.counters.line
        line.add("sessions_live", engine.sessionCount)
        line.add("packets_sent", packetsSent)
        line.add("send_errors", sendErrors.values.reduce(0, +))
        for (name, count) in sendErrors.sorted(by: { $0.key < $1.key }) { line.add("send_error_\(name)", count) }
        line.add("control_backlog_dropped", controlBacklogDropped)
        line.add("control_link_failures", linkFailures)
        return line.text
    }
}
