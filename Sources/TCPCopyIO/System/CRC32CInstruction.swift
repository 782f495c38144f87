import CTCPCopyShims
import TCPCopyCore

/// Has the core's `CRC32C` (the answers' digests of `--compare`) use the CPU's CRC-32C
/// instruction when it has one (SSE4.2, ARMv8 CRC), the table otherwise. Each daemon calls it
/// once at startup, before it reads any packet or starts another thread. Returns whether the
/// instruction is used.
@discardableResult
func useCRC32CInstruction() -> Bool {
    guard CTCPCopyShims_crc32c_hardware_available() == 1 else { return false }
    CRC32C.installAccelerated(CTCPCopyShims_crc32c_update)
    return true
}
