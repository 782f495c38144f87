import CTCPCopyShims

/// Makes glibc's malloc hand large freed buffers back to the kernel at once.
///
/// glibc serves allocations of 128 KiB and more with their own mappings, unmapped when freed,
/// but raises that threshold to the size of each such buffer freed (up to 32 MiB): after the
/// first tables and queues grow past it, their next buffers come from the heap, and the old
/// buffer a growth leaves behind stays resident there until something reuses its space. The
/// daemons' tables and queues grow by doubling under load. Setting the threshold keeps it
/// where it is (what it saved: docs/performance-history.md, "Private memory").
func keepLargeAllocationsMapped() {
    _ = CTCPCopyShims_mallopt_mmap_threshold(128 * 1024)
}
