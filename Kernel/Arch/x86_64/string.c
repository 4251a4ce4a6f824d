/*
 * The C library functions the Swift compiler and runtime call (memcpy for
 * struct copies and arrays, memset for zeroing, ...), and clear_page and
 * copy_page, which the kernel calls for whole frames (Kernel/Arch/x86_64/
 * PageBytes.swift). Swift code must not zero or copy pages with memset or
 * memcpy: LLVM expands a call of constant size inline, as `rep stosb` /
 * `rep movsb`, and never reaches these functions.
 *
 * Loops of 8-byte moves, 64 bytes per iteration, rather than `rep movsb` /
 * `rep stosb`: those are fast on hardware with ERMS, but QEMU's TCG runs every
 * iteration of a `rep` instruction as its own trip through the translated code,
 * so a 4 KiB page cost 4096 of them (Keel's anonymous fault spent most of its
 * time there). Linux makes the same choice on CPUs
 * without ERMS (clear_page_orig, copy_page_regs, memcpy_orig). The kernel is
 * built freestanding (no builtins), so the compiler does not turn these loops
 * back into calls to themselves; `make check` would show such a call.
 */
#include <stddef.h>
#include <stdint.h>

typedef uint64_t __attribute__((may_alias, aligned(1))) word_t;

void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (; n >= 64; n -= 64, d += 64, s += 64) {
        word_t a = ((const word_t *)s)[0], b = ((const word_t *)s)[1];
        word_t c = ((const word_t *)s)[2], e = ((const word_t *)s)[3];
        word_t f = ((const word_t *)s)[4], g = ((const word_t *)s)[5];
        word_t h = ((const word_t *)s)[6], i = ((const word_t *)s)[7];
        ((word_t *)d)[0] = a; ((word_t *)d)[1] = b; ((word_t *)d)[2] = c; ((word_t *)d)[3] = e;
        ((word_t *)d)[4] = f; ((word_t *)d)[5] = g; ((word_t *)d)[6] = h; ((word_t *)d)[7] = i;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(word_t *)d = *(const word_t *)s;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    word_t w = (uint64_t)(unsigned char)c * 0x0101010101010101ULL;
    for (; n >= 64; n -= 64, d += 64) {
        ((word_t *)d)[0] = w; ((word_t *)d)[1] = w; ((word_t *)d)[2] = w; ((word_t *)d)[3] = w;
        ((word_t *)d)[4] = w; ((word_t *)d)[5] = w; ((word_t *)d)[6] = w; ((word_t *)d)[7] = w;
    }
    for (; n >= 8; n -= 8, d += 8)
        *(word_t *)d = w;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    if ((uintptr_t)dst <= (uintptr_t)src || (uintptr_t)dst >= (uintptr_t)src + n)
        return memcpy(dst, src, n);
    /* Overlapping with dst above src: copy backwards. */
    unsigned char *d = (unsigned char *)dst + n;
    const unsigned char *s = (const unsigned char *)src + n;
    for (; n >= 8; n -= 8) {
        d -= 8; s -= 8;
        *(word_t *)d = *(const word_t *)s;
    }
    while (n--)
        *--d = *--s;
    return dst;
}

/* One 4 KiB page of zeros, 64 bytes per iteration. Linux: clear_page_orig */
void clear_page(void *page) {
    word_t *p = page;
    for (int i = 0; i < 4096 / 8; i += 8) {
        p[i] = 0; p[i + 1] = 0; p[i + 2] = 0; p[i + 3] = 0;
        p[i + 4] = 0; p[i + 5] = 0; p[i + 6] = 0; p[i + 7] = 0;
    }
}

/* One 4 KiB page, 64 bytes per iteration. Linux: copy_page_regs */
void copy_page(void *dst, const void *src) {
    memcpy(dst, src, 4096);
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *p = a, *q = b;
    for (size_t i = 0; i < n; i++)
        if (p[i] != q[i]) return p[i] < q[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}
