/// A TCP segment tcpcopy sends to the target, encoded as a whole IP packet of its addresses'
/// family: IPv4 for a raw `IP_HDRINCL` socket, IPv6 for a raw `AF_INET6` socket given the whole
/// packet, either for the link-layer sink. The checksums are computed here: a captured packet's
/// own checksum cannot be trusted (veth and offloads leave it partial) and we rewrite the
/// headers anyway. Both addresses must be of one family.
public struct OutgoingSegment: Hashable, Sendable {
    // The small fields sit in the padding after each address (17 bytes, aligned to 8), as in
    // `TCPPacket`: 104 bytes instead of 112, in every session and engine action that sends.
    public var source: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var window: UInt16
    public var destination: IPAddress
    public var flags: TCPFlags
    public var sequence: SequenceNumber
    public var acknowledgment: SequenceNumber
    public var options: TCPOptions
    public var payload: ArraySlice<UInt8>

    public init(
        source: IPAddress, destination: IPAddress, sourcePort: UInt16,
        destinationPort: UInt16, sequence: SequenceNumber, acknowledgment: SequenceNumber,
        flags: TCPFlags, window: UInt16, options: TCPOptions = TCPOptions(),
        payload: ArraySlice<UInt8> = []
    ) {
        self.source = source
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.window = window
        self.destination = destination
        self.flags = flags
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.options = options
        self.payload = payload
    }

    /// The IP header's length: 20 (IPv4, no options) or 40 (IPv6, no extension headers).
    public var ipHeaderLength: Int { destination.family == .ipv4 ? 20 : 40 }

    public var encodedLength: Int { ipHeaderLength + 20 + options.encodedLength + payload.count }

    /// The packet: the IP header, the TCP header with options, and the payload.
    public func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// The longest header we write: 40 bytes of IPv6, 20 of TCP, and at most 40 of options.
    static let maximumHeaderLength = 100

    /// Appends the packet to `bytes`. The headers are written on the stack and appended with
    /// the payload in two copies: no temporary array, and no allocation once `bytes` has the
    /// capacity (the daemon reuses one buffer).
    public func encode(into bytes: inout [UInt8]) {
        let tcpHeaderLength = 20 + options.encodedLength
        let headerLength = ipHeaderLength + tcpHeaderLength
        let tcpLength = tcpHeaderLength + payload.count
        precondition(tcpHeaderLength <= 60, "TCP options longer than 40 bytes")
        // Neither length field takes more than 16 bits; jumbograms are not something we send.
        precondition(ipHeaderLength + tcpLength <= Int(UInt16.max), "segment too long for one IP packet")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maximumHeaderLength) { buffer in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var header = HeaderWriter(raw)
            var tcpSum = InternetChecksum()
            switch (source, destination) {
            case (.v4(let source), .v4(let destination)):
                header.put(UInt8(0x45))
                header.put(UInt8(0))
                header.put(UInt16(headerLength + payload.count))
                header.put(UInt16(0))  // ID 0: the kernel picks one
                header.put(UInt16(0x4000))  // DF
                header.put(UInt8(64))  // TTL
                header.put(UInt8(6))  // TCP
                header.put(UInt16(0))  // checksum, below
                header.put(source.value)
                header.put(destination.value)
                var ipSum = InternetChecksum()
                ipSum.add(UnsafeRawBufferPointer(rebasing: raw[0..<20]))
                raw.storeBytes(of: ipSum.value.bigEndian, toByteOffset: 10, as: UInt16.self)
                tcpSum.add(address: source)
                tcpSum.add(address: destination)
                tcpSum.add(word: 6)
                tcpSum.add(word: UInt16(tcpLength))
            case (.v6(let source), .v6(let destination)):
                // Version 6, traffic class 0, flow label 0 (the kernel fills no flow label into
                // a packet given whole); hop limit 64.
                header.put(UInt32(6) << 28)
                header.put(UInt16(tcpLength))
                header.put(IPv6TCPPacket.NextHeader.tcp)
                header.put(UInt8(64))
                header.put(source)
                header.put(destination)
                tcpSum.addIPv6PseudoHeader(
                    source: source, destination: destination, upperLayerLength: UInt32(tcpLength),
                    nextHeader: IPv6TCPPacket.NextHeader.tcp)
            default:
                preconditionFailure("a segment's addresses are of one family")
            }
            let tcp = ipHeaderLength
            header.putTCPHeader(
                sourcePort: sourcePort, destinationPort: destinationPort, sequence: sequence,
                acknowledgment: acknowledgment, flags: flags, window: window, options: options)
            tcpSum.add(UnsafeRawBufferPointer(rebasing: raw[tcp..<headerLength]))
            payload.withUnsafeBytes { tcpSum.add($0) }
            raw.storeBytes(of: tcpSum.value.bigEndian, toByteOffset: tcp + 16, as: UInt16.self)
            bytes.reserveCapacity(bytes.count + headerLength + payload.count)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<headerLength]))
        }
        bytes.append(contentsOf: payload)
    }
}

/// Writes big-endian header fields one after another into memory the caller owns.
struct HeaderWriter {
    /// The TCP header of a segment we send, after the IP header of either family: the
    /// checksum is left 0 for the caller, who knows the pseudo-header.
    @inline(__always)
    mutating func putTCPHeader(
        sourcePort: UInt16, destinationPort: UInt16, sequence: SequenceNumber,
        acknowledgment: SequenceNumber, flags: TCPFlags, window: UInt16, options: TCPOptions
    ) {
        put(sourcePort)
        put(destinationPort)
        put(sequence.rawValue)
        put(flags.contains(.ack) ? acknowledgment.rawValue : 0)
        put(UInt8((20 + options.encodedLength) / 4) << 4)
        put(flags.rawValue)
        put(window)
        put(UInt16(0))  // checksum, filled in by the caller
        put(UInt16(0))  // urgent pointer
        options.write(to: &self)
    }

    private let buffer: UnsafeMutableRawBufferPointer
    private(set) var offset = 0

    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }

    mutating func put(_ value: UInt8) {
        buffer[offset] = value
        offset += 1
    }

    mutating func put(_ value: UInt16) {
        precondition(offset + 2 <= buffer.count)
        buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt16.self)
        offset += 2
    }

    mutating func put(_ value: UInt32) {
        precondition(offset + 4 <= buffer.count)
        buffer.storeBytes(of: value.bigEndian, toByteOffset: offset, as: UInt32.self)
        offset += 4
    }
}
