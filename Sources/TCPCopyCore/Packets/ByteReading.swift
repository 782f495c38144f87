/// Big-endian reads and writes on byte arrays. Reads return nil on short input instead of
/// trapping, because every byte we read came from the network or a peer.
extension Collection where Element == UInt8, Index == Int {
    // Always inlined: a dozen instructions each, and a packet's decoder reads eight fields.
    @inlinable @inline(__always) func readUInt16(at offset: Int) -> UInt16? {
        guard offset >= 0, offset + 2 <= count else { return nil }
        let base = startIndex + offset
        return UInt16(self[base]) << 8 | UInt16(self[base + 1])
    }

    @inlinable @inline(__always) func readUInt32(at offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= count else { return nil }
        let base = startIndex + offset
        return UInt32(self[base]) << 24 | UInt32(self[base + 1]) << 16
            | UInt32(self[base + 2]) << 8 | UInt32(self[base + 3])
    }
}

extension Array where Element == UInt8 {
    @inlinable mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }

    @inlinable mutating func appendUInt32(_ value: UInt32) {
        appendUInt16(UInt16(value >> 16))
        appendUInt16(UInt16(value & 0xFFFF))
    }
}

extension UnsafeMutableRawBufferPointer {
    /// Writes `value` big-endian at `offset` (no alignment needed); traps outside the buffer.
    @inlinable func storeBigEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= count, "write outside the buffer")
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }
}
