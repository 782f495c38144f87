/// What the engine asks the I/O layer to do.
public enum EngineAction: Hashable, Sendable {
    /// Send a register or unregister message to the intercept on `key.targetAddress`.
    case control(ControlMessage, target: IPAddress)
    /// Send this segment to the target with the raw socket.
    case send(OutgoingSegment)
    /// Something an operator should read in the log (already rate-limited).
    case notice(String)
}

/// tcpcopy's logic: which captured packets to copy, the live sessions (one per target and
/// copy for each captured connection), and their counters. Pure: the daemon feeds it packets,
/// response headers and clock ticks, and performs the actions it returns.
///
/// Per packet it hashes once: a captured packet finds its connection's session slots, a
/// response its session's slot; everything after works on slots in place (`SessionTable`).
public struct TCPCopyEngine: Sendable {
    public let configuration: TCPCopyConfiguration
    public var tuning: SessionTuning { sharedTuning.value }
    /// The one tuning every session refers to.
    private let sharedTuning: SessionTuning.Shared
    public private(set) var counters = TCPCopyCounters()
    private var sessions = SessionTable()
    /// The sessions each captured connection fans out to.
    private var fanOut = FlatTable<CaptureKey, SlotList>(placeholder: SlotList())
    private var sessionActions: [SessionAction] = []
    private var ports = CopyPortAllocator()
    private let sampler: SessionSampler
    /// Connections whose sessions all ended lately: their late packets (retransmissions, the
    /// last ACK) must not look like connections opened before tcpcopy started. 10 s outlasts a
    /// client's retransmissions (1 + 2 + 4 s of backoff) and keeps the table to 30,000 entries
    /// at 3,000 connections a second. Keyed by the capture key's hash word (`CaptureKey.word`),
    /// 8 bytes instead of 16: the table is the largest tcpcopy keeps, and a collision (two
    /// online addresses, crafted client addresses) would only count one packet as late.
    private var recentlyClosed = ExpiryQueue<UInt64>(lifetimeMilliseconds: 10_000)
    /// Connections none of whose copies could start (table full, memory full, no client port),
    /// or whose sessions gave up or were shed: their later packets are counted as lost, not
    /// retried (and counted again) packet after packet, nor started again from the next
    /// segment. Bounded (`refusedCapacity`): a flood of spoofed segments from random addresses
    /// must not grow it without limit; beyond it a refused connection is only asked again.
    private var refused = ExpiryQueue<UInt64>(lifetimeMilliseconds: 30_000)
    static let refusedCapacity = 1 << 16
    /// Whether a new session may start (`--max-sessions`, `-m`).
    public private(set) var admission: SessionAdmission
    /// The client bytes all sessions hold together, bounded by `-m` (`BufferBudget`).
    public private(set) var buffers: BufferBudget
    /// When each session next needs a tick: a tick touches only those that are due.
    private var timers = DeadlineQueue()
    /// Slots whose session holds request data until the target answers (`holdsRequestData`).
    private var holding = SlotFlags()
    /// The slots due in the current tick (kept for its capacity).
    private var dueSlots: [Int] = []
    /// The routes of each online port, sorted by port, so that a packet finds its routes by a
    /// binary search (a handful of ports: cheaper than hashing).
    private let routesByPort: [(port: UInt16, routes: [CopyRoute])]
    /// Finished sessions whose route stays registered for a while, so that a late packet of the
    /// target (a FIN retransmitted because our last ACK or RST was lost) is answered with a RST
    /// instead of leaving the target's socket waiting.
    private var lingering = ExpiryQueue<RouteKey>(lifetimeMilliseconds: lingerMilliseconds)
    static let lingerMilliseconds: Int64 = 3000
    /// Targets whose intercept link is not up and greeted (`linkDown(of:now:actions:)`): nothing
    /// but a RST goes to them, and no session starts towards them.
    public private(set) var targetsWithoutLink: Set<IPAddress> = []
    private var lastExhaustionNotice: MonotonicTime?
    private var exhaustedSinceNotice = 0

    public init(configuration: TCPCopyConfiguration, tuning: SessionTuning) {
        self.configuration = configuration
        sharedTuning = SessionTuning.Shared(tuning)
        routesByPort = Dictionary(grouping: configuration.routes, by: \.onlinePort)
            .map { (port: $0.key, routes: $0.value) }.sorted { $0.port < $1.port }
        sampler = SessionSampler(
            ratePercent: configuration.sessionRate, clientAddresses: configuration.clientAddresses)
        sessionActions.reserveCapacity(16)
        admission = SessionAdmission(
            maxSessions: configuration.maxSessions, memoryCapBytes: configuration.memoryLimitMB << 20)
        buffers = BufferBudget(memoryLimitMB: configuration.memoryLimitMB)
    }

    /// Whether the caller should read the resident size now and hand it to `memoryReading`
    /// (many sessions started since the last reading).
    public var wantsMemoryReading: Bool { admission.wantsMemoryReading }

    /// The daemon's reading of its resident size (the core reads no /proc): the memory cap's
    /// session limit follows it (`MemoryBudget`).
    public mutating func memoryReading(residentBytes: Int) -> MemoryBudget.Change {
        admission.read(resident: residentBytes, liveSessions: sessions.count)
    }

    public var sessionCount: Int { sessions.count }

    /// Connections remembered as refused (bounded by `refusedCapacity`).
    var refusedCount: Int { refused.count }

    /// Whether some session holds a request until the target's answer arrives: the caller
    /// should then handle the next events at once rather than let them gather (`WakeupWindow`).
    public var requestsAwaitAnswers: Bool { holding.count > 0 }

    /// How long the caller may sleep before the next `tick` is useful (at most `limit`).
    public func millisecondsUntilNextTick(now: MonotonicTime, limit: Int64) -> Int64 {
        guard let earliest = timers.earliest else { return limit }
        return max(0, min(limit, earliest - now))
    }

    /// The online ports we copy, for the capture filter.
    public var onlinePorts: Set<UInt16> { Set(configuration.routes.map(\.onlinePort)) }

    /// The routes registered with `target`'s intercept and not withdrawn since: every live
    /// session registered its route when it started, and a finished one's route stays
    /// registered while it lingers. A control link that comes back registers them again, so the
    /// daemon keeps no set of its own (which cost two hash insertions a session).
    public func registeredRoutes(of target: IPAddress) -> [RouteKey] {
        sessions.liveSlots.map { sessions.key(of: $0) }.filter { $0.targetAddress == target }
            + lingering.added.keys.filter { $0.targetAddress == target }
    }

    /// The client connection a live copy copies, as the online server sees it (`--compare`
    /// pairs the copy's answers with production's); nil for an unknown key.
    public func onlineConnection(of key: RouteKey) -> CompareConnection? {
        guard let slot = sessions.slot(of: key), let capture = sessions.capture(of: slot) else { return nil }
        return CompareConnection(
            clientAddress: capture.clientAddress, clientPort: capture.clientPort, servicePort: capture.onlinePort)
    }

    /// The distinct targets, each with its intercept.
    public var targets: [IPAddress] {
        var seen: Set<IPAddress> = []
        return configuration.routes.map(\.targetAddress).filter { seen.insert($0).inserted }
    }

    // MARK: - Events

    /// A packet from the raw socket (IP header first).
    public mutating func captured<C: Collection>(
        _ bytes: C, now: MonotonicTime, actions: inout [EngineAction]
    ) where C.Element == UInt8, C.Index == Int {
        sessions.reclaimFreedSlots()
        counters.captured += 1
        let packet: TCPPacket
        switch TCPPacket.parse(bytes, requirePayload: true) {
        case .success(let parsed): packet = parsed
        case .failure(let reason):
            counters.malformed[reason, default: 0] += 1
            return
        }
        let routes = routes(toPort: packet.destinationPort)
        guard routes.contains(where: { $0.accepts(packet.destination) }) else {
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

        if packet.flags.contains(.syn) && !packet.flags.contains(.ack) {
            if let index = fanOut.index(forKey: capture) {
                let existing = fanOut.value(at: index)
                if existing.allSatisfy({ !sessions.contains($0) || sessions.read($0, { $0.isStartedBy(packet) }) }) {
                    return  // the client retransmitted its SYN; our sessions time their own
                }
                // The client reused the port for a new connection while our copies of the old
                // one are still busy (a copy lags its original by a round trip at least): they
                // finish on their own, detached; the new copies take other ports.
                for slot in existing where sessions.contains(slot) { sessions.detach(slot) }
                fanOut.remove(at: index)
            }
            recentlyClosed.remove(capture.word)
            refused.remove(capture.word)
            start(
                capture, routes: routes, destination: packet.destination, fromClientSYN: true, now: now,
                actions: &actions
            ) {
                key, tuning, sessionActions in
                EmulatedSession(key: key, syn: packet, tuning: tuning, now: now, actions: &sessionActions)
            }
            return
        }
        var slots: SlotList
        if let known = fanOut[capture] {
            slots = known
        } else {
            guard packet.payloadLength > 0 else {
                counters.strayControl += 1
                return
            }
            if recentlyClosed.contains(capture.word) {
                counters.lateData += 1
                return
            }
            if refused.contains(capture.word) {
                counters.noSession += 1
                return
            }
            // A connection opened before we started (or before a restart): make up its handshake
            // and replay from here.
            let synMSS = configuration.synMSS
            start(
                capture, routes: routes, destination: packet.destination, fromClientSYN: false, now: now,
                actions: &actions
            ) {
                key, tuning, sessionActions in
                EmulatedSession(
                    key: key, synthesizingFrom: packet, synMSS: synMSS, tuning: tuning, now: now,
                    actions: &sessionActions)
            }
            guard let started = fanOut[capture] else {
                counters.noSession += 1
                return
            }
            counters.sessionsSynthesized += started.count
            slots = started
        }
        // The one copy of the payload: the capture buffer is reused for the next packet, and the
        // sessions keep their data until the target acknowledges it (all copies share it).
        let payloadStart = bytes.startIndex + packet.headerLength
        let payload: ArraySlice<UInt8> =
            packet.payloadLength == 0 ? [] : Array(bytes[payloadStart..<(payloadStart + packet.payloadLength)])[...]
        for slot in slots {
            // A slot whose session ended meanwhile holds nothing: slots are not reused within
            // an event.
            guard sessions.contains(slot) else { continue }
            clearSessionActions()
            sessions[slot].clientSent(packet, payload: payload, now: now, actions: &sessionActions)
            refreshTimer(of: slot, now: now)
            perform(&actions, slot: slot, now: now)
            // Only the client's data makes sessions hold more: the check lives here alone.
            if buffers.sheds(slot, liveSessions: sessions.count), sessions.contains(slot) {
                abort(slot, .overBudget, now: now, actions: &actions)
            }
        }
    }

    /// A response header relayed by intercept.
    public mutating func response(
        _ header: ResponseHeader, now: MonotonicTime, actions: inout [EngineAction]
    ) {
        response(header.packet, now: now, actions: &actions)
    }

    /// A response relayed by intercept: the packet its headers describe
    /// (`ControlDecoder.nextEvent`).
    public mutating func response(
        _ packet: TCPPacket, now: MonotonicTime, actions: inout [EngineAction]
    ) {
        sessions.reclaimFreedSlots()
        counters.responses += 1
        let key = RouteKey(response: packet)
        guard let slot = sessions.slot(of: key) else {
            if lingering.contains(key), !packet.flags.contains(.rst) {
                counters.lingerResets += 1
                actions.append(.send(Self.reset(answering: packet)))
            } else {
                counters.responsesUnmatched += 1
            }
            return
        }
        clearSessionActions()
        sessions[slot].targetSent(packet, now: now, actions: &sessionActions)
        refreshTimer(of: slot, now: now)
        perform(&actions, slot: slot, now: now)
    }

    /// Timers of every session.
    public mutating func tick(now: MonotonicTime, actions: inout [EngineAction]) {
        sessions.reclaimFreedSlots()
        ports.purge(now: now)
        recentlyClosed.popExpired(now: now) { _ in }
        refused.popExpired(now: now) { _ in }
        lingering.popExpired(now: now) { key in
            actions.append(.control(.unregister(key), target: key.targetAddress))
        }
        if buffers.totalBytes > buffers.capacityBytes { shedOverBudget(now: now, actions: &actions) }
        dueSlots.removeAll(keepingCapacity: true)
        timers.popDue(now: now, into: &dueSlots)
        for slot in dueSlots where sessions.contains(slot) {
            clearSessionActions()
            sessions[slot].tick(now: now, actions: &sessionActions)
            refreshTimer(of: slot, now: now)
            perform(&actions, slot: slot, now: now)
        }
    }

    /// Sheds every session holding more than its share while all together hold more than the
    /// budget. The check on each client segment sees only the session that grew; one that grew
    /// while the budget had room (fewer sessions, a larger share) and whose client has since
    /// finished gets no more segments, so the tick looks at them all. Only while over budget,
    /// which the shedding ends.
    private mutating func shedOverBudget(now: MonotonicTime, actions: inout [EngineAction]) {
        for slot in sessions.liveSlots where sessions.contains(slot) {
            guard buffers.sheds(slot, liveSessions: sessions.count) else { continue }
            abort(slot, .overBudget, now: now, actions: &actions)
        }
    }

    /// Ends every session, releasing the target's sockets (tcpcopy is stopping).
    public mutating func shutdown(now: MonotonicTime, actions: inout [EngineAction]) {
        sessions.reclaimFreedSlots()
        for slot in sessions.liveSlots {
            counters.stoppedWaiting[sessions.read(slot, { $0.waitingFor }), default: 0] += 1
            abort(slot, .aborted, now: now, actions: &actions)
        }
        unregisterLingering(actions: &actions) { _ in true }
    }

    /// Ends every session of `target` without sending anything (its intercept went away, so
    /// responses can no longer reach us).
    public mutating func dropSessions(of target: IPAddress, now: MonotonicTime, actions: inout [EngineAction]) {
        sessions.reclaimFreedSlots()
        for slot in sessions.liveSlots where sessions.read(slot, { $0.key.targetAddress }) == target {
            abort(slot, .aborted, now: now, actions: &actions)
        }
        // No response can reach us for them any more: lingering is pointless.
        unregisterLingering(actions: &actions) { $0.targetAddress == target }
    }

    /// `target`'s intercept link went down (or was never greeted): its sessions end at once and,
    /// until `linkUp(of:)`, nothing but RSTs is sent there and no session starts towards it
    /// (counted as `sessions_without_link`). Without intercept reading the queue nothing
    /// guarantees the target's answers stay away from the real clients, so the target must
    /// not be given anything to answer. RSTs still go: a target never answers one, and they
    /// close its sockets instead of leaving them retransmitting.
    public mutating func linkDown(of target: IPAddress, now: MonotonicTime, actions: inout [EngineAction]) {
        targetsWithoutLink.insert(target)
        dropSessions(of: target, now: now, actions: &actions)
    }

    /// `target`'s intercept link is up and greeted again: sessions may start towards it.
    public mutating func linkUp(of target: IPAddress) {
        targetsWithoutLink.remove(target)
    }

    private mutating func unregisterLingering(actions: inout [EngineAction], where matches: (RouteKey) -> Bool) {
        for key in lingering.added.keys where matches(key) {
            lingering.remove(key)
            actions.append(.control(.unregister(key), target: key.targetAddress))
        }
    }

    /// The routes of `port`, empty when it is not copied.
    private func routes(toPort port: UInt16) -> [CopyRoute] {
        var low = 0
        var high = routesByPort.count
        while low < high {
            let middle = (low + high) / 2
            if routesByPort[middle].port < port { low = middle + 1 } else { high = middle }
        }
        return low < routesByPort.count && routesByPort[low].port == port ? routesByPort[low].routes : []
    }

    // MARK: - Session lifecycle

    /// Starts one session per route (of those accepting `destination`) and copy for `capture`;
    /// `make` builds each session. `fromClientSYN`: the sessions start from the client's own SYN,
    /// whose sequence number and timestamp its TCP chose to be accepted over an old connection
    /// of the same port (see `CopyPortAllocator`); only then may copy 0 reclaim a cooling port,
    /// and only when client addresses are not rewritten (`-c` maps many clients to one address,
    /// whose ports then carry other clients' old connections).
    private mutating func start(
        _ capture: CaptureKey, routes: [CopyRoute], destination: IPAddress, fromClientSYN: Bool, now: MonotonicTime,
        actions: inout [EngineAction], make: (RouteKey, SessionTuning.Shared, inout [SessionAction]) -> EmulatedSession
    ) {
        let reclaimingCooling = fromClientSYN && configuration.clientAddresses.isEmpty
        var routes = routes
        if !targetsWithoutLink.isEmpty {
            let unlinked = routes.filter { $0.accepts(destination) && targetsWithoutLink.contains($0.targetAddress) }
            counters.sessionsWithoutLink += unlinked.count * configuration.copies
            routes.removeAll { targetsWithoutLink.contains($0.targetAddress) }
        }
        let routeCount = routes.reduce(0) { $0 + ($1.accepts(destination) ? 1 : 0) }
        let wanted = routeCount * configuration.copies
        guard admit(fromClientSYN ? .clientSYN : .synthesized, wanted: wanted) else {
            remember(refused: capture, now: now)
            return
        }
        var slots = SlotList()
        let clientAddress = sampler.targetSideAddress(for: capture.clientAddress)
        for route in routes where route.accepts(destination) {
            copies: for copy in 0..<configuration.copies {
                var key = RouteKey(
                    clientAddress: clientAddress, clientPort: capture.clientPort,
                    targetAddress: route.targetAddress, targetPort: route.targetPort)
                switch ports.allocate(
                    for: key, clientPort: capture.clientPort, copyNumber: configuration.portShift * 1000 + copy,
                    reclaimingCooling: reclaimingCooling)
                {
                case .preferred(let port):
                    key.clientPort = port
                case .reclaimed(let port):
                    key.clientPort = port
                    counters.portsReclaimed += 1
                    // The new session owns the route now: the old one's registration must not
                    // be withdrawn under it when its lingering ends.
                    lingering.remove(key)
                case .relocated(let port):
                    key.clientPort = port
                    counters.portsRelocated += 1
                case .exhausted:
                    // Every further copy towards this target would find the same full space.
                    let notStarted = configuration.copies - copy
                    counters.portCollisions += notStarted
                    noteExhaustion(of: key, copies: notStarted, now: now, actions: &actions)
                    break copies
                }
                clearSessionActions()
                let slot = sessions.insert(make(key, sharedTuning, &sessionActions), capture: capture)
                refreshTimer(of: slot, now: now)
                slots.append(slot)
                counters.sessionsStarted += 1
                perform(&actions, slot: slot, now: now)
            }
        }
        if slots.isEmpty { remember(refused: capture, now: now) } else { fanOut.updateValue(slots, forKey: capture) }
    }

    /// Asks `admission`, and counts a refusal.
    private mutating func admit(_ origin: SessionAdmission.Origin, wanted: Int) -> Bool {
        switch admission.decide(origin, wanted: wanted, liveSessions: sessions.count) {
        case .admitted: return true
        case .tableFull: counters.tableFull += 1
        case .memoryFull: counters.memoryFull += 1
        }
        return false
    }

    private mutating func remember(refused capture: CaptureKey, now: MonotonicTime) {
        guard refused.count < Self.refusedCapacity, !refused.contains(capture.word) else { return }
        refused.insert(capture.word, now: now)
    }

    private mutating func abort(
        _ slot: Int, _ outcome: SessionOutcome, now: MonotonicTime,
        actions: inout [EngineAction]
    ) {
        clearSessionActions()
        sessions[slot].abort(outcome, now: now, actions: &sessionActions)
        perform(&actions, slot: slot, now: now)
    }

    /// A RST the target accepts whatever state its socket is in: its own acknowledgment is
    /// exactly the sequence number it expects from us.
    static func reset(answering packet: TCPPacket) -> OutgoingSegment {
        OutgoingSegment(
            source: packet.destination, destination: packet.source, sourcePort: packet.destinationPort,
            destinationPort: packet.sourcePort, sequence: packet.acknowledgment, acknowledgment: SequenceNumber(0),
            flags: .rst, window: 0)
    }

    /// Says, at most every 10 s, that copies could not start for lack of client ports.
    private mutating func noteExhaustion(
        of key: RouteKey, copies: Int, now: MonotonicTime, actions: inout [EngineAction]
    ) {
        exhaustedSinceNotice += copies
        if let last = lastExhaustionNotice, now - last < 10_000 { return }
        lastExhaustionNotice = now
        actions.append(
            .notice(
                "no free client port for \(key.clientAddress) towards \(key.targetAddress):\(key.targetPort): "
                    + "\(exhaustedSinceNotice) copies not started (port_collisions); every port there is in use "
                    + "or in the target's TIME_WAIT. Lower -n, or spread the copies over more addresses with -c."))
        exhaustedSinceNotice = 0
    }

    /// Empties `sessionActions`, keeping its capacity. Most calls find it empty already
    /// (`perform` empties it), and `removeAll` goes through the generic `replaceSubrange` even
    /// then: two calls a packet showed in profiles.
    private mutating func clearSessionActions() {
        if !sessionActions.isEmpty { sessionActions.removeAll(keepingCapacity: true) }
    }

    /// Also keeps the slot's `holding` flag and its share of `buffers` current: this runs after every event of a session.
    private mutating func refreshTimer(of slot: Int, now: MonotonicTime) {
        guard sessions.contains(slot) else {
            timers.cancel(slot)
            holding.set(slot, false)
            buffers.update(slot, holds: 0)
            return
        }
        let (deadline, holds) = sessions.read(slot) { ($0.nextDeadline(now: now), $0.holdsRequestData) }
        if let deadline { timers.schedule(slot, at: deadline) } else { timers.cancel(slot) }
        holding.set(slot, holds)
        buffers.update(slot, holds: sessions.read(slot) { $0.bufferedBytesEstimate })
    }

    /// Turns the actions of the session in `slot` into engine actions, forgets it if it
    /// finished, and opens the session that carries on its stream if it asked for one.
    private mutating func perform(_ actions: inout [EngineAction], slot: Int, now: MonotonicTime) {
        // Most events leave the session going: registers and sends alone, and a loop that
        // carries nothing from one action to the next. The session's end goes to
        // `performEnding`, whose loop carries the ended session's keys: values that large held
        // across a loop cost every action a spill and a reload.
        // The actions are read in place, through a buffer pointer: the array's subscript hands
        // out a copy of each action, which cost more than the rest of the loop.
        var sendsWithoutLink = 0
        let ending: Int? = sessionActions.withUnsafeBufferPointer { pending in
            for index in pending.indices {
                switch pending[index] {
                case .register(let key):
                    actions.append(.control(.register(key), target: key.targetAddress))
                case .send(let segment):
                    if isWithoutLink(segment) {
                        sendsWithoutLink += 1
                    } else {
                        actions.append(.send(segment))
                    }
                case .finished, .reopen:
                    return index
                }
            }
            return nil
        }
        counters.sendsWithoutLink += sendsWithoutLink
        if let ending {
            performEnding(&actions, from: ending, slot: slot, now: now)
        } else {
            clearSessionActions()
        }
    }

    /// Whether `segment` must not go: its target's intercept link is down, and only a RST may
    /// go to it.
    private func isWithoutLink(_ segment: OutgoingSegment) -> Bool {
        !targetsWithoutLink.isEmpty && targetsWithoutLink.contains(segment.destination)
            && !segment.flags.contains(.rst)
    }

    private mutating func forward(_ segment: OutgoingSegment, actions: inout [EngineAction]) {
        if isWithoutLink(segment) {
            counters.sendsWithoutLink += 1
            return
        }
        actions.append(.send(segment))
    }

    /// `perform` from the action at `start` on, which ends the session.
    private mutating func performEnding(
        _ actions: inout [EngineAction], from start: Int, slot: Int, now: MonotonicTime
    ) {
        // One session's actions: at most one `finished`, and a `reopen` after it.
        var ended: (key: RouteKey, capture: CaptureKey)?
        var reopen: (capture: CaptureKey, key: RouteKey, stream: ClientStream, timestamp: UInt32?)?
        for action in sessionActions[start...] {
            switch action {
            case .register(let key):
                actions.append(.control(.register(key), target: key.targetAddress))
            case .send(let segment):
                forward(segment, actions: &actions)
            case .finished(let key, let outcome):
                guard
                    let finished = sessions.contains(slot) && sessions.read(slot, { $0.key }) == key
                        ? slot : sessions.slot(of: key)
                else { break }
                counters.sessionsEnded[outcome, default: 0] += 1
                let (retransmissions, staleResets, strayResets, targetHoldsTimeWait) = sessions.read(finished) {
                    ($0.retransmissions, $0.staleConnectionResets, $0.strayResets, $0.targetHoldsTimeWait)
                }
                counters.retransmissions += retransmissions
                counters.staleConnectionsReset += staleResets
                counters.strayResetsIgnored += strayResets
                // The port stays busy while the target may still hold it: TIME_WAIT when it
                // closed first, or while the route lingers; a reset target holds nothing.
                let busyFor: Int64 =
                    outcome == .completed && targetHoldsTimeWait
                    ? CopyPortAllocator.timeWaitMilliseconds
                    : outcome == .resetByTarget ? 0 : Self.lingerMilliseconds
                ports.release(key, now: now, busyFor: busyFor)
                let capture = sessions.capture(of: finished)
                sessions.remove(finished)
                refreshTimer(of: finished, now: now)  // the slot is empty: cancels its timer and flag
                if let capture {
                    ended = (key, capture)
                    if let index = fanOut.index(forKey: capture) {
                        if fanOut.modifyValue(at: index, { $0.remove(finished); return $0.isEmpty }) {
                            fanOut.remove(at: index)
                            // After a timeout the client may still come back: its data then opens a
                            // new session. After a real end, late data is only late.
                            if outcome.endedTheConnection { recentlyClosed.insert(capture.word, now: now) }
                            // A session that gave up (the target stopped answering, or it held
                            // more than its share of memory) would only do so again.
                            if outcome == .gaveUp || outcome == .overBudget { remember(refused: capture, now: now) }
                        }
                    }
                }
                if outcome == .resetByTarget {
                    actions.append(.control(.unregister(key), target: key.targetAddress))
                } else {
                    lingering.insert(key, now: now)
                }
            case .reopen(let key, let stream, let timestamp):
                if let ended, ended.key == key, !stream.isEmpty {
                    reopen = (ended.capture, key, stream, timestamp)
                }
            }
        }
        clearSessionActions()
        if let reopen {
            carryOn(
                reopen.stream, of: reopen.key, capture: reopen.capture, timestamp: reopen.timestamp, now: now,
                actions: &actions)
        }
    }

    /// Opens a new connection on another port for the rest of a stream whose connection the
    /// target closed.
    private mutating func carryOn(
        _ stream: ClientStream, of oldKey: RouteKey, capture: CaptureKey, timestamp: UInt32?,
        now: MonotonicTime, actions: inout [EngineAction]
    ) {
        // The old port is still busy (its route lingers), so the new connection gets another:
        // nothing of the old connection can mix in.
        guard admit(.reopened, wanted: 1) else { return }
        var key = oldKey
        switch ports.allocate(for: oldKey, clientPort: oldKey.clientPort, copyNumber: 0) {
        case .preferred(let port), .relocated(let port), .reclaimed(let port): key.clientPort = port
        case .exhausted:
            counters.portCollisions += 1
            noteExhaustion(of: oldKey, copies: 1, now: now, actions: &actions)
            return
        }
        clearSessionActions()
        let slot = sessions.insert(
            EmulatedSession(
                key: key, continuing: stream, timestamp: timestamp, synMSS: configuration.synMSS, tuning: sharedTuning,
                now: now, actions: &sessionActions),
            capture: capture)
        defer { refreshTimer(of: slot, now: now) }
        if let index = fanOut.index(forKey: capture) {
            fanOut.modifyValue(at: index) { $0.append(slot) }
        } else {
            var slots = SlotList()
            slots.append(slot)
            fanOut.updateValue(slots, forKey: capture)
        }
        recentlyClosed.remove(capture.word)
        counters.sessionsStarted += 1
        counters.sessionsReopened += 1
        perform(&actions, slot: slot, now: now)
    }
}

extension CopyRoute {
    /// Whether a packet to `destination` (on this route's port) takes this route: a route
    /// without an online address takes every local address of its target's family.
    func accepts(_ destination: IPAddress) -> Bool {
        guard let onlineAddress else { return destination.family == targetAddress.family }
        return onlineAddress == destination
    }
}
