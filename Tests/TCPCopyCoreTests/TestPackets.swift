import Testing

@testable import TCPCopyCore

/// The hosts and ports every scenario uses: a real client talking to the online server, whose
/// packets are copied to the target.
enum Lab {
    static let client = IPv4Address(192, 168, 1, 10)
    static let clientPort: UInt16 = 40000
    static let online = IPv4Address(10, 0, 0, 1)
    static let onlinePort: UInt16 = 80
    static let target = IPv4Address(10, 0, 0, 2)
    static let targetPort: UInt16 = 8080
    static let key = RouteKey(
        clientAddress: .v4(client), clientPort: clientPort, targetAddress: .v4(target), targetPort: targetPort)
}

/// Builds the bytes the raw socket on the online server captures from one client connection.
struct CapturedClient {
    var address = Lab.client
    var port = Lab.clientPort
    var server = Lab.online
    var serverPort = Lab.onlinePort

    func bytes(
        seq: UInt32, ack: UInt32 = 0, _ flags: TCPFlags, options: TCPOptions = TCPOptions(),
        payload: [UInt8] = [], window: UInt16 = 502
    ) -> [UInt8] {
        OutgoingSegment(
            source: .v4(address), destination: .v4(server), sourcePort: port, destinationPort: serverPort,
            sequence: SequenceNumber(seq), acknowledgment: SequenceNumber(ack), flags: flags,
            window: window, options: options, payload: payload[...]
        ).encode()
    }

    /// The captured packet decoded as the engine decodes it, with its payload.
    func packet(
        seq: UInt32, ack: UInt32 = 0, _ flags: TCPFlags, options: TCPOptions = TCPOptions(),
        payload: [UInt8] = []
    ) -> (packet: TCPPacket, payload: ArraySlice<UInt8>) {
        let raw = bytes(seq: seq, ack: ack, flags, options: options, payload: payload)
        let packet = try! TCPPacket.parse(raw, requirePayload: true).get()
        return (packet, raw[packet.headerLength...])
    }
}

/// Builds the response headers intercept relays for one emulated session: the target's packets
/// to the client, cut after the TCP header, total length still counting the payload.
struct RespondingTarget {
    var key = Lab.key

    func header(
        seq: UInt32, ack: UInt32, _ flags: TCPFlags, length: Int = 0,
        options: TCPOptions = TCPOptions(), window: UInt16 = 65535
    ) -> ResponseHeader {
        let packet = OutgoingSegment(
            source: key.targetAddress, destination: key.clientAddress, sourcePort: key.targetPort,
            destinationPort: key.clientPort, sequence: SequenceNumber(seq),
            acknowledgment: SequenceNumber(ack), flags: flags, window: window, options: options,
            payload: [UInt8](repeating: 0x61, count: length)[...]
        ).encode()
        return ResponseHeader(packetPrefix: packet)!
    }
}

/// A deterministic generator (SplitMix64), so that "random" tests fail the same way every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RandomNumberGenerator {
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }
}

/// The RFC 1071 sum written the plain way, to check our checksums against something that
/// shares no code with them.
func referenceChecksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var index = 0
    while index < bytes.count {
        let high = UInt32(bytes[index]) << 8
        let low = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        sum += high | low
        index += 2
    }
    while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
    return ~UInt16(sum)
}

extension Array where Element == SessionAction {
    var sent: [OutgoingSegment] {
        compactMap {
            if case .send(let segment) = $0 { return segment }
            return nil
        }
    }

    var outcome: SessionOutcome? {
        for case .finished(_, let outcome) in self { return outcome }
        return nil
    }
}

extension Array where Element == EngineAction {
    var sent: [OutgoingSegment] {
        compactMap {
            if case .send(let segment) = $0 { return segment }
            return nil
        }
    }

    var controls: [ControlMessage] {
        compactMap {
            if case .control(let message, _) = $0 { return message }
            return nil
        }
    }
}
