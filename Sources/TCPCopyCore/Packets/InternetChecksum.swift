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
        // 32-bit words, then a last 16-bit one: a ones'-complement sum of big-endian 32-bit words
        // folds to the same 16-bit sum (RFC 1071 §2(B)), in half the steps.
        while index + 4 <= count {
            sum &+= UInt64(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self)))
            index += 4
        }
        if index + 1 < count {
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
