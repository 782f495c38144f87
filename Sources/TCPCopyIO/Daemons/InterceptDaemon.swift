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
        static let firstConnection: UInt64 = 16
    }

    public let configuration: InterceptConfiguration
    private let logger: Logger
    private var engine: InterceptEngine<UInt64>
    private var connections: [UInt64: ControlConnection] = [:]
    private var nextToken = Token.firstConnection
    private var deliveries: [InterceptEngine<UInt64>.Delivery] = []
    private var touched: Set<UInt64> = []
    private var queue: NetfilterQueue?

    public init(configuration: InterceptConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        engine = InterceptEngine(
            allowList: configuration.allowList,
            limits: .init(routeIdleMilliseconds: Int64(configuration.routeTimeout) * 1000))
    }

    public func run() throws {
        let loop = try EventLoop()
        let signals = try SignalSource()
        try loop.add(signals.descriptor.rawValue, token: Token.signals)
        let queue: NetfilterQueue
        do {
            queue = try NetfilterQueue(
                queue: configuration.queue, maximumLength: configuration.queueMaxLength,
                receiveBufferBytes: 8 << 20)
        } catch {
            logger.critical(
                "cannot open NFQUEUE queue \(configuration.queue): \(error). intercept needs root (CAP_NET_ADMIN) and the nfnetlink_queue module."
            )
            throw error
        }
        self.queue = queue
        try loop.add(queue.fileDescriptor, token: Token.queue)
        let listener: ControlListener
        do {
            listener = try ControlListener(bindAddress: configuration.bindAddress, port: configuration.listenPort)
        } catch {
            logger.critical("cannot listen for tcpcopy on port \(configuration.listenPort): \(error)")
            throw error
        }
        try loop.add(listener.descriptor.rawValue, token: Token.listener)
        checkRule()
        logger.info(
            "intercepting",
            metadata: [
                "queue": "\(configuration.queue)", "port": "\(configuration.listenPort)",
                "allow": "\(configuration.allowList.map(\.description).joined(separator: ","))",
            ])

        var lastTick = monotonicNow()
        var counterSchedule = CounterSchedule(intervalSeconds: configuration.statsInterval, now: lastTick)
        var running = true
        var messages: [ControlMessage] = []
        while running {
            for event in try loop.wait(timeoutMilliseconds: 1000) {
                let now = monotonicNow()
                switch event.token {
                case Token.signals:
                    running = signals.handlePending { logger.info("intercept stats: \(statsLine())") } && running
                case Token.queue:
                    try queue.process(limit: 64) { bytes in
                        let (verdict, delivery) = engine.queued(bytes.bindMemory(to: UInt8.self), now: now)
                        if let delivery { deliver(delivery) }
                        return verdict == .accept
                    }
                case Token.listener:
                    while let (fd, address, port) = try listener.accept() {
                        let token = nextToken
                        nextToken += 1
                        let connection = ControlConnection(
                            descriptor: fd, peer: "\(address):\(port)", outputCapacity: 8 << 20)
                        connections[token] = connection
                        try loop.add(fd.rawValue, token: token)
                        logger.info("tcpcopy connected", metadata: ["peer": "\(connection.peer)"])
                    }
                default:
                    guard let connection = connections[event.token] else { continue }
                    if event.writable { touched.insert(event.token) }
                    guard event.readable || event.failed else { continue }
                    messages.removeAll(keepingCapacity: true)
                    let outcome = connection.read(into: &messages)
                    var closeAfterReply = false
                    for message in messages where !closeAfterReply {
                        switch engine.received(message, from: event.token, now: now, deliveries: &deliveries) {
                        case .none: break
                        case .send(let reply): connection.send(reply)
                        case .sendAndClose(let reply):
                            connection.send(reply)
                            closeAfterReply = true
                            logger.warning(
                                "closing control connection: protocol misuse",
                                metadata: ["peer": "\(connection.peer)", "message": "\(message)"])
                        }
                    }
                    for delivery in deliveries { deliver(delivery) }
                    deliveries.removeAll(keepingCapacity: true)
                    touched.insert(event.token)
                    switch outcome {
                    case .open where !closeAfterReply: break
                    case .open: close(event.token, loop: loop, why: "protocol misuse")
                    case .closed(let why): close(event.token, loop: loop, why: why)
                    case .corrupt(let error):
                        engine.counters.connectionsRejected += 1
                        connection.send(.goodbye(.protocolError))
                        close(event.token, loop: loop, why: "corrupt control stream: \(error)")
                    }
                }
            }
            for token in touched {
                guard let connection = connections[token] else { continue }
                do {
                    try connection.flush()
                    try loop.modify(connection.descriptor.rawValue, token: token, writable: connection.hasPendingOutput)
                } catch {
                    close(token, loop: loop, why: "\(error)")
                }
            }
            touched.removeAll(keepingCapacity: true)
            let now = monotonicNow()
            if now - lastTick >= 1000 {
                lastTick = now
                engine.tick(now: now)
            }
            if counterSchedule.isDue(now: now) {
                logger.info("intercept stats: \(statsLine())")
            }
        }
        for (token, connection) in connections {
            connection.send(.goodbye(.shuttingDown))
            try? connection.flush()
            close(token, loop: loop, why: "shutting down")
        }
        logger.info("intercept stats: \(statsLine())")
    }

    private func deliver(_ delivery: InterceptEngine<UInt64>.Delivery) {
        guard let connection = connections[delivery.connection], connection.send(.response(delivery.header)) else {
            engine.counters.backlogDropped += 1
            return
        }
        engine.counters.forwarded += 1
        touched.insert(delivery.connection)
    }

    private func close(_ token: UInt64, loop: EventLoop, why: String) {
        guard let connection = connections.removeValue(forKey: token) else { return }
        try? connection.flush()  // a goodbye, if one is queued
        loop.remove(connection.descriptor.rawValue)
        engine.closed(token)
        logger.info("tcpcopy disconnected", metadata: ["peer": "\(connection.peer)", "reason": "\(why)"])
    }

    /// Warns when no NFQUEUE rule is visible: without one, responses go straight to the real
    /// clients and intercept sees nothing.
    private func checkRule() {
        switch IptablesRules.nfqueueRulesInOutput() {
        case .success(let count) where count > 0:
            logger.info("found \(count) NFQUEUE rule(s) in the legacy filter OUTPUT chain")
        case .success:
            logger.warning(
                "no NFQUEUE rule in the legacy iptables OUTPUT chain. Unless you added one with iptables-nft, responses are not queued to intercept and reach the real clients. Add: iptables -I OUTPUT -p tcp --sport PORT -j NFQUEUE --queue-num \(configuration.queue)"
            )
        case .failure(let error):
            logger.debug("could not read legacy iptables rules: \(error)")
        }
    }

    private func statsLine() -> String {
        var line = engine.counters.line
        line.add("routes", engine.routeCount)
        line.add("connections_open", connections.count)
        line.add("queue_overruns", queue?.overruns ?? 0)
        line.add("netlink_errors", queue?.netlinkErrors ?? 0)
        return line.text
    }
}
