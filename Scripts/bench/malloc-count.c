// malloc-count.c: an LD_PRELOAD library for Scripts/bench/engine.sh that counts heap
// allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) in
// `enginebench_allocations`, which the engine bench reads around each measured call.
// Each call is passed on to glibc's own allocator.
#include <errno.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

unsigned long enginebench_allocations;

void *malloc(size_t size) {
    enginebench_allocations++;
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    enginebench_allocations++;
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    enginebench_allocations++;
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    enginebench_allocations++;
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    enginebench_allocations++;
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    enginebench_allocations++;
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}
