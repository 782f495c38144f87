/// What the IPv6 header of an outgoing segment needs: its addresses written big-endian, and
/// the pseudo-header of its TCP checksum.
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
