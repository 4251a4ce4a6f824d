/*
 * pagemap.h: reading /proc/<pid>/pagemap and the per-frame tables
 * /proc/kpageflags, /proc/kpagecount and (Keel only) /proc/kpageorder, as
 * Linux's Documentation/admin-guide/mm/pagemap.rst describes them. Shared by
 * vmwalk, test_pagemap and test_vmwalk.
 *
 * pagemap: one 64-bit entry per virtual page, at offset (vaddr / 4096) * 8.
 *     bits 0-54  PFN if present (swap type 0-4 and offset 5-54 if swapped)
 *     bit  55    soft-dirty        bit 56  exclusively mapped
 *     bit  57    uffd-wp           bit 58  guard region
 *     bit  61    file page or shared anonymous
 *     bit  62    swapped           bit 63  present
 * kpageflags / kpagecount / kpageorder: one 64-bit word per PFN, at pfn * 8.
 */
#ifndef PAGEMAP_H
#define PAGEMAP_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_SOFT_DIRTY (1ULL << 55)
#define PM_EXCLUSIVE (1ULL << 56)
#define PM_UFFD_WP (1ULL << 57)
#define PM_GUARD (1ULL << 58)
#define PM_FILE (1ULL << 61)
#define PM_SWAP (1ULL << 62)
#define PM_PRESENT (1ULL << 63)

/* include/uapi/linux/kernel-page-flags.h */
enum {
    KPF_LOCKED, KPF_ERROR, KPF_REFERENCED, KPF_UPTODATE, KPF_DIRTY, KPF_LRU, KPF_ACTIVE, KPF_SLAB,
    KPF_WRITEBACK, KPF_RECLAIM, KPF_BUDDY, KPF_MMAP, KPF_ANON, KPF_SWAPCACHE, KPF_SWAPBACKED,
    KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL, KPF_HUGE, KPF_UNEVICTABLE, KPF_HWPOISON, KPF_NOPAGE, KPF_KSM,
    KPF_THP, KPF_OFFLINE, KPF_ZERO_PAGE, KPF_IDLE, KPF_PGTABLE,
    KPF_RESERVED = 32, KPF_MLOCKED, KPF_MAPPEDTODISK, KPF_PRIVATE, KPF_PRIVATE_2, KPF_OWNER_PRIVATE,
    KPF_ARCH, KPF_UNCACHED, KPF_SOFTDIRTY, KPF_ARCH_2,
};

static const char *const kpf_names[64] = {
    [KPF_LOCKED] = "LOCKED", [KPF_ERROR] = "ERROR", [KPF_REFERENCED] = "REFERENCED",
    [KPF_UPTODATE] = "UPTODATE", [KPF_DIRTY] = "DIRTY", [KPF_LRU] = "LRU", [KPF_ACTIVE] = "ACTIVE",
    [KPF_SLAB] = "SLAB", [KPF_WRITEBACK] = "WRITEBACK", [KPF_RECLAIM] = "RECLAIM", [KPF_BUDDY] = "BUDDY",
    [KPF_MMAP] = "MMAP", [KPF_ANON] = "ANON", [KPF_SWAPCACHE] = "SWAPCACHE", [KPF_SWAPBACKED] = "SWAPBACKED",
    [KPF_COMPOUND_HEAD] = "COMPOUND_HEAD", [KPF_COMPOUND_TAIL] = "COMPOUND_TAIL", [KPF_HUGE] = "HUGE",
    [KPF_UNEVICTABLE] = "UNEVICTABLE", [KPF_HWPOISON] = "HWPOISON", [KPF_NOPAGE] = "NOPAGE", [KPF_KSM] = "KSM",
    [KPF_THP] = "THP", [KPF_OFFLINE] = "OFFLINE", [KPF_ZERO_PAGE] = "ZERO_PAGE", [KPF_IDLE] = "IDLE",
    [KPF_PGTABLE] = "PGTABLE", [KPF_RESERVED] = "RESERVED", [KPF_MLOCKED] = "MLOCKED",
    [KPF_MAPPEDTODISK] = "MAPPEDTODISK", [KPF_PRIVATE] = "PRIVATE", [KPF_PRIVATE_2] = "PRIVATE_2",
    [KPF_OWNER_PRIVATE] = "OWNER_PRIVATE", [KPF_ARCH] = "ARCH", [KPF_UNCACHED] = "UNCACHED",
    [KPF_SOFTDIRTY] = "SOFTDIRTY", [KPF_ARCH_2] = "ARCH_2",
};

/* /proc/kpageorder (Keel only): a free frame on a CPU's list, and a frame that is not free. */
#define KPAGEORDER_PCP 0x100ULL
#define KPAGEORDER_NOT_FREE (~0ULL)

/* One 64-bit word of FILE at INDEX * 8; false (errno set) if the read failed or hit the end. */
static inline bool pm_read_word(const char *file, uint64_t index, uint64_t *out)
{
    int fd = open(file, O_RDONLY);
    if (fd < 0) return false;
    ssize_t n = pread(fd, out, 8, (off_t)(index * 8));
    int saved = errno;
    close(fd);
    if (n != 8) {
        errno = n < 0 ? saved : ERANGE;
        return false;
    }
    return true;
}

/* The pagemap entry of ADDR in process PID (0: this process). */
static inline bool pm_entry(int pid, uintptr_t addr, uint64_t *out)
{
    char path[64];
    if (pid) snprintf(path, sizeof path, "/proc/%d/pagemap", pid);
    else snprintf(path, sizeof path, "/proc/self/pagemap");
    return pm_read_word(path, addr / 4096, out);
}

/* The kpageflags, kpagecount or kpageorder word of a frame. */
static inline bool pm_kpageflags(uint64_t pfn, uint64_t *out) { return pm_read_word("/proc/kpageflags", pfn, out); }
static inline bool pm_kpagecount(uint64_t pfn, uint64_t *out) { return pm_read_word("/proc/kpagecount", pfn, out); }
static inline bool pm_kpageorder(uint64_t pfn, uint64_t *out) { return pm_read_word("/proc/kpageorder", pfn, out); }

#endif
