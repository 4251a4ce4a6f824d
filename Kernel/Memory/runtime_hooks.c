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

/* Swift's Dictionary sizes its hash table with ceil(). Values beyond 2^52 are
 * already integers. */
double ceil(double x) {
    if (!(x == x) || x >= 4503599627370496.0 || x <= -4503599627370496.0) return x;
    double truncated = (double)(long long)x;
    return truncated < x ? truncated + 1.0 : truncated;
}
