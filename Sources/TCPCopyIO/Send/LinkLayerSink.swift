import CTCPCopyShims
import Glibc
import Logging
import TCPCopyCore

/// `-o IFACE`: copies leave as link-layer frames on one interface through an AF_PACKET socket,
/// so the host's routing decision, iptables OUTPUT/POSTROUTING and connection tracking never
/// see them (the qdisc still does). The socket is SOCK_DGRAM: the kernel writes the link header
/// from the address given with each packet, which serves Ethernet (the next hop's MAC) and
/// devices without a link header (tunnels: no address) alike.
///
/// The next hop's MAC comes from the kernel: the route to the destination through IFACE
/// (gateway, or the destination itself on link), then that address's neighbour entry, in the
/// routing and neighbour tables of the destination's family. A missing or unusable entry is
/// resolved by the kernel on request (`NTF_USE`: an ARP request, or a neighbour solicitation
/// for IPv6), and its answer awaited for at most `resolveWaitMilliseconds`; packets for a
/// destination that cannot be resolved are dropped and counted (`next_hop_unresolved`) until
/// the next attempt a second later. `NextHopCache` says when to ask again.
final class LinkLayerSink: PacketSink {
    static let batchSlots = 64
    /// The longest the loop pauses for one ARP (or neighbour discovery) answer. A neighbour on the link answers in well
    /// under a millisecond; one that does not answer in this time is retried a second later.
    static let resolveWaitMilliseconds: Int64 = 100
    static let pollMicroseconds: Int64 = 1000

    let interfaceName: String
    private let interfaceIndex: Int32
    /// 6 on Ethernet; 0 on devices without a link header (no neighbour to resolve).
    private let addressLength: Int
    private let descriptor: FileDescriptor
    private let netlink: RouteNetlinkSocket
    private let logger: Logger
    private var cache = NextHopCache()
    private var batch = PacketBatch(limit: batchSlots)
    /// 8 bytes per queued packet, index for index with `batch`: its `sockaddr_ll` link address.
    private var linkAddresses: [UInt8] = []
    /// Destinations whose failure was reported, until they resolve again (one warning each).
    private var reportedFailures: Set<IPAddress> = []
    private(set) var sendErrors: [String: Int] = [:]
    private var counters = LinkLayerSinkCounters()

    init(interface: String, sendBufferBytes: Int32, logger: Logger) throws {
        interfaceName = interface
        self.logger = logger
        var index: Int32 = 0
        var hardwareType: Int32 = 0
        var flags: UInt32 = 0
        var mtu: Int32 = 0
        do {
            try systemCall("ioctl(SIOCGIFINDEX \(interface))") {
                CTCPCopyShims_interface_link(interface, &index, &hardwareType, &flags, &mtu)
            }
        } catch {
            throw LinkLayerSinkError.noInterface(interface, error)
        }
        guard flags & UInt32(IFF_UP) != 0 else { throw LinkLayerSinkError.interfaceDown(interface) }
        guard let addressing = LinkAddressing(hardwareType: hardwareType) else {
            throw LinkLayerSinkError.unsupportedLinkType(interface, hardwareType)
        }
        let length = addressing.addressLength
        interfaceIndex = index
        addressLength = length
        let descriptor = FileDescriptor(
            try systemCall("socket(AF_PACKET, SOCK_DGRAM, 0)") {
                socket(AF_PACKET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            })
        let fd = descriptor.rawValue
        try systemCall("bind(AF_PACKET \(interface))") { CTCPCopyShims_packet_bind(fd, index) }
        try setNonBlocking(fd)
        try setSendBuffer(fd, bytes: sendBufferBytes)
        self.descriptor = descriptor
        netlink = try RouteNetlinkSocket(timeoutMilliseconds: 200)
        linkAddresses.reserveCapacity(Self.batchSlots * 8)
        logger.info(
            "sending copies at the link layer",
            metadata: [
                "interface": "\(interface)", "ifindex": "\(index)", "mtu": "\(mtu)",
                "link": "\(length == 0 ? "no link header (ARPHRD \(hardwareType))" : "Ethernet")",
            ])
    }

    var batchLimit: Int { Self.batchSlots }
    var queuedCount: Int { batch.count }

    func prepare(destinations: [IPAddress]) {
        guard addressLength > 0 else { return }
        let now = monotonicNow()
        for destination in destinations where cache.address(of: destination) == nil {
            _ = resolve(destination, wait: true, now: now)
        }
    }

    func queue(_ segment: OutgoingSegment) {
        let destination = segment.destination
        var address: LinkAddress?
        if addressLength > 0 {
            let now = monotonicNow()
            switch cache.lookup(destination, now: now) {
            case .send(let known):
                address = known
            case .sendAndRefresh(let known):
                address = resolve(destination, wait: false, now: now) ?? known
            case .resolve:
                address = resolve(destination, wait: true, now: now)
            case .drop:
                break
            }
            guard address != nil else {
                counters.unresolvedDropped += 1
                return
            }
        }
        batch.append(segment)
        let bytesOfAddress = address?.bytes ?? []
        linkAddresses += bytesOfAddress
        linkAddresses += repeatElement(0, count: 8 - bytesOfAddress.count)
    }

    func flush(refused: (SendRefusal) -> Void) -> Int {
        let fd = descriptor.rawValue
        let index = interfaceIndex
        let length = Int32(addressLength)
        let sent = linkAddresses.withUnsafeBufferPointer { addresses in
            batch.send(
                call: "sendmmsg(AF_PACKET \(interfaceName))",
                refused: { refusal in
                    sendErrors[refusal.errnoName, default: 0] += 1
                    refused(refusal)
                }
            ) { base, offsets, lengths, first, count in
                CTCPCopyShims_packet_send_batch(
                    fd, index, base, offsets, lengths, addresses.baseAddress! + first * 8, length, count)
            }
        }
        linkAddresses.removeAll(keepingCapacity: true)
        return sent
    }

    func addCounters(to counters: inout TCPCopyDaemonCounters) { counters.linkLayerSink = self.counters }

    /// Looks up the next hop of `destination` and its MAC, records the outcome in the cache,
    /// and returns the MAC. With `wait`, a neighbour being resolved is awaited (bounded).
    private func resolve(_ destination: IPAddress, wait: Bool, now: MonotonicTime) -> LinkAddress? {
        counters.lookups += 1
        switch nextHopAddress(of: destination, wait: wait) {
        case .success(let found):
            let (hop, address) = found
            cache.resolved(destination, address: address, now: now)
            if reportedFailures.remove(destination) != nil || wait {
                logger.info(
                    "next hop found",
                    metadata: [
                        "destination": "\(destination)", "next_hop": "\(hop)", "mac": "\(address)",
                        "interface": "\(interfaceName)",
                    ])
            }
            return address
        case .failure(let problem):
            counters.lookupFailures += 1
            cache.failed(destination, now: now)
            if reportedFailures.insert(destination).inserted {
                let known = cache.address(of: destination).map { "; still sending with the last known MAC \($0)" }
                logger.warning(
                    "cannot resolve the next hop of \(destination) on \(interfaceName): \(problem)\(known ?? "; its copies are dropped (counted as next_hop_unresolved)"), trying again every \(cache.retryMilliseconds) ms"
                )
            }
            return nil
        }
    }

    private func nextHopAddress(of destination: IPAddress, wait: Bool)
        -> Result<(IPAddress, LinkAddress), NextHopProblem>
    {
        do {
            let hop: IPAddress
            let index = interfaceIndex
            let route = try netlink.ask("RTM_GETROUTE") {
                RouteNetlink.routeRequest(to: destination, interfaceIndex: index, sequence: $0)
            }
            switch route {
            case .route(let route) where route.type == RouteNetlink.unicastRoute:
                hop = route.nextHop(for: destination)
            case .route(let route):
                return .failure(.init("the route to it through \(interfaceName) is not unicast (type \(route.type))"))
            case .failure(let code):
                return .failure(.init("no route to it through \(interfaceName) (\(String(cString: strerror(code))))"))
            case let other:
                return .failure(.init("unexpected answer to RTM_GETROUTE: \(other)"))
            }
            var state = NeighbourState()
            if let entry = try neighbour(hop) {
                state = entry.state
                if let address = entry.usableAddress {
                    // A STALE entry would stay stale: our frames never confirm it.
                    if !entry.state.isConfirmed { try triggerResolution(of: hop) }
                    return .success((hop, address))
                }
            }
            try triggerResolution(of: hop)
            if wait {
                let deadline = monotonicMicroseconds() + Self.resolveWaitMilliseconds * 1000
                while monotonicMicroseconds() < deadline {
                    sleepMicroseconds(Self.pollMicroseconds)
                    if let entry = try neighbour(hop) {
                        state = entry.state
                        if let address = entry.usableAddress { return .success((hop, address)) }
                    }
                }
            }
            let resolver = hop.family == .ipv6 ? "neighbour discovery" : "ARP"
            let how =
                wait ? "no \(resolver) answer within \(Self.resolveWaitMilliseconds) ms" : "resolution started"
            return .failure(.init("next hop \(hop) has no usable MAC (neighbour state \(state); \(how))"))
        } catch {
            return .failure(.init("\(error)"))
        }
    }

    /// The neighbour entry of `address` on the interface; nil when there is none.
    private func neighbour(_ address: IPAddress) throws(SystemCallError) -> NeighbourAnswer? {
        let index = interfaceIndex
        let answer = try netlink.ask("RTM_GETNEIGH") {
            RouteNetlink.neighbourRequest(for: address, interfaceIndex: index, sequence: $0)
        }
        switch answer {
        case .neighbour(let entry): return entry
        case .failure(let code) where code == ENOENT: return nil
        case .failure(let code): throw SystemCallError("RTM_GETNEIGH \(address)", errno: code)
        default: return nil
        }
    }

    /// Asks the kernel to resolve `address` (it sends the ARP request or neighbour solicitation
    /// itself).
    private func triggerResolution(of address: IPAddress) throws(SystemCallError) {
        let index = interfaceIndex
        let answer = try netlink.ask("RTM_NEWNEIGH") {
            RouteNetlink.resolveRequest(for: address, interfaceIndex: index, sequence: $0)
        }
        if case .failure(let code) = answer { throw SystemCallError("RTM_NEWNEIGH NTF_USE \(address)", errno: code) }
    }
}

/// Why a next hop could not be resolved, as the warning says it.
struct NextHopProblem: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Why `-o IFACE` cannot be used, in words that say what to do.
enum LinkLayerSinkError: Error, CustomStringConvertible {
    case noInterface(String, SystemCallError)
    case interfaceDown(String)
    case unsupportedLinkType(String, Int32)

    var description: String {
        switch self {
        case .noInterface(let name, let error):
            "-o \(name): no such interface in this network namespace (\(error)); list them with `ip link`"
        case .interfaceDown(let name):
            "-o \(name): the interface is down; bring it up (ip link set \(name) up) or choose another"
        case .unsupportedLinkType(let name, let type):
            "-o \(name): link type \(type) (ARPHRD) is not supported; -o sends on Ethernet devices and on devices without a link header (ipip, gre, tun)"
        }
    }
}
