#include "CTCPCopyShims.h"

#include <string.h>

// CRC-32C by the CPU's own instruction: SSE4.2's crc32 on x86-64, ARMv8's crc32c on aarch64.
// Both take the reflected Castagnoli polynomial, the state kept inverted as in the core's
// table version (TCPCopyCore's CRC32C), so the results are the same bit for bit. The
// instruction is used only when the CPU has it (checked once, at run time); the functions are
// compiled for it on their own (target attributes), so the rest of the binary keeps the
// baseline instruction set.

#if defined(__x86_64__)

#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *bytes, size_t count) {
    uint64_t state = ~crc;
    // Single bytes up to an 8-byte boundary, then 8 bytes an instruction.
    while (count > 0 && ((uintptr_t)bytes & 7) != 0) {
        state = _mm_crc32_u8((uint32_t)state, *bytes++);
        count--;
    }
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        state = _mm_crc32_u64(state, word);
        bytes += 8;
        count -= 8;
    }
    while (count > 0) {
        state = _mm_crc32_u8((uint32_t)state, *bytes++);
        count--;
    }
    return ~(uint32_t)state;
}

int CTCPCopyShims_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

uint32_t CTCPCopyShims_crc32c_update(uint32_t crc, const void *bytes, size_t count) {
    return crc32c_sse42(crc, (const uint8_t *)bytes, count);
}

#elif defined(__aarch64__)

#include <arm_acle.h>
#include <sys/auxv.h>

#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif

__attribute__((target("crc"))) static uint32_t crc32c_armv8(uint32_t crc, const uint8_t *bytes, size_t count) {
    uint32_t state = ~crc;
    while (count > 0 && ((uintptr_t)bytes & 7) != 0) {
        state = __crc32cb(state, *bytes++);
        count--;
    }
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        state = __crc32cd(state, word);
        bytes += 8;
        count -= 8;
    }
    while (count > 0) {
        state = __crc32cb(state, *bytes++);
        count--;
    }
    return ~state;
}

int CTCPCopyShims_crc32c_hardware_available(void) { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0 ? 1 : 0; }

uint32_t CTCPCopyShims_crc32c_update(uint32_t crc, const void *bytes, size_t count) {
    return crc32c_armv8(crc, (const uint8_t *)bytes, count);
}

#else

int CTCPCopyShims_crc32c_hardware_available(void) { return 0; }

uint32_t CTCPCopyShims_crc32c_update(uint32_t crc, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return crc;
}

#endif
