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

    /// The longest header we write: 20 bytes of IPv4, 20 of TCP, and at most 24 of options
    /// (MSS, window scale, SACK permitted, timestamps).
    static let maximumHeaderLength = 64

    /// Appends the packet to `bytes`. The headers are written on the stack and appended with
    /// the payload in two copies: no temporary array, and no allocation once `bytes` has the
    /// capacity (the daemon reuses one buffer).
    public func encode(into bytes: inout [UInt8]) {
        let tcpHeaderLength = 20 + options.encodedLength
        let headerLength = 20 + tcpHeaderLength
        let totalLength = headerLength + payload.count
        precondition(headerLength <= Self.maximumHeaderLength, "options longer than we ever write")
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maximumHeaderLength) { buffer in
            var header = HeaderWriter(UnsafeMutableRawBufferPointer(buffer))
            // IPv4 header.
            header.put(UInt8(0x45))
            header.put(UInt8(0))
            header.put(UInt16(totalLength))
            header.put(UInt16(0))  // ID 0: the kernel picks one
            header.put(UInt16(0x4000))  // DF
            header.put(UInt8(64))  // TTL
            header.put(UInt8(6))  // TCP
            header.put(UInt16(0))  // checksum, below
            header.put(source.value)
            header.put(destination.value)
            header.putTCPHeader(
                sourcePort: sourcePort, destinationPort: destinationPort, sequence: sequence,
                acknowledgment: acknowledgment, flags: flags, window: window, options: options)
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var ipSum = InternetChecksum()
            ipSum.add(UnsafeRawBufferPointer(rebasing: raw[0..<20]))
            raw.storeBytes(of: ipSum.value.bigEndian, toByteOffset: 10, as: UInt16.self)
            var tcpSum = InternetChecksum()
            tcpSum.add(address: source)
            tcpSum.add(address: destination)
            tcpSum.add(word: 6)
            tcpSum.add(word: UInt16(tcpHeaderLength + payload.count))
            tcpSum.add(UnsafeRawBufferPointer(rebasing: raw[20..<headerLength]))
            payload.withUnsafeBytes { tcpSum.add($0) }
            raw.storeBytes(of: tcpSum.value.bigEndian, toByteOffset: 36, as: UInt16.self)
            bytes.reserveCapacity(bytes.count + totalLength)
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
