/// The TCP options the emulation needs. Everything else a client sent (SACK blocks in the
/// online server's sequence space, MPTCP, fast open) would confuse the target, so outgoing
/// packets carry only these, rebuilt.
public struct TCPOptions: Hashable, Sendable {
    public struct Timestamp: Hashable, Sendable {
        public var value: UInt32
        public var echoReply: UInt32
        public init(value: UInt32, echoReply: UInt32) {
            self.value = value
            self.echoReply = echoReply
        }
    }

    public var maximumSegmentSize: UInt16?
    public var windowScale: UInt8?
    public var sackPermitted = false
    public var timestamp: Timestamp?

    public init(
        maximumSegmentSize: UInt16? = nil, windowScale: UInt8? = nil, sackPermitted: Bool = false,
        timestamp: Timestamp? = nil
    ) {
        self.maximumSegmentSize = maximumSegmentSize
        self.windowScale = windowScale
        self.sackPermitted = sackPermitted
        self.timestamp = timestamp
    }

    /// Reads the options area of a TCP header. A malformed option ends the walk: the options
    /// already read are kept, as a receiving stack would.
    public init<C: Collection>(parsing bytes: C) where C.Element == UInt8, C.Index == Int {
        // After the handshake a Linux or BSD peer sends this one layout on every segment (NOP,
        // NOP, timestamp): read it without the walk, which is costly on every packet
        // (docs/performance-history.md).
        if bytes.count == 12,
            let usual = bytes.withContiguousStorageIfAvailable({ Self.usualTimestamp(UnsafeRawBufferPointer($0)) }),
            let usual
        {
            timestamp = usual
            return
        }
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let kind = bytes[index]
            if kind == 0 { break }  // end of options
            if kind == 1 {  // no-operation
                index += 1
                continue
            }
            guard index + 1 < bytes.endIndex else { break }
            let length = Int(bytes[index + 1])
            guard length >= 2, index + length <= bytes.endIndex else { break }
            let body = bytes[(index + 2)..<(index + length)]
            switch (kind, length) {
            case (2, 4): maximumSegmentSize = body.readUInt16(at: 0)
            case (3, 3): windowScale = body.first
            case (4, 2): sackPermitted = true
            case (8, 10):
                if let value = body.readUInt32(at: 0), let echo = body.readUInt32(at: 4) {
                    timestamp = Timestamp(value: value, echoReply: echo)
                }
            default: break
            }
            index += length
        }
    }

    /// The timestamp of twelve option bytes laid out as NOP, NOP, timestamp; nil otherwise.
    private static func usualTimestamp(_ bytes: UnsafeRawBufferPointer) -> Timestamp? {
        guard bytes.count == 12,
            UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self)) == 0x0101_080A
        else { return nil }
        return Timestamp(
            value: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
            echoReply: UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
    }

    /// Encoded size: always a multiple of four.
    public var encodedLength: Int {
        (maximumSegmentSize == nil ? 0 : 4) + (windowScale == nil ? 0 : 4)
            + (sackPermitted ? 4 : 0) + (timestamp == nil ? 0 : 12)
    }

    /// Appends the options, padded with no-operations to 32-bit alignment.
    public func encode(into bytes: inout [UInt8]) {
        if let mss = maximumSegmentSize {
            bytes += [2, 4]
            bytes.appendUInt16(mss)
        }
        if let scale = windowScale { bytes += [1, 3, 3, scale] }
        if sackPermitted { bytes += [1, 1, 4, 2] }
        if let ts = timestamp {
            bytes += [1, 1, 8, 10]
            bytes.appendUInt32(ts.value)
            bytes.appendUInt32(ts.echoReply)
        }
    }
}

extension TCPOptions {
    /// Writes the options as `encode(into:)` appends them.
    func write(to header: inout HeaderWriter) {
        if let mss = maximumSegmentSize {
            header.put(UInt8(2))
            header.put(UInt8(4))
            header.put(mss)
        }
        if let scale = windowScale {
            header.put(UInt32(0x0103_0300) | UInt32(scale))  // NOP, kind 3, length 3, shift
        }
        if sackPermitted { header.put(UInt32(0x0101_0402)) }  // NOP, NOP, kind 4, length 2
        if let ts = timestamp {
            header.put(UInt32(0x0101_080A))  // NOP, NOP, kind 8, length 10
            header.put(ts.value)
            header.put(ts.echoReply)
        }
    }
}
