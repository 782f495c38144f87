/// intercept's logic, free of I/O: the verdict for each queued packet, where its headers go, and
/// the control protocol's handshake. `Connection` identifies a tcpcopy control connection.
public struct InterceptEngine<Connection: Hashable & Sendable>: Sendable {
    public enum Verdict: Sendable, Equatable { case accept, drop }

    /// What to do for one control message received.
    public enum Reply: Sendable, Equatable {
        case none
        case send(ControlMessage)
        /// Send this, then close the connection (refused handshake, protocol misuse).
        case sendAndClose(ControlMessage)
        /// The connection registered a route `owner` already holds: refused (the first owner
        /// keeps it), and worth telling the operator.
        case duplicate(RouteKey, owner: Connection)
        /// A route cap is reached: the registration is refused; send `.refused` and tell the
        /// operator.
        case overCap(RouteKey, RegistrationRefusal)
    }

    /// Headers to send to a connection.
    public struct Delivery: Sendable, Equatable {
        public var connection: Connection
        public var header: ResponseHeader
    }

    /// Where the headers of a queued packet go: its first `headerLength` bytes (the IP and TCP
    /// headers, validated) to `connection`. The caller sends them from the bytes it holds, so a
    /// forwarded response costs no copy and no allocation here; unless `isHeld`: a pure ACK,
    /// kept until `releaseHeldAcks` in case a later packet supersedes it (`HeldAcks`).
    /// `earlierAck`, when set, must go to `connection` first: an ACK of the same session held
    /// earlier in the batch that this packet does not supersede.
    public struct Forward: Sendable, Equatable {
        public var connection: Connection
        public var headerLength: Int
        public var isHeld = false
        public var earlierAck: HeaderBytes?
        /// The packet as parsed here, for `AnswerReporter` (not parsed twice).
        public var packet: TCPPacket?
    }

    private let allowList: AllowList
    private var routes: RouteTable<Connection>
    private var greeted: Set<Connection> = []
    /// `--secret-file`: without it, any allowed peer that says hello is welcomed.
    private let secret: [UInt8]?
    /// Nonces of connections that said hello and owe their proof.
    private var challenges: [Connection: [UInt8]] = [:]
    private var heldAcks = HeldAcks<Connection>()
    public var counters = InterceptCounters()
    /// The routes tcpcopy asked to compare, and their answer streams (`tcpcopy --compare`).
    public var answers = AnswerReporter<Connection>()

    public init(
        allowList: [IPv4Address], ipv6AllowList: [IPv6Address] = [], limits: RouteTable<Connection>.Limits,
        secret: [UInt8]? = nil
    ) {
        self.allowList = AllowList(allowList, ipv6: ipv6AllowList)
        routes = RouteTable(limits: limits)
        self.secret = secret
    }

    public var routeCount: Int { routes.routeCount }

    /// Whether the connection completed the handshake (it may register).
    public func isGreeted(_ connection: Connection) -> Bool { greeted.contains(connection) }

    /// The verdict for a queued packet (its first bytes), and where its headers go if anywhere.
    /// Anything we cannot parse is dropped: failing closed is what keeps responses from leaking.
    public mutating func queued<C: Collection>(_ bytes: C, now: MonotonicTime) -> (
        Verdict, Forward?
    ) where C.Element == UInt8, C.Index == Int {
        counters.queued += 1
        let isIPv6 = bytes.first.map({ $0 >> 4 == 6 }) == true
        // Validated headers longer than `HeaderBytes` holds (only IPv6 extension headers make
        // them so) cannot be forwarded: dropped as malformed.
        guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: false, readOptions: false),
            packet.headerLength <= HeaderBytes.capacity
        else {
            // Allow-listed hosts still get their packets even when we cannot parse the TCP part.
            if let destination = Self.destination(bytes), allowList.contains(destination) {
                counters.countAccepted(ipv6: isIPv6)
                return (.accept, nil)
            }
            counters.countDropped(ipv6: isIPv6)
            counters.malformed += 1
            return (.drop, nil)
        }
        if allowList.contains(packet.destination) {
            counters.countAccepted(ipv6: isIPv6)
            return (.accept, nil)
        }
        counters.countDropped(ipv6: isIPv6)
        let key = RouteKey(response: packet)
        let isPureAck = HeldAcks<Connection>.isPureAck(packet)
        var mark = HeldAckMark()
        let next = isPureAck ? heldAcks.nextMark : HeldAckMark()
        let owner = routes.owner(of: key, now: now) { routeMark in
            mark = routeMark
            routeMark = next
        }
        if let owner {
            let earlierAck = heldAcks.settle(mark, key: key, by: packet, superseded: &counters.acksCoalesced)
            if isPureAck {
                // Validated headers are at most 120 bytes, what `HeaderBytes` holds.
                heldAcks.hold(
                    HeaderBytes(bytes.prefix(packet.headerLength))!, acknowledgment: packet.acknowledgment, key: key,
                    for: owner)
            }
            return (
                .drop,
                Forward(
                    connection: owner, headerLength: packet.headerLength, isHeld: isPureAck, earlierAck: earlierAck,
                    packet: packet)
            )
        }
        // Only a held response is copied (it must outlive the caller's buffer), and parsed whole.
        if let header = ResponseHeader(packetPrefix: bytes), routes.hold(header, for: key, now: now) {
            counters.held += 1
        } else {
            counters.unrouted += 1
        }
        return (.drop, nil)
    }

    /// The destination in the fixed IP header of either family, if the packet holds it.
    private static func destination<C: Collection>(_ bytes: C) -> IPAddress?
    where C.Element == UInt8, C.Index == Int {
        switch bytes.first.map({ $0 >> 4 }) {
        case 4: bytes.readUInt32(at: 16).map { .v4(IPv4Address($0)) }
        case 6: IPv6Address.read(bytes, at: 24).map { .v6($0) }
        default: nil
        }
    }

    /// Ends a batch of queued packets: hands each pure ACK still held to `send`, in the order
    /// they came. The caller calls it after every batch, before anything else it does.
    public mutating func releaseHeldAcks(_ send: (Connection, HeaderBytes) -> Void) {
        guard !heldAcks.isEmpty else { return }
        heldAcks.release(send)
    }

    /// A message from a tcpcopy connection. Held responses its registration releases are
    /// appended to `deliveries`.
    /// `nonce`: fresh random bytes (`ControlHandshake.nonceLength`) for this connection's
    /// challenge, used only with a secret; the caller draws them (the engine makes no syscall).
    /// `clockMicroseconds`: intercept's monotonic clock in µs, the one that stamps answer
    /// pieces, echoed in answer to a `clockProbe`.
    public mutating func received(
        _ message: ControlMessage, from connection: Connection, now: MonotonicTime,
        deliveries: inout [Delivery], nonce: () -> [UInt8] = { [] }, clockMicroseconds: UInt64 = 0
    ) -> Reply {
        guard greeted.contains(connection) else {
            return handshake(message, from: connection, nonce: nonce)
        }
        switch message {
        case .register(let key):
            counters.registrations += 1
            switch routes.register(key, owner: connection, now: now) {
            case .overCap(let reason):
                counters.registrationsOverCap += 1
                return .overCap(key, reason)
            case .added(let held):
                counters.heldDelivered += held.count
                for header in held { answers.handshake(header.packet) }
                deliveries += held.map { Delivery(connection: connection, header: $0) }
            case .refreshed:
                break
            case .duplicate(let owner):
                counters.duplicateRegistrations += 1
                return .duplicate(key, owner: owner)
            }
            return .none
        case .unregister(let key):
            routes.unregister(key, owner: connection)
            if answers.isActive { answers.stop(key) }
            return .none
        case .compareConfig(let names):
            answers.configure(connection, maskedHeaders: names)
            return .none
        case .compare(let key):
            // Only the route's owner may have its answers reported.
            if routes.owner(of: key, now: now) == connection { answers.start(key, owner: connection) }
            return .none
        case .heartbeat:
            return .send(.heartbeat)
        case .clockProbe(let sent):
            return .send(.clockEcho(sentMicroseconds: sent, stampMicroseconds: clockMicroseconds))
        case .goodbye:
            return .none
        case .hello, .welcome, .response, .challenge, .proof, .refused, .answerPiece, .clockEcho:
            counters.connectionsRejected += 1
            return .sendAndClose(.goodbye(.protocolError))
        }
    }

    /// hello, then (with a secret) the proof for the nonce sent in answer; anything else, or
    /// a wrong proof, closes the connection before it may register.
    private mutating func handshake(
        _ message: ControlMessage, from connection: Connection, nonce: () -> [UInt8]
    ) -> Reply {
        if let expected = challenges[connection] {
            guard case .proof(let proof) = message else {
                counters.connectionsRejected += 1
                return .sendAndClose(.goodbye(.protocolError))
            }
            challenges[connection] = nil
            guard let secret,
                HMACSHA256.equal(proof, ControlHandshake.proof(secret: secret, nonce: expected))
            else {
                counters.secretRefused += 1
                return .sendAndClose(.goodbye(.badSecret))
            }
            return welcome(connection)
        }
        guard case .hello(let version) = message else {
            counters.connectionsRejected += 1
            return .sendAndClose(.goodbye(.protocolError))
        }
        guard version == ControlMessage.protocolVersion else {
            counters.connectionsRejected += 1
            return .sendAndClose(.goodbye(.unsupportedVersion))
        }
        guard secret != nil else { return welcome(connection) }
        let fresh = nonce()
        challenges[connection] = fresh
        return .send(.challenge(fresh))
    }

    private mutating func welcome(_ connection: Connection) -> Reply {
        greeted.insert(connection)
        counters.connectionsAccepted += 1
        return .send(.welcome(version: ControlMessage.protocolVersion))
    }

    /// The connection is gone: its routes with it.
    public mutating func closed(_ connection: Connection) {
        greeted.remove(connection)
        challenges[connection] = nil
        routes.removeAll(ownedBy: connection)
        if answers.isActive { answers.closed(connection) }
    }

    public mutating func tick(now: MonotonicTime) {
        let expired = routes.expire(now: now)
        counters.routesExpired += expired.routes
        counters.heldExpired += expired.held
    }
}
