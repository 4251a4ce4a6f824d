/*
 * test_brk: the program break (Linux: sys_brk() in mm/mmap.c).
 *
 * The raw system call, not musl's brk()/sbrk() (musl refuses to move the
 * break for its callers). Linux's conventions: brk(0) and every refused
 * request return the current break unchanged; a successful request returns
 * the new break exactly as asked, even when not page aligned; the heap is
 * mapped up to the page holding the break; pages given back and taken again
 * come back zero-filled. Nothing here calls malloc, so the break is ours.
 */
#include "ktest.h"

#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1UL << 20)

extern char _end[]; /* the linker's end of .bss */

static uintptr_t sys_brk(uintptr_t addr)
{
    return (uintptr_t)syscall(SYS_brk, addr);
}

static uintptr_t page_align(uintptr_t a)
{
    return (a + PAGE - 1) & ~(PAGE - 1);
}

/* Returns the first nonzero byte in [p, p+len), or NULL. */
static const unsigned char *first_nonzero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return p + i;
    return NULL;
}

/* Fills every page with its own byte so a misplaced page shows. */
static void fill(unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i / PAGE + 1);
}

static const unsigned char *first_mismatch(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != (unsigned char)(i / PAGE + 1))
            return p + i;
    return NULL;
}

int main(void)
{
    uintptr_t initial = sys_brk(0);
    ok(initial != 0 && initial >= (uintptr_t)_end, "brk(0) is at or past the end of .bss",
       "brk(0) = %#lx, _end = %p", (unsigned long)initial, (void *)_end);
    ok(sys_brk(0) == initial, "brk(0) again is unchanged", "%#lx", (unsigned long)sys_brk(0));

    uintptr_t base = page_align(initial);
    unsigned char *heap = (unsigned char *)base;
    uintptr_t top = base + MIB;

    uintptr_t r = sys_brk(top);
    ok(r == top, "grow by 1 MiB returns the new break", "%#lx, want %#lx", (unsigned long)r,
       (unsigned long)top);
    ok(sys_brk(0) == top, "brk(0) reports the new break", "%#lx", (unsigned long)sys_brk(0));
    const unsigned char *nz = first_nonzero(heap, MIB);
    ok(nz == NULL, "grown heap is zero-filled", "nonzero byte at %p", (const void *)nz);
    fill(heap, MIB);
    const unsigned char *bad = first_mismatch(heap, MIB);
    ok(bad == NULL, "grown heap is writable", "byte at %p did not keep its value", (const void *)bad);

    r = sys_brk(base);
    ok(r == base, "shrink back returns the old break", "%#lx, want %#lx", (unsigned long)r,
       (unsigned long)base);
    r = sys_brk(top);
    ok(r == top, "grow again", "%#lx, want %#lx", (unsigned long)r, (unsigned long)top);
    nz = first_nonzero(heap, MIB);
    ok(nz == NULL, "pages given back and regrown are zero-filled", "nonzero byte at %p",
       (const void *)nz);

    /* An unaligned break: the whole page holding it is usable, and moving the
     * break inside that page changes nothing mapped. */
    uintptr_t odd = top + 100;
    r = sys_brk(odd);
    ok(r == odd, "unaligned break returned exactly", "%#lx, want %#lx", (unsigned long)r,
       (unsigned long)odd);
    volatile unsigned char *last = (unsigned char *)(page_align(odd) - 1);
    heap[MIB + 99] = 0x5a;
    *last = 0xa5;
    ok(*last == 0xa5 && sys_brk(0) == odd, "the page holding the break is mapped",
       "byte at %p reads %#x", (void *)last, *last);
    r = sys_brk(top + 50);
    ok(r == top + 50 && heap[MIB + 99] == 0x5a, "shrinking inside a page keeps the page",
       "brk %#lx, byte %#x", (unsigned long)r, heap[MIB + 99]);

    /* Refused requests: the break and the heap's contents stay as they are.
     * (Below the start: Linux's limit is start_brk, or end_data on kernels
     * built with CONFIG_COMPAT_BRK and brk randomization off.) */
    r = sys_brk(top);
    ok(r == top, "grow back to a page boundary", "%#lx, want %#lx", (unsigned long)r,
       (unsigned long)top);
    fill(heap, MIB);
    r = sys_brk(initial - PAGE);
    ok(r == top, "brk below the heap's start is refused", "returned %#lx, want %#lx",
       (unsigned long)r, (unsigned long)top);
    r = sys_brk(1);
    ok(r == top, "brk(1) is refused", "returned %#lx, want %#lx", (unsigned long)r,
       (unsigned long)top);
    r = sys_brk(1UL << 47);
    ok(r == top, "brk past the user address space is refused", "returned %#lx, want %#lx",
       (unsigned long)r, (unsigned long)top);
    r = sys_brk(0xffff800000000000UL);
    ok(r == top, "brk into kernel space is refused", "returned %#lx, want %#lx",
       (unsigned long)r, (unsigned long)top);
    bad = first_mismatch(heap, MIB);
    ok(bad == NULL && sys_brk(0) == top, "refused requests leave the heap intact",
       "byte at %p changed, brk %#lx", (const void *)bad, (unsigned long)sys_brk(0));

    r = sys_brk(initial);
    ok(r == initial, "back to the initial break", "%#lx, want %#lx", (unsigned long)r,
       (unsigned long)initial);
    return ktest_done();
}
