/// The 16-bit ones'-complement sum of RFC 1071, used by IPv4, TCP and our control frames.
public struct InternetChecksum: Sendable {
    private var sum: UInt64 = 0
    /// A byte left over from an odd-length chunk, waiting for its partner.
    private var pendingHighByte: UInt8?

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        let count = bytes.count
        if let high = pendingHighByte, count > 0 {
            sum &+= UInt64(high) << 8 | UInt64(bytes[0])
            pendingHighByte = nil
            index = 1
        }
        // Eight bytes at a time, in the machine's byte order, with end-around carry: a ones'-
        // complement sum of 64-bit words folds to that of the 16-bit words (2⁶⁴ - 1 is a
        // multiple of 2¹⁶ - 1), and summing byte-swapped words gives the byte-swapped sum
        // (RFC 1071 §2), so one swap at the end puts it in network order.
        if count - index >= 8 {
            var wide: UInt64 = 0
            while count - index >= 8 {
                let (total, carry) = wide.addingReportingOverflow(
                    bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                wide = total &+ (carry ? 1 : 0)
                index += 8
            }
            var folded = (wide & 0xFFFF_FFFF) &+ (wide >> 32)
            folded = (folded & 0xFFFF) &+ (folded >> 16)
            folded = (folded & 0xFFFF) &+ (folded >> 16)
            folded = (folded & 0xFFFF) &+ (folded >> 16)
            sum &+= UInt64(UInt16(bigEndian: UInt16(truncatingIfNeeded: folded)))
        }
        while index + 1 < count {
            sum &+= UInt64(bytes[index]) << 8 | UInt64(bytes[index + 1])
            index += 2
        }
        if index < count { pendingHighByte = bytes[index] }
    }

    public mutating func add<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if let done: Void = bytes.withContiguousStorageIfAvailable({
            add(UnsafeRawBufferPointer($0))
        }) {
            return done
        }
        add(Array(bytes))
    }

    public mutating func add(word: UInt16) {
        precondition(pendingHighByte == nil, "add(word:) on an odd byte boundary")
        sum &+= UInt64(word)
    }

    public mutating func add(address: IPv4Address) {
        add(word: UInt16(address.value >> 16))
        add(word: UInt16(address.value & 0xFFFF))
    }

    /// The checksum to store in a header: the complement of the folded sum.
    public var value: UInt16 {
        var total = sum
        if let high = pendingHighByte { total &+= UInt64(high) << 8 }
        while total >> 16 != 0 { total = (total & 0xFFFF) + (total >> 16) }
        return ~UInt16(total)
    }

    public static func of<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var sum = InternetChecksum()
        sum.add(bytes)
        return sum.value
    }
}
