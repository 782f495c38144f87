/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI and SCTP
/// (RFC 3720 B.4), used to digest answers. Pure Swift by table (slicing-by-8), no C; the I/O
/// layer installs the CPU's own CRC-32C instruction at startup when it has one
/// (`installAccelerated`), which every `update` over contiguous bytes then uses.
///
/// `combine` joins the CRCs of two adjacent byte ranges without their bytes (zlib's
/// `crc32_combine` method: the first CRC is shifted over the second range's length by
/// multiplying with powers of the CRC's matrix over GF(2)), so that per-segment CRCs taken by
/// intercept can be joined in sequence order by tcpcopy.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
        return crc
    }

    /// The CRC of `bytes`.
    public static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt32 {
        update(0, with: bytes)
    }

    /// `slicedTables[k][b]`: the table's value for byte `b` followed by `k` zero bytes, so that
    /// eight bytes are taken at a time (slicing-by-8: a few times faster than one at a time).
    static let slicedTables: [UInt32] = {
        var tables = table
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables.append((previous >> 8) ^ table[Int(previous & 0xFF)])
            }
        }
        return tables
    }()

    /// The CRC of the bytes `crc` covered followed by `bytes` (`update(0, ...)` starts one).
    public static func update<Bytes: Sequence<UInt8>>(_ crc: UInt32, with bytes: Bytes) -> UInt32 {
        if let result = bytes.withContiguousStorageIfAvailable({ update(crc, buffer: UnsafeRawBufferPointer($0)) }) {
            return result
        }
        var state = ~crc
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                state = (state >> 8) ^ table[Int((state ^ UInt32(byte)) & 0xFF)]
            }
        }
        return ~state
    }

    /// An `update` over `count` bytes at a pointer, computing exactly what `portableUpdate` does.
    public typealias Accelerated = @convention(c) (UInt32, UnsafeRawPointer?, Int) -> UInt32

    /// The CPU's instruction, when the I/O layer installed it. `nonisolated(unsafe)`: written
    /// once, by each daemon's startup before it reads any packet or starts any other thread
    /// (`installAccelerated`), and only read after that; an `update` that ran before it would
    /// have computed the same value by table anyway. (Passing the function to every reporter and
    /// tracker instead would thread one C pointer through the pure core's whole compare path.)
    nonisolated(unsafe) private static var accelerated: Accelerated?

    /// Makes every later `update` over contiguous bytes use `implementation`, which must give
    /// the table's results (the test suite checks the C shim's against `portableUpdate`). Call
    /// once, at startup, before any other thread runs.
    public static func installAccelerated(_ implementation: Accelerated) { accelerated = implementation }

    /// Whether `update` uses an installed instruction rather than the table.
    public static var isAccelerated: Bool { accelerated != nil }

    private static func update(_ crc: UInt32, buffer: UnsafeRawBufferPointer) -> UInt32 {
        if let accelerated { return accelerated(crc, buffer.baseAddress, buffer.count) }
        return portableUpdate(crc, buffer)
    }

    /// `update` by table, whatever is installed: the reference the instruction is tested against.
    public static func portableUpdate(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        var state = ~crc
        slicedTables.withUnsafeBufferPointer { tables in
            var index = 0
            let count = buffer.count
            while index + 8 <= count {
                let low = state ^ buffer.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian
                let high = buffer.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self).littleEndian
                state =
                    tables[7 * 256 + Int(low & 0xFF)] ^ tables[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ tables[5 * 256 + Int((low >> 16) & 0xFF)] ^ tables[4 * 256 + Int(low >> 24)]
                    ^ tables[3 * 256 + Int(high & 0xFF)] ^ tables[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ tables[256 + Int((high >> 16) & 0xFF)] ^ tables[Int(high >> 24)]
                index += 8
            }
            while index < count {
                state = (state >> 8) ^ tables[Int((state ^ UInt32(buffer[index])) & 0xFF)]
                index += 1
            }
        }
        return ~state
    }

    /// The CRC of range A followed by range B, from `crcA`, `crcB` and B's length only.
    public static func combine(_ crcA: UInt32, _ crcB: UInt32, lengthB: UInt64) -> UInt32 {
        var crc = crcA
        var length = lengthB
        var power = 0
        while length != 0 {
            if length & 1 == 1 { crc = times(zeroBytesOperators[power], crc) }
            length >>= 1
            power += 1
        }
        return crc ^ crcB
    }

    /// `zeroBytesOperators[k]` appends 2^k zero bytes to a CRC's state: a 32×32 matrix over
    /// GF(2), one column a word. Built once, so that `combine` costs one matrix-vector product
    /// per set bit of the length rather than re-squaring from one bit each time.
    static let zeroBytesOperators: [[UInt32]] = {
        // The operator of one zero bit: the polynomial in the first column, then a shift.
        var operatorOfBits = [UInt32](repeating: 0, count: 32)
        operatorOfBits[0] = polynomial
        var row: UInt32 = 1
        for index in 1..<32 {
            operatorOfBits[index] = row
            row <<= 1
        }
        for _ in 0..<3 { operatorOfBits = square(operatorOfBits) }  // 2, 4, 8 bits: one byte
        var operators = [operatorOfBits]
        for _ in 1..<64 { operators.append(square(operators[operators.count - 1])) }
        return operators
    }()

    private static func times(_ matrix: [UInt32], _ vector: UInt32) -> UInt32 {
        var sum: UInt32 = 0
        var vector = vector
        var index = 0
        while vector != 0 {
            if vector & 1 == 1 { sum ^= matrix[index] }
            vector >>= 1
            index += 1
        }
        return sum
    }

    private static func square(_ matrix: [UInt32]) -> [UInt32] {
        matrix.map { times(matrix, $0) }
    }
}
