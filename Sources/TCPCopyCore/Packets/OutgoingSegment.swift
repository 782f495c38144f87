/// A TCP segment tcpcopy sends to the target, encoded as a whole IPv4 packet for a raw
/// `IP_HDRINCL` socket. Both checksums are computed here: a captured packet's own checksum
/// cannot be trusted (veth and offloads leave it partial) and we rewrite the headers anyway.
public struct OutgoingSegment: Hashable, Sendable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequence: SequenceNumber
    public var acknowledgment: SequenceNumber
    public var flags: TCPFlags
    public var window: UInt16
    public var options: TCPOptions
    public var payload: ArraySlice<UInt8>

    public init(
        source: IPv4Address, destination: IPv4Address, sourcePort: UInt16,
        destinationPort: UInt16, sequence: SequenceNumber, acknowledgment: SequenceNumber,
        flags: TCPFlags, window: UInt16, options: TCPOptions = TCPOptions(),
        payload: ArraySlice<UInt8> = []
    ) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.window = window
        self.options = options
        self.payload = payload
    }

    public var encodedLength: Int { 40 + options.encodedLength + payload.count }

    /// The IPv4 packet: a 20-byte header (no options, DF set, TTL 64, ID 0 so that the kernel
    /// picks one), the TCP header with options, and the payload.
    public func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    public func encode(into bytes: inout [UInt8]) {
        let start = bytes.count
        let tcpHeaderLength = 20 + options.encodedLength
        let totalLength = 20 + tcpHeaderLength + payload.count
        bytes.reserveCapacity(start + totalLength)
        // IPv4 header.
        bytes += [0x45, 0]
        bytes.appendUInt16(UInt16(totalLength))
        bytes += [0, 0, 0x40, 0, 64, 6, 0, 0]  // ID 0, DF, TTL 64, TCP, checksum later
        bytes.appendUInt32(source.value)
        bytes.appendUInt32(destination.value)
        var ipSum = InternetChecksum()
        bytes.withUnsafeBytes { ipSum.add(UnsafeRawBufferPointer(rebasing: $0[start..<(start + 20)])) }
        bytes.writeUInt16(ipSum.value, at: start + 10)
        // TCP header.
        let tcp = bytes.count
        bytes.appendUInt16(sourcePort)
        bytes.appendUInt16(destinationPort)
        bytes.appendUInt32(sequence.rawValue)
        bytes.appendUInt32(flags.contains(.ack) ? acknowledgment.rawValue : 0)
        bytes += [UInt8(tcpHeaderLength / 4) << 4, flags.rawValue]
        bytes.appendUInt16(window)
        bytes += [0, 0, 0, 0]  // checksum, urgent pointer
        options.encode(into: &bytes)
        bytes += payload
        var tcpSum = InternetChecksum()
        tcpSum.add(address: source)
        tcpSum.add(address: destination)
        tcpSum.add(word: 6)
        tcpSum.add(word: UInt16(tcpHeaderLength + payload.count))
        bytes.withUnsafeBytes { tcpSum.add(UnsafeRawBufferPointer(rebasing: $0[tcp...])) }
        bytes.writeUInt16(tcpSum.value, at: tcp + 16)
    }
}
