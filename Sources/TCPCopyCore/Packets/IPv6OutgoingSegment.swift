/// A TCP segment encoded as a whole IPv6 packet, for a raw `AF_INET6` socket with
/// `IPV6_HDRINCL` or the link-layer sink: the IPv6 counterpart of `OutgoingSegment`, with the
/// TCP checksum over the IPv6 pseudo-header (RFC 8200 §8.1). No extension headers are written.
public struct IPv6OutgoingSegment: Hashable, Sendable {
    public var source: IPv6Address
    public var destination: IPv6Address
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequence: SequenceNumber
    public var acknowledgment: SequenceNumber
    public var flags: TCPFlags
    public var window: UInt16
    public var hopLimit: UInt8
    public var options: TCPOptions
    public var payload: ArraySlice<UInt8>

    public init(
        source: IPv6Address, destination: IPv6Address, sourcePort: UInt16,
        destinationPort: UInt16, sequence: SequenceNumber, acknowledgment: SequenceNumber,
        flags: TCPFlags, window: UInt16, hopLimit: UInt8 = 64, options: TCPOptions = TCPOptions(),
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
        self.hopLimit = hopLimit
        self.options = options
        self.payload = payload
    }

    public var encodedLength: Int { 60 + options.encodedLength + payload.count }

    /// 40 bytes of IPv6, 20 of TCP and at most 40 of options.
    static let maximumHeaderLength = 100

    public func encode() -> [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// Appends the packet to `bytes`: the headers written on the stack, then the payload, so
    /// nothing is allocated once `bytes` has the capacity. Traffic class and flow label are 0
    /// (the kernel does not fill a flow label into a packet given whole).
    public func encode(into bytes: inout [UInt8]) {
        let tcpHeaderLength = 20 + options.encodedLength
        let headerLength = 40 + tcpHeaderLength
        let tcpLength = tcpHeaderLength + payload.count
        precondition(tcpHeaderLength <= 60, "TCP options longer than 40 bytes")
        // The payload length field has 16 bits; jumbograms are not something we send.
        precondition(tcpLength <= Int(UInt16.max), "segment too long for an IPv6 payload length")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maximumHeaderLength) { buffer in
            var header = HeaderWriter(UnsafeMutableRawBufferPointer(buffer))
            // IPv6 header: version 6, traffic class 0, flow label 0.
            header.put(UInt32(6) << 28)
            header.put(UInt16(tcpLength))
            header.put(IPv6TCPPacket.NextHeader.tcp)
            header.put(hopLimit)
            header.put(source)
            header.put(destination)
            header.putTCPHeader(
                sourcePort: sourcePort, destinationPort: destinationPort, sequence: sequence,
                acknowledgment: acknowledgment, flags: flags, window: window, options: options)
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var sum = InternetChecksum()
            sum.addIPv6PseudoHeader(
                source: source, destination: destination, upperLayerLength: UInt32(tcpLength),
                nextHeader: IPv6TCPPacket.NextHeader.tcp)
            sum.add(UnsafeRawBufferPointer(rebasing: raw[40..<headerLength]))
            payload.withUnsafeBytes { sum.add($0) }
            raw.storeBytes(of: sum.value.bigEndian, toByteOffset: 56, as: UInt16.self)
            bytes.reserveCapacity(bytes.count + headerLength + payload.count)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<headerLength]))
        }
        bytes.append(contentsOf: payload)
    }
}

extension HeaderWriter {
    mutating func put(_ address: IPv6Address) {
        put(UInt32(truncatingIfNeeded: address.high >> 32))
        put(UInt32(truncatingIfNeeded: address.high))
        put(UInt32(truncatingIfNeeded: address.low >> 32))
        put(UInt32(truncatingIfNeeded: address.low))
    }
}

extension InternetChecksum {
    public mutating func add(address: IPv6Address) {
        add(half: address.high)
        add(half: address.low)
    }

    private mutating func add(half: UInt64) {
        add(word: UInt16(truncatingIfNeeded: half >> 48))
        add(word: UInt16(truncatingIfNeeded: half >> 32))
        add(word: UInt16(truncatingIfNeeded: half >> 16))
        add(word: UInt16(truncatingIfNeeded: half))
    }

    /// The pseudo-header of RFC 8200 §8.1: source, destination (the final one, should a
    /// routing header name others), the upper-layer length as 32 bits, three zero bytes and the
    /// next header. Adding the upper-layer bytes after it gives that layer's checksum.
    public mutating func addIPv6PseudoHeader(
        source: IPv6Address, destination: IPv6Address, upperLayerLength: UInt32, nextHeader: UInt8
    ) {
        add(address: source)
        add(address: destination)
        add(word: UInt16(upperLayerLength >> 16))
        add(word: UInt16(upperLayerLength & 0xFFFF))
        add(word: 0)
        add(word: UInt16(nextHeader))
    }
}
