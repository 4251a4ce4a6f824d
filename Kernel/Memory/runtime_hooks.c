/*
 * posix_memalign and free under their C names for the Swift runtime; the
 * allocator behind them is Swift (Kernel/Memory/RuntimeHooks.swift).
 */
#include <stddef.h>

void *keel_runtime_alloc(size_t size, size_t alignment);
void keel_runtime_free(void *p);

int posix_memalign(void **out, size_t alignment, size_t size) {
    *out = keel_runtime_alloc(size, alignment);
    return 0;
}

void free(void *p) { keel_runtime_free(p); }
