/// The few rtnetlink messages the link-layer sink needs, built and read as plain bytes: a route
/// lookup (`RTM_GETROUTE`, what `ip route get ADDRESS oif DEV` asks), one neighbour entry
/// (`RTM_GETNEIGH` with `NDA_DST`, Linux 5.0 and later), and the request that makes the kernel
/// resolve a neighbour (`RTM_NEWNEIGH` with `NTF_USE`, what `ip neigh replace ... use` sends).
/// Netlink fields are in host byte order; addresses inside attributes are in network order.
/// Either family: an IPv6 question carries `AF_INET6` and 16-byte addresses (`RTA_DST`,
/// `RTA_GATEWAY`, `NDA_DST`), and the IPv6 neighbour table is resolved by neighbour discovery.
/// Every read checks its bounds: an answer that does not add up is `.malformed`, never a trap.
public enum RouteNetlink {
    /// Netlink message types used here.
    public enum MessageType {
        public static let error: UInt16 = 2
        public static let done: UInt16 = 3
        public static let newRoute: UInt16 = 24
        public static let getRoute: UInt16 = 26
        public static let newNeighbour: UInt16 = 28
        public static let getNeighbour: UInt16 = 30
    }

    /// `nlmsghdr` flags.
    public enum Flags {
        public static let request: UInt16 = 0x1
        public static let acknowledge: UInt16 = 0x4
        public static let replace: UInt16 = 0x100
        public static let create: UInt16 = 0x400
    }

    /// Attribute types (`RTA_*` of a route, `NDA_*` of a neighbour).
    public enum Attribute {
        public static let routeDestination: UInt16 = 1
        public static let routeOutputInterface: UInt16 = 4
        public static let routeGateway: UInt16 = 5
        public static let neighbourDestination: UInt16 = 1
        public static let neighbourLinkAddress: UInt16 = 2
    }

    static let addressFamilyIPv4: UInt8 = 2
    static let addressFamilyIPv6: UInt8 = 10
    static let headerLength = 16
    /// `struct rtmsg` and `struct ndmsg` are both 12 bytes.
    static let bodyLength = 12
    /// `NTF_USE`: "use this entry", which starts resolution when the entry is not valid.
    static let neighbourFlagUse: UInt8 = 0x01
    /// `RTN_UNICAST`, the only route type copies can follow.
    public static let unicastRoute: UInt8 = 1

    /// `RTM_GETROUTE` for `destination`, leaving through interface `interfaceIndex`.
    public static func routeRequest(to destination: IPAddress, interfaceIndex: Int32, sequence: UInt32) -> [UInt8] {
        var body: [UInt8] = [family(of: destination), UInt8(destination.family.bitWidth), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        appendAttribute(Attribute.routeDestination, address: destination, to: &body)
        appendAttribute(Attribute.routeOutputInterface, native: UInt32(bitPattern: interfaceIndex), to: &body)
        return message(type: MessageType.getRoute, flags: Flags.request, sequence: sequence, body: body)
    }

    /// `RTM_GETNEIGH` for the one entry of `address` on interface `interfaceIndex`.
    public static func neighbourRequest(for address: IPAddress, interfaceIndex: Int32, sequence: UInt32) -> [UInt8] {
        var body = neighbourHeader(family: family(of: address), interfaceIndex: interfaceIndex, flags: 0)
        appendAttribute(Attribute.neighbourDestination, address: address, to: &body)
        return message(type: MessageType.getNeighbour, flags: Flags.request, sequence: sequence, body: body)
    }

    /// `RTM_NEWNEIGH` with `NTF_USE` (state `NUD_NONE`, created if missing): the kernel sends
    /// an ARP request (a neighbour solicitation for IPv6) for `address` on the interface, as if
    /// a packet were waiting for it, and answers with an acknowledgement at once (the
    /// resolution itself takes a round trip).
    public static func resolveRequest(for address: IPAddress, interfaceIndex: Int32, sequence: UInt32) -> [UInt8] {
        var body = neighbourHeader(family: family(of: address), interfaceIndex: interfaceIndex, flags: neighbourFlagUse)
        appendAttribute(Attribute.neighbourDestination, address: address, to: &body)
        return message(
            type: MessageType.newNeighbour,
            flags: Flags.request | Flags.acknowledge | Flags.create | Flags.replace, sequence: sequence, body: body)
    }

    /// Reads the answer to the request numbered `sequence` from one received datagram;
    /// messages with other sequence numbers (answers to earlier requests that timed out) are
    /// skipped.
    public static func parseAnswer(_ bytes: [UInt8], sequence: UInt32) -> RouteNetlinkAnswer {
        var offset = 0
        while offset + headerLength <= bytes.count {
            guard let length = native(UInt32.self, bytes, offset), let type = native(UInt16.self, bytes, offset + 4),
                let messageSequence = native(UInt32.self, bytes, offset + 8)
            else { return .malformed("short message header") }
            let end = offset + Int(length)
            guard Int(length) >= headerLength, end <= bytes.count else {
                return .malformed("message length \(length) does not fit the \(bytes.count - offset) bytes left")
            }
            defer { offset = (end + 3) & ~3 }
            guard messageSequence == sequence else { continue }
            let body = Array(bytes[(offset + headerLength)..<end])
            switch type {
            case MessageType.error:
                guard let code = native(Int32.self, body, 0) else { return .malformed("short error message") }
                return code == 0 ? .acknowledged : .failure(errno: -code)
            case MessageType.done:
                return .failure(errno: 2)  // ENOENT: an empty answer
            case MessageType.newRoute:
                return parseRoute(body)
            case MessageType.newNeighbour:
                return parseNeighbour(body)
            default:
                continue
            }
        }
        return .incomplete
    }

    static func parseRoute(_ body: [UInt8]) -> RouteNetlinkAnswer {
        guard body.count >= bodyLength else { return .malformed("short rtmsg") }
        var answer = RouteAnswer(type: body[7], outputInterface: nil, gateway: nil)
        let walked = walkAttributes(body, from: bodyLength) { type, value in
            switch type {
            case Attribute.routeOutputInterface:
                if let index = native(UInt32.self, value, 0) { answer.outputInterface = Int32(bitPattern: index) }
            case Attribute.routeGateway:
                answer.gateway = address(value)
            default:
                break
            }
        }
        return walked ? .route(answer) : .malformed("route attribute overruns its message")
    }

    static func parseNeighbour(_ body: [UInt8]) -> RouteNetlinkAnswer {
        guard body.count >= bodyLength, let state = native(UInt16.self, body, 8) else {
            return .malformed("short ndmsg")
        }
        var answer = NeighbourAnswer(state: NeighbourState(rawValue: state), linkAddress: nil)
        let walked = walkAttributes(body, from: bodyLength) { type, value in
            if type == Attribute.neighbourLinkAddress { answer.linkAddress = LinkAddress(value) }
        }
        return walked ? .neighbour(answer) : .malformed("neighbour attribute overruns its message")
    }

    /// Calls `visit` with each attribute's type and value; false when one overruns the body.
    static func walkAttributes(_ body: [UInt8], from start: Int, _ visit: (UInt16, [UInt8]) -> Void) -> Bool {
        var offset = start
        while offset + 4 <= body.count {
            guard let length = native(UInt16.self, body, offset), let type = native(UInt16.self, body, offset + 2)
            else { return false }
            let end = offset + Int(length)
            guard length >= 4, end <= body.count else { return false }
            visit(type & 0x3FFF, Array(body[(offset + 4)..<end]))
            offset = (end + 3) & ~3
        }
        return true
    }

    static func neighbourHeader(family: UInt8, interfaceIndex: Int32, flags: UInt8) -> [UInt8] {
        var body: [UInt8] = [family, 0, 0, 0]
        appendNative(UInt32(bitPattern: interfaceIndex), to: &body)
        appendNative(UInt16(0), to: &body)  // state NUD_NONE
        body.append(flags)
        body.append(0)  // type
        return body
    }

    static func message(type: UInt16, flags: UInt16, sequence: UInt32, body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(headerLength + body.count)
        appendNative(UInt32(headerLength + body.count), to: &bytes)
        appendNative(type, to: &bytes)
        appendNative(flags, to: &bytes)
        appendNative(sequence, to: &bytes)
        appendNative(UInt32(0), to: &bytes)  // port id: the kernel fills in ours
        bytes += body
        return bytes
    }

    static func appendAttribute(_ type: UInt16, address: IPAddress, to bytes: inout [UInt8]) {
        switch address {
        case .v4(let address):
            appendNative(UInt16(8), to: &bytes)
            appendNative(type, to: &bytes)
            bytes.appendUInt32(address.value)
        case .v6(let address):
            appendNative(UInt16(20), to: &bytes)
            appendNative(type, to: &bytes)
            bytes += address.bytes
        }
    }

    static func family(of address: IPAddress) -> UInt8 {
        address.family == .ipv6 ? addressFamilyIPv6 : addressFamilyIPv4
    }

    /// An address attribute's value: 4 bytes IPv4, 16 bytes IPv6, anything else nil.
    static func address(_ value: [UInt8]) -> IPAddress? {
        switch value.count {
        case 4:
            return value.readUInt32(at: 0).map { .v4(IPv4Address($0)) }
        case 16:
            return IPv6Address.read(value, at: 0).map { .v6($0) }
        default:
            return nil
        }
    }

    static func appendAttribute(_ type: UInt16, native value: UInt32, to bytes: inout [UInt8]) {
        appendNative(UInt16(8), to: &bytes)
        appendNative(type, to: &bytes)
        appendNative(value, to: &bytes)
    }

    static func appendNative<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    static func native<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ offset: Int) -> T? {
        guard offset >= 0, offset + MemoryLayout<T>.size <= bytes.count else { return nil }
        return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }
}

/// What the kernel answered to one `RouteNetlink` request.
public enum RouteNetlinkAnswer: Equatable, Sendable {
    case route(RouteAnswer)
    case neighbour(NeighbourAnswer)
    /// The request was carried out (an error message with code 0).
    case acknowledged
    /// The kernel refused or found nothing: a positive errno (`ENOENT` for no such neighbour,
    /// `ENETUNREACH` for no route).
    case failure(errno: Int32)
    /// No message for this request in the datagram.
    case incomplete
    case malformed(String)
}

/// The route the kernel would use: through `gateway`, or to the destination itself (on link)
/// when there is none.
public struct RouteAnswer: Equatable, Sendable {
    /// `RTN_*`: 1 unicast, 2 local, 6 blackhole, 7 unreachable, 8 prohibit, ...
    public var type: UInt8
    public var outputInterface: Int32?
    public var gateway: IPAddress?

    public init(type: UInt8, outputInterface: Int32?, gateway: IPAddress?) {
        self.type = type
        self.outputInterface = outputInterface
        self.gateway = gateway
    }

    /// The address whose link-layer address frames must carry to reach `destination`.
    public func nextHop(for destination: IPAddress) -> IPAddress { gateway ?? destination }
}

/// One neighbour entry: its state and, when known, its link-layer address.
public struct NeighbourAnswer: Equatable, Sendable {
    public var state: NeighbourState
    public var linkAddress: LinkAddress?

    public init(state: NeighbourState, linkAddress: LinkAddress?) {
        self.state = state
        self.linkAddress = linkAddress
    }

    /// The address frames may carry now: only from a state the kernel itself would send with.
    public var usableAddress: LinkAddress? { state.isUsable ? linkAddress : nil }
}

/// A neighbour entry's `NUD_*` state bits.
public struct NeighbourState: OptionSet, Equatable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let incomplete = Self(rawValue: 0x01)
    public static let reachable = Self(rawValue: 0x02)
    public static let stale = Self(rawValue: 0x04)
    public static let delay = Self(rawValue: 0x08)
    public static let probe = Self(rawValue: 0x10)
    public static let failed = Self(rawValue: 0x20)
    public static let noARP = Self(rawValue: 0x40)
    public static let permanent = Self(rawValue: 0x80)

    /// REACHABLE, STALE, DELAY, PROBE, PERMANENT and NOARP hold an address the kernel sends
    /// with; INCOMPLETE and FAILED do not.
    public var isUsable: Bool {
        !intersection([.reachable, .stale, .delay, .probe, .permanent, .noARP]).isEmpty
    }

    /// Whether the kernel believes the address now (no confirmation is due).
    public var isConfirmed: Bool { !intersection([.reachable, .permanent, .noARP]).isEmpty }

    public var description: String {
        let names: [(Self, String)] = [
            (.incomplete, "INCOMPLETE"), (.reachable, "REACHABLE"), (.stale, "STALE"), (.delay, "DELAY"),
            (.probe, "PROBE"), (.failed, "FAILED"), (.noARP, "NOARP"), (.permanent, "PERMANENT"),
        ]
        let set = names.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "NONE" : set.joined(separator: "|")
    }
}

/// A link-layer (MAC) address, up to 8 bytes as `sockaddr_ll` holds.
public struct LinkAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, bytes.count <= 8 else { return nil }
        self.bytes = bytes
    }

    public var description: String {
        bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }
}
