import Logging
import TCPCopyCore

/// tcpcopy's control links, one per target's intercept, each established, being set up again
/// (`InterceptLink`), or down and waiting for its next attempt (`ReconnectBackoff`). Heartbeats,
/// silence, goodbyes, refused registrations and reconnection are handled here; what the engine
/// must learn (a link went down, or came back) is returned as a `Change` for the daemon to apply.
/// Generic over the target's key, so that another address family is a new key, not an edit.
final class InterceptLinks<Target: Hashable & CustomStringConvertible> {
    /// Reconnection timing: attempts from 0.5 s apart doubling to 30 s, each allowed 3 s to
    /// connect and be welcomed. (Heartbeats and the dead time are `ControlConnection`'s: a
    /// heartbeat every 2 s, which intercept answers, and the link dead after 6 s of silence.)
    struct Timing {
        var firstRetryMilliseconds: Int64 = 500
        var maximumRetryMilliseconds: Int64 = 30_000
        var setUpMilliseconds: Int64 = 3000
    }

    /// What the engine must be told.
    enum Change: Equatable {
        /// Nothing more goes to the target until its link is up again.
        case down(Target)
        /// The link is back after `attempts` attempts: the daemon tells the engine and replays
        /// the target's registrations (`replay`).
        case up(Target, attempts: Int)
    }

    /// Starts a new connection to a target's intercept (the set-up goes on in `InterceptLink`).
    typealias Connector = (Target, MonotonicTime) throws(InterceptHandshakeError) -> InterceptLink

    let targets: [Target]
    private let loop: EventLoop
    private let firstToken: UInt64
    private let port: UInt16
    private let timing: Timing
    private let connect: Connector
    private let logger: Logger
    /// Metadata for the log line of a lost link (the daemon adds its live sessions).
    var lossMetadata: () -> Logger.Metadata = { [:] }

    /// Established control connections, by target.
    private(set) var established: [Target: ControlConnection] = [:]
    /// Connections being set up again after a loss.
    private var pending: [Target: InterceptLink] = [:]
    /// Targets whose link is down, with when to try again.
    private(set) var backoffs: [Target: ReconnectBackoff] = [:]

    /// Links lost (silence, goodbye, a closed or corrupt stream, a failed write).
    private(set) var failures = 0
    /// Of them, links whose stream from intercept could not be decoded.
    private(set) var corruptStreams = 0
    /// Registrations sent again when a link was re-established, so that sessions started during
    /// an outage get their responses once intercept is back.
    private(set) var registrationsReplayed = 0
    /// Registrations intercept refused, by reason: their sessions get no responses (another
    /// tcpcopy, or a squatter, owns the key; or intercept's route cap).
    private(set) var registrationsRefused: [RegistrationRefusal: Int] = [:]
    private var lastRefusalNotice: MonotonicTime?
    /// Control traffic of links already lost, so that totals survive reconnections.
    private(set) var closedBytes = (received: 0, sent: 0)

    /// `targets[i]`'s descriptor is registered in `loop` with the token `firstToken + i`.
    init(
        targets: [Target], loop: EventLoop, firstToken: UInt64, port: UInt16, timing: Timing = Timing(),
        logger: Logger, connect: @escaping Connector
    ) {
        self.targets = targets
        self.loop = loop
        self.firstToken = firstToken
        self.port = port
        self.timing = timing
        self.logger = logger
        self.connect = connect
    }

    /// Whether a link is being set up (the loop then wakes often to advance it).
    var settingUp: Bool { !pending.isEmpty }
    var bytesSent: Int { closedBytes.sent + established.values.reduce(0) { $0 + $1.bytesSent } }
    var bytesReceived: Int { closedBytes.received + established.values.reduce(0) { $0 + $1.bytesReceived } }

    func owns(token: UInt64) -> Bool { token >= firstToken && token - firstToken < UInt64(targets.count) }

    /// The target whose link `token` names (a token this owns).
    func target(of token: UInt64) -> Target { targets[Int(token - firstToken)] }

    private func token(of target: Target) -> UInt64 {
        firstToken + UInt64(targets.firstIndex(of: target) ?? 0)
    }

    /// A connection made at start-up becomes the target's link.
    func adopt(_ connection: ControlConnection, for target: Target) throws(SystemCallError) {
        established[target] = connection
        try loop.add(connection.descriptor.rawValue, token: token(of: target))
    }

    /// intercept had no free slot at start-up: the target starts with its link down, and
    /// attempts follow with backoff.
    func startWithoutSlot(_ target: Target, now: MonotonicTime, changes: inout [Change]) {
        logger.error(
            "intercept at \(endpoint(target)) has too many control connections; nothing is copied to it until a slot frees (retrying with backoff)"
        )
        changes.append(.down(target))
        backoffs[target] = newBackoff(now: now)
    }

    /// Queues `message` on the target's link: nil without a link, false when its output
    /// buffer is full.
    func send(_ message: ControlMessage, to target: Target) -> Bool? {
        established[target]?.send(message)
    }

    /// Handles an event of the descriptor `event.token` names: the next step of a link being
    /// set up, or the output and input of an established one. Each control event read is
    /// handed to `handle` (responses included); goodbyes and refusals are dealt with here.
    func handle(
        _ event: EventLoop.Event, now: MonotonicTime, changes: inout [Change], handling handle: (ControlEvent) -> Void
    ) {
        let target = targets[Int(event.token - firstToken)]
        if pending[target] != nil {
            advancePending(target, now: now, changes: &changes)
            return
        }
        guard let link = established[target] else { return }
        if event.writable { flush(link, of: target, now: now, changes: &changes) }
        guard event.readable || event.failed else { return }
        var saidGoodbye: GoodbyeReason?
        let outcome = link.read(now: now) { event in
            handle(event)
            switch event {
            case .message(.goodbye(let reason)):
                logger.warning("intercept at \(target) says goodbye: \(reason)")
                saidGoodbye = reason
            case .message(.refused(let key, let reason)):
                noteRefusedRegistration(key, reason: reason, now: now)
            default:
                break
            }
        }
        switch outcome {
        case .open:
            // Its intercept is going away: stop sending now, not when the socket closes.
            if let saidGoodbye {
                lost(target, why: "intercept said goodbye (\(saidGoodbye))", now: now, changes: &changes)
            }
        case .closed(let why):
            lost(target, why: why, now: now, changes: &changes)
        case .corrupt(let error):
            corruptStreams += 1
            lost(target, why: "corrupt control stream: \(error)", now: now, changes: &changes)
        }
    }

    /// Heartbeats and silence on the established links; set-up steps and reconnection attempts
    /// on the others.
    func maintain(now: MonotonicTime, changes: inout [Change]) {
        for target in targets {
            if let link = established[target] {
                if link.liveness.isDead(now: now) {
                    lost(
                        target, why: "intercept silent for \(link.liveness.silence(now: now)) ms (no heartbeat answer)",
                        now: now, changes: &changes)
                } else if link.liveness.heartbeatDue(now: now) {
                    link.send(.heartbeat)
                    link.liveness.sent(now: now)
                }
                continue
            }
            if pending[target] != nil {
                advancePending(target, now: now, changes: &changes)
                continue
            }
            guard let backoff = backoffs[target], backoff.isDue(now: now) else { continue }
            do throws(InterceptHandshakeError) {
                let link = try connect(target, now)
                do {
                    try loop.add(link.descriptor, token: token(of: target), writable: true)
                } catch {
                    throw .connection(error)
                }
                pending[target] = link
            } catch {
                retryLater(target, after: error, now: now)
            }
        }
    }

    /// Writes what every established link holds, and watches for room to write while some is
    /// left; a link whose write fails is lost.
    func flushAll(now: MonotonicTime, changes: inout [Change]) {
        for target in targets {
            if let link = established[target] { flush(link, of: target, now: now, changes: &changes) }
        }
    }

    /// Writes what the links hold, before packets leave: a registration must reach intercept
    /// before the SYN it announces. A failed write is dealt with by the next `flushAll`.
    func flushQuietly() {
        for link in established.values { try? link.flush() }
    }

    /// Sends the target's registrations again on its link, just re-established (`Change.up`).
    func replay(_ keys: [RouteKey], to target: Target, attempts: Int) {
        for key in keys { established[target]?.send(.register(key)) }
        registrationsReplayed += keys.count
        logger.warning(
            "reconnected to intercept at \(endpoint(target)) after \(attempts) attempt(s); copying resumes (\(keys.count) sessions started meanwhile registered again)"
        )
    }

    /// Says goodbye on every link (tcpcopy is stopping).
    func sayGoodbye() {
        for link in established.values {
            link.send(.goodbye(.shuttingDown))
            try? link.flush()
        }
    }

    private func flush(_ link: ControlConnection, of target: Target, now: MonotonicTime, changes: inout [Change]) {
        do {
            try link.flush()
            try loop.modify(link.descriptor.rawValue, token: token(of: target), writable: link.hasPendingOutput)
        } catch {
            lost(target, why: "\(error)", now: now, changes: &changes)
        }
    }

    private func lost(_ target: Target, why: String, now: MonotonicTime, changes: inout [Change]) {
        guard let link = established.removeValue(forKey: target) else { return }
        loop.remove(link.descriptor.rawValue)
        closedBytes.received += link.bytesReceived
        closedBytes.sent += link.bytesSent
        failures += 1
        logger.error(
            "lost the control connection to intercept at \(target): \(why); its sessions are dropped (counted as aborted), reconnecting",
            metadata: lossMetadata())
        changes.append(.down(target))
        backoffs[target] = newBackoff(now: now)
    }

    private func newBackoff(now: MonotonicTime) -> ReconnectBackoff {
        ReconnectBackoff(
            lostAt: now, initialMilliseconds: timing.firstRetryMilliseconds,
            maximumMilliseconds: timing.maximumRetryMilliseconds)
    }

    private func advancePending(_ target: Target, now: MonotonicTime, changes: inout [Change]) {
        guard let link = pending[target] else { return }
        switch link.advance(now: now) {
        case .waiting:
            try? loop.modify(link.descriptor, token: token(of: target), writable: link.stage == .connecting)
        case .failed(let error):
            loop.remove(link.descriptor)
            pending[target] = nil
            retryLater(target, after: error, now: now)
        case .established:
            pending[target] = nil
            try? loop.modify(link.descriptor, token: token(of: target), writable: false)
            established[target] = link.connection
            let attempts = (backoffs.removeValue(forKey: target)?.failures ?? 0) + 1
            changes.append(.up(target, attempts: attempts))
        }
    }

    private func retryLater(_ target: Target, after error: InterceptHandshakeError, now: MonotonicTime) {
        guard var backoff = backoffs[target] else { return }
        let delay = backoff.failed(now: now)
        backoffs[target] = backoff
        logger.warning(
            "intercept at \(endpoint(target)) still unreachable (attempt \(backoff.failures): \(error)); next attempt in \(delay) ms"
        )
    }

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
}

extension InterceptLinks {
    /// `10.0.0.2:36524` or `[fd00::2]:36524` for the logs.
    func endpoint(_ target: Target) -> String {
        if let address = target as? IPAddress { return address.endpointDescription(port: port) }
        return "\(target):\(port)"
    }
}
