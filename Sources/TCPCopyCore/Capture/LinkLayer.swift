/// The link-layer header types tcpcopy reads from libpcap, live or from a file.
public enum LinkType: Sendable, Equatable {
    /// DLT_EN10MB: Ethernet, with any number of 802.1Q / 802.1ad (QinQ) tags.
    case ethernet
    /// DLT_LINUX_SLL: Linux cooked v1, what the `any` device gives.
    case linuxCooked
    /// DLT_LINUX_SLL2: Linux cooked v2.
    case linuxCooked2
    /// DLT_RAW / LINKTYPE_RAW: no link header (an `ipip` tunnel such as `tunl0`).
    case rawIP
    /// DLT_NULL: a 4-byte address family in the writer's byte order (BSD loopback).
    case null
    /// DLT_LOOP: a 4-byte address family in network byte order.
    case loop

    /// The type for libpcap's DLT number (live) or a file's LINKTYPE number; nil: unsupported.
    public init?(dataLinkType: Int32) {
        switch dataLinkType {
        case 1: self = .ethernet
        case 113: self = .linuxCooked
        case 276: self = .linuxCooked2
        // DLT_RAW is 12 on Linux (14 on some BSDs); files store LINKTYPE_RAW, 101.
        case 12, 14, 101: self = .rawIP
        case 0: self = .null
        case 108: self = .loop
        default: return nil
        }
    }
}

/// Which way a captured frame went, when the link header says (Linux cooked headers do).
public enum LinkDirection: Sendable, Equatable {
    /// Addressed to this host, or broadcast/multicast, or seen in promiscuous mode.
    case incoming
    /// Sent by this host: never a client's packet.
    case outgoing
    /// The header does not say (Ethernet, raw IP, NULL/LOOP).
    case unknown
}

/// What one frame holds.
public enum LinkFrame: Sendable, Equatable {
    /// An IPv4 packet at `range` of the frame (the link header and any Ethernet padding left
    /// out), not a fragment.
    case ipv4(range: Range<Int>, direction: LinkDirection)
    /// An IPv6 packet at `range` of the frame (cut to its payload length; the rest of the frame
    /// for a payload length of 0, a jumbogram or a GSO capture), handed on by
    /// `LinkCaptureCounters.accept` like IPv4.
    case ipv6(range: Range<Int>, direction: LinkDirection)
    /// An IPv4 fragment: it cannot be copied without reassembly (counted and skipped).
    case ipv4Fragment
    /// Neither IPv4 nor IPv6 (ARP, LLDP, ...).
    case notIP
    /// Shorter than its link header or than its IP header's total length (a snaplen cut).
    case truncated
}

/// Removes the link header of a captured frame. Pure: the I/O layer hands it libpcap's bytes.
public enum LinkLayerDecoder {
    static let etherTypeIPv4: UInt16 = 0x0800
    static let etherTypeIPv6: UInt16 = 0x86DD
    /// 802.1Q, 802.1ad (QinQ) and the older 0x9100 QinQ tag: 4 bytes each, stackable.
    static let vlanTags: Set<UInt16> = [0x8100, 0x88A8, 0x9100]

    public static func decode(_ frame: UnsafeRawBufferPointer, linkType: LinkType) -> LinkFrame {
        switch linkType {
        case .ethernet:
            var offset = 12
            while true {
                guard let type = bigEndian16(frame, offset) else { return .truncated }
                if vlanTags.contains(type) {
                    offset += 4
                    continue
                }
                return network(frame, start: offset + 2, etherType: type, direction: .unknown)
            }
        case .linuxCooked:
            // packet type (2), ARPHRD (2), address length (2), address (8), protocol (2).
            guard let packetType = bigEndian16(frame, 0), let type = bigEndian16(frame, 14) else { return .truncated }
            return network(frame, start: 16, etherType: type, direction: direction(packetType))
        case .linuxCooked2:
            // protocol (2), reserved (2), ifindex (4), ARPHRD (2), packet type (1), address
            // length (1), address (8).
            guard frame.count >= 20, let type = bigEndian16(frame, 0) else { return .truncated }
            return network(frame, start: 20, etherType: type, direction: direction(UInt16(frame[10])))
        case .rawIP:
            guard let first = frame.first else { return .truncated }
            return byVersion(frame, start: 0, version: first >> 4)
        case .null, .loop:
            guard frame.count >= 4 else { return .truncated }
            let bigEndian = UInt32(frame[0]) << 24 | UInt32(frame[1]) << 16 | UInt32(frame[2]) << 8 | UInt32(frame[3])
            // NULL's family is in the writing host's byte order: accept either.
            let family = linkType == .loop || bigEndian < 0x0001_0000 ? bigEndian : bigEndian.byteSwapped
            switch family {
            case 2: return ipv4(frame, start: 4, direction: .unknown)
            // AF_INET6 differs between systems: Linux 10, BSDs 24, 28 and 30.
            case 10, 24, 28, 30: return ipv6(frame, start: 4, direction: .unknown)
            default: return .notIP
            }
        }
    }

    /// PACKET_OUTGOING (4) is this host's own packet; every other type came in.
    private static func direction(_ packetType: UInt16) -> LinkDirection {
        packetType == 4 ? .outgoing : .incoming
    }

    private static func network(
        _ frame: UnsafeRawBufferPointer, start: Int, etherType: UInt16, direction: LinkDirection
    ) -> LinkFrame {
        switch etherType {
        case etherTypeIPv4: ipv4(frame, start: start, direction: direction)
        case etherTypeIPv6: ipv6(frame, start: start, direction: direction)
        default: .notIP
        }
    }

    private static func byVersion(_ frame: UnsafeRawBufferPointer, start: Int, version: UInt8) -> LinkFrame {
        switch version {
        case 4: ipv4(frame, start: start, direction: .unknown)
        case 6: ipv6(frame, start: start, direction: .unknown)
        default: .notIP
        }
    }

    /// The IPv4 packet from `start`, cut to its total length (Ethernet pads short frames).
    private static func ipv4(_ frame: UnsafeRawBufferPointer, start: Int, direction: LinkDirection) -> LinkFrame {
        guard frame.count >= start + 20, let totalLength = bigEndian16(frame, start + 2),
            let fragment = bigEndian16(frame, start + 6)
        else { return .truncated }
        let headerLength = Int(frame[start] & 0x0F) * 4
        guard frame[start] >> 4 == 4, headerLength >= 20, Int(totalLength) >= headerLength else { return .notIP }
        guard start + Int(totalLength) <= frame.count else { return .truncated }
        // More fragments (0x2000) or a fragment offset: part of a packet only.
        if fragment & 0x3FFF != 0 { return .ipv4Fragment }
        return .ipv4(range: start..<(start + Int(totalLength)), direction: direction)
    }

    /// The IPv6 packet from `start`: the 40-byte header and its payload length.
    private static func ipv6(_ frame: UnsafeRawBufferPointer, start: Int, direction: LinkDirection) -> LinkFrame {
        guard frame.count >= start + 40, let payloadLength = bigEndian16(frame, start + 4) else { return .truncated }
        guard frame[start] >> 4 == 6 else { return .notIP }
        let end = payloadLength == 0 ? frame.count : start + 40 + Int(payloadLength)
        guard end <= frame.count else { return .truncated }
        return .ipv6(range: start..<end, direction: direction)
    }

    private static func bigEndian16(_ frame: UnsafeRawBufferPointer, _ offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= frame.count else { return nil }
        return UInt16(frame[offset]) << 8 | UInt16(frame[offset + 1])
    }
}

/// What a link-layer source skipped, for the stats line.
public struct LinkCaptureCounters: Sendable, Equatable, MetricSet {
    /// Frames neither IPv4 nor IPv6.
    public var notIP = 0
    /// IPv6 packets handed on (a share of the capture, not a loss).
    public var ipv6 = 0
    /// IPv4 fragments, not reassembled.
    public var fragments = 0
    /// Frames cut short (snaplen, or a truncated file's last record).
    public var truncated = 0
    /// This host's own packets (Linux cooked `outgoing`): never a client's.
    public var outgoing = 0

    public init() {}

    /// Counts a frame that is not handed on; returns the IP packet's range otherwise.
    public mutating func accept(_ frame: LinkFrame) -> Range<Int>? {
        switch frame {
        case .ipv4(let range, let direction):
            if direction == .outgoing {
                outgoing += 1
                return nil
            }
            return range
        case .ipv6(let range, let direction):
            if direction == .outgoing {
                outgoing += 1
                return nil
            }
            ipv6 += 1
            return range
        case .ipv4Fragment: fragments += 1
        case .notIP: notIP += 1
        case .truncated: truncated += 1
        }
        return nil
    }

    /// `truncated` is not here: every source shows it, as `capture_truncated` (`CaptureCounters`).
    public static let metrics: [MetricDeclaration<Self>] = [
        .counter("capture_not_ip", \.notIP, "Frames that were not IP: skipped"),
        .counter("capture_ipv6", \.ipv6, "IPv6 packets captured and handed to the engine (not a loss)"),
        .counter("capture_fragments", \.fragments, "IPv4 fragments (not reassembled): skipped"),
        .counter("capture_outgoing", \.outgoing, "This host's own packets in a Linux cooked capture: skipped"),
    ]
}
