/// What the engine asks the I/O layer to do.
public enum EngineAction: Hashable, Sendable {
    /// Send a register or unregister message to the intercept on `key.targetAddress`.
    case control(ControlMessage, target: IPv4Address)
    /// Send this segment to the target with the raw socket.
    case send(OutgoingSegment)
}

/// tcpcopy's logic: which captured packets to copy, the live sessions (one per target and
/// copy for each captured connection), and their counters. Pure: the daemon feeds it packets,
/// response headers and clock ticks, and performs the actions it returns.
public struct TCPCopyEngine: Sendable {
    /// A connection as the online server sees it.
    struct CaptureKey: Hashable, Sendable {
        var clientAddress: IPv4Address
        var clientPort: UInt16
        var onlineAddress: IPv4Address
        var onlinePort: UInt16
    }

    public let configuration: TCPCopyConfiguration
    public let tuning: SessionTuning
    public private(set) var counters = TCPCopyCounters()
    private var sessions: [RouteKey: EmulatedSession] = [:]
    /// The sessions each captured connection fans out to.
    private var fanOut: [CaptureKey: [RouteKey]] = [:]
    private var captureOf: [RouteKey: CaptureKey] = [:]
    private var sessionActions: [SessionAction] = []
    private var ports = CopyPortAllocator()
    private let sampler: SessionSampler

    public init(configuration: TCPCopyConfiguration, tuning: SessionTuning) {
        self.configuration = configuration
        self.tuning = tuning
        sampler = SessionSampler(
            ratePercent: configuration.sessionRate, clientAddresses: configuration.clientAddresses)
        sessionActions.reserveCapacity(16)
    }

    public var sessionCount: Int { sessions.count }

    /// The online ports we copy, for the capture filter.
    public var onlinePorts: Set<UInt16> { Set(configuration.routes.map(\.onlinePort)) }

    /// The distinct targets, each with its intercept.
    public var targets: [IPv4Address] {
        var seen: Set<IPv4Address> = []
        return configuration.routes.map(\.targetAddress).filter { seen.insert($0).inserted }
    }

    // MARK: - Events

    /// A packet from the raw socket (IP header first).
    public mutating func captured<C: Collection>(
        _ bytes: C, now: MonotonicTime, actions: inout [EngineAction]
    ) where C.Element == UInt8, C.Index == Int {
        counters.captured += 1
        let packet: TCPPacket
        switch TCPPacket.parse(bytes, requirePayload: true) {
        case .success(let parsed): packet = parsed
        case .failure(let reason):
            counters.malformed[reason, default: 0] += 1
            return
        }
        let routes = configuration.routes.filter {
            $0.onlinePort == packet.destinationPort
                && ($0.onlineAddress == nil || $0.onlineAddress == packet.destination)
        }
        guard !routes.isEmpty else {
            counters.otherPort += 1
            return
        }
        guard sampler.isCopied(address: packet.source, port: packet.sourcePort) else {
            if packet.flags.contains(.syn) && !packet.flags.contains(.ack) {
                counters.sessionsSkippedByRate += 1
            }
            return
        }
        let capture = CaptureKey(
            clientAddress: packet.source, clientPort: packet.sourcePort,
            onlineAddress: packet.destination, onlinePort: packet.destinationPort)
        let payloadStart = bytes.startIndex + packet.headerLength
        let payload = Array(bytes[payloadStart..<(payloadStart + packet.payloadLength)])[...]

        if packet.flags.contains(.syn) && !packet.flags.contains(.ack) {
            if let existing = fanOut[capture] {
                if existing.allSatisfy({ sessions[$0]?.isStartedBy(packet) ?? true }) {
                    return  // the client retransmitted its SYN; our sessions time their own
                }
                // The client reused the port for a new connection: the old copies are over.
                for key in existing { abort(key, .aborted, now: now, actions: &actions) }
            }
            start(capture, syn: packet, routes: routes, now: now, actions: &actions)
            return
        }
        guard let keys = fanOut[capture] else {
            if packet.payloadLength > 0 { counters.noSession += 1 } else { counters.strayControl += 1 }
            return
        }
        for key in keys {
            sessionActions.removeAll(keepingCapacity: true)
            sessions[key]?.clientSent(packet, payload: payload, now: now, actions: &sessionActions)
            perform(&actions, now: now)
        }
    }

    /// A response header relayed by intercept.
    public mutating func response(
        _ header: ResponseHeader, now: MonotonicTime, actions: inout [EngineAction]
    ) {
        counters.responses += 1
        let key = RouteKey(response: header.packet)
        guard sessions[key] != nil else {
            counters.responsesUnmatched += 1
            return
        }
        sessionActions.removeAll(keepingCapacity: true)
        sessions[key]!.targetSent(header.packet, now: now, actions: &sessionActions)
        perform(&actions, now: now)
    }

    /// Timers of every session.
    public mutating func tick(now: MonotonicTime, actions: inout [EngineAction]) {
        ports.purge(now: now)
        for key in Array(sessions.keys) {
            sessionActions.removeAll(keepingCapacity: true)
            sessions[key]?.tick(now: now, actions: &sessionActions)
            perform(&actions, now: now)
        }
    }

    /// Ends every session, releasing the target's sockets (tcpcopy is stopping).
    public mutating func shutdown(now: MonotonicTime, actions: inout [EngineAction]) {
        for key in Array(sessions.keys) { abort(key, .aborted, now: now, actions: &actions) }
    }

    /// Ends every session of `target` without sending anything (its intercept went away, so
    /// responses can no longer reach us).
    public mutating func dropSessions(of target: IPv4Address, now: MonotonicTime, actions: inout [EngineAction]) {
        for key in Array(sessions.keys) where key.targetAddress == target {
            abort(key, .aborted, now: now, actions: &actions)
        }
    }

    // MARK: - Session lifecycle

    private mutating func start(
        _ capture: CaptureKey, syn: TCPPacket, routes: [CopyRoute], now: MonotonicTime,
        actions: inout [EngineAction]
    ) {
        let wanted = routes.count * configuration.copies
        guard sessions.count + wanted <= configuration.maxSessions else {
            counters.tableFull += 1
            return
        }
        var keys: [RouteKey] = []
        let clientAddress = sampler.targetSideAddress(for: capture.clientAddress)
        for route in routes {
            for copy in 0..<configuration.copies {
                var key = RouteKey(
                    clientAddress: clientAddress, clientPort: capture.clientPort,
                    targetAddress: route.targetAddress, targetPort: route.targetPort)
                switch ports.choose(
                    for: key, clientPort: capture.clientPort,
                    copyNumber: configuration.portShift * 1000 + copy, now: now,
                    isLive: { sessions[$0] != nil })
                {
                case .preferred(let port):
                    key.clientPort = port
                case .relocated(let port):
                    key.clientPort = port
                    counters.portsRelocated += 1
                case .exhausted:
                    counters.portCollisions += 1
                    continue
                }
                sessionActions.removeAll(keepingCapacity: true)
                sessions[key] = EmulatedSession(
                    key: key, syn: syn, tuning: tuning, now: now, actions: &sessionActions)
                captureOf[key] = capture
                keys.append(key)
                counters.sessionsStarted += 1
                perform(&actions, now: now)
            }
        }
        if !keys.isEmpty { fanOut[capture] = keys }
    }

    private mutating func abort(
        _ key: RouteKey, _ outcome: SessionOutcome, now: MonotonicTime,
        actions: inout [EngineAction]
    ) {
        sessionActions.removeAll(keepingCapacity: true)
        sessions[key]?.abort(outcome, now: now, actions: &sessionActions)
        perform(&actions, now: now)
    }

    /// Turns the session's actions into engine actions, and forgets finished sessions.
    private mutating func perform(_ actions: inout [EngineAction], now: MonotonicTime) {
        for action in sessionActions {
            switch action {
            case .register(let key):
                actions.append(.control(.register(key), target: key.targetAddress))
            case .send(let segment):
                actions.append(.send(segment))
            case .finished(let key, let outcome):
                counters.sessionsEnded[outcome, default: 0] += 1
                counters.retransmissions += sessions[key]?.retransmissions ?? 0
                if outcome == .completed && sessions[key]?.targetClosedFirst == true {
                    ports.cool(key, now: now)
                }
                sessions[key] = nil
                if let capture = captureOf.removeValue(forKey: key) {
                    fanOut[capture]?.removeAll { $0 == key }
                    if fanOut[capture]?.isEmpty == true { fanOut[capture] = nil }
                }
                actions.append(.control(.unregister(key), target: key.targetAddress))
            }
        }
        sessionActions.removeAll(keepingCapacity: true)
    }
}
