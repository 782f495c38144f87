import CTCPCopyShims
import TCPCopyCore
import Testing

/// The CPU's CRC-32C (the C shim `useCRC32CInstruction` installs) against the core's table.
/// Called directly rather than installed: installing would change `CRC32C` for the other suites
/// of this process while they run.
struct CRC32CInstructionTests {
    static let available = CTCPCopyShims_crc32c_hardware_available() == 1

    static func instruction(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        CTCPCopyShims_crc32c_update(crc, bytes.baseAddress, bytes.count)
    }

    @Test func x86AndArmHaveIt() {
        #if arch(x86_64) || arch(arm64)
            // Every x86-64 server of the last 15 years has SSE4.2, and ARMv8.1 made CRC32 mandatory:
            // a false here means the run-time check is broken, not the CPU.
            #expect(Self.available)
        #endif
    }

    @Test(.enabled(if: available)) func knownVectors() {
        let vectors: [([UInt8], UInt32)] = [
            (Array("123456789".utf8), 0xE306_9283),
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
            ((0..<32).map { UInt8(31 - $0) }, 0x113F_DB5C),
            ([], 0),
        ]
        for (bytes, expected) in vectors {
            #expect(bytes.withUnsafeBytes { Self.instruction(0, $0) } == expected)
        }
    }

    /// Every length 0...300 at every start 0..<8 of an 8-byte boundary (the instruction's
    /// aligned loop and both byte loops), from a fresh CRC and from a running one.
    @Test(.enabled(if: available)) func matchesTheTableOnEveryLengthAndAlignment() {
        var random = SplitMix(seed: 0xC0FF_EE25)
        let buffer = (0..<(300 + 16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        var compared = 0
        buffer.withUnsafeBytes { all in
            for start in 0..<8 {
                for length in 0...300 {
                    let bytes = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    let running = UInt32(truncatingIfNeeded: random.next())
                    #expect(
                        Self.instruction(0, bytes) == CRC32C.portableUpdate(0, bytes), "start \(start) length \(length)"
                    )
                    #expect(
                        Self.instruction(running, bytes) == CRC32C.portableUpdate(running, bytes),
                        "start \(start) length \(length) running")
                    compared += 2
                }
            }
        }
        #expect(compared == 8 * 301 * 2)
    }

    /// Split anywhere, the two halves' running CRC is the whole buffer's (as the daemons feed
    /// pieces of one packet).
    @Test(.enabled(if: available)) func continuesAcrossSplits() {
        let bytes = (0..<257).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        bytes.withUnsafeBytes { all in
            let whole = CRC32C.portableUpdate(0, all)
            for split in 0...all.count {
                let first = Self.instruction(0, UnsafeRawBufferPointer(rebasing: all[..<split]))
                #expect(Self.instruction(first, UnsafeRawBufferPointer(rebasing: all[split...])) == whole)
            }
        }
    }
}

/// A fixed pseudo-random sequence (SplitMix64).
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
