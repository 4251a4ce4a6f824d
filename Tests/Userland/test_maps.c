/*
 * test_maps: /proc/self/maps (Linux: show_map_vma() in fs/proc/task_mmu.c).
 *
 * Every line must parse in Linux's format (see procfs.h); the lines are sorted
 * and disjoint; the program's own PT_LOAD segments, its stack and its heap
 * show up where the ELF headers, a local variable and brk(0) say; and a
 * mapping made and reshaped here shows exactly the lines Linux prints for it,
 * including the merge when mprotect makes neighbours alike again.
 */
#include "ktest.h"
#include "procfs.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096UL

extern const Elf64_Ehdr __ehdr_start; /* the linker's name for our own ELF header */

static struct map_line maps[MAX_MAP_LINES];
static int nmaps;

static bool load_maps(const char *name)
{
    char why[256];
    nmaps = read_maps(maps, MAX_MAP_LINES, why, sizeof why);
    return ok(nmaps > 0, name, "%s", why);
}

static uintptr_t page_down(uintptr_t a) { return a & ~(PAGE - 1); }
static uintptr_t page_up(uintptr_t a) { return (a + PAGE - 1) & ~(PAGE - 1); }

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Reads /proc/self/maps `chunk` bytes per read(2); returns the length. */
static long read_chunked(char *buf, size_t size, size_t chunk)
{
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t n;
    while (len + chunk < size && (n = read(fd, buf + len, chunk)) > 0)
        len += (size_t)n;
    close(fd);
    return (long)len;
}

static void test_format(void)
{
    static char big[1 << 16], small[1 << 16];
    long a = read_chunked(big, sizeof big, sizeof big / 2);
    long b = read_chunked(small, sizeof small, 13);
    ok(a > 0 && a == b && memcmp(big, small, (size_t)a) == 0, "same text read whole or 13 bytes at a time",
       "lengths %ld and %ld", a, b);

    if (!load_maps("every line parses in Linux's format"))
        return;
    bool sorted = true;
    for (int i = 0; i + 1 < nmaps; i++)
        sorted &= maps[i].end <= maps[i + 1].start;
    ok(sorted, "lines sorted and non-overlapping", "out of order");
}

static void test_program(void)
{
    const struct map_line *text = find_map(maps, nmaps, (uintptr_t)&test_program);
    ok(text && strcmp(text->perms, "r-xp") == 0, "the line holding our code is r-xp", "%s",
       text ? text->perms : "no line");
    ok(text && strcmp(base_name(text->path), "test_maps") == 0, "the code line names the program",
       "path \"%s\"", text ? text->path : "");

    const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)&__ehdr_start + __ehdr_start.e_phoff);
    for (int i = 0; i < __ehdr_start.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        char want[5] = {
            ph[i].p_flags & PF_R ? 'r' : '-', ph[i].p_flags & PF_W ? 'w' : '-',
            ph[i].p_flags & PF_X ? 'x' : '-', 'p', '\0',
        };
        char name[64];
        snprintf(name, sizeof name, "PT_LOAD at %#lx is %s at its file offset",
                 (unsigned long)ph[i].p_vaddr, want);
        const struct map_line *m = find_map(maps, nmaps, ph[i].p_vaddr);
        unsigned long off = m ? m->offset + (page_down(ph[i].p_vaddr) - m->start) : 0;
        ok(m && strcmp(m->perms, want) == 0 && off == page_down(ph[i].p_offset), name,
           "line %s offset %#lx, segment offset %#lx", m ? m->perms : "(none)", off,
           (unsigned long)ph[i].p_offset);
    }
}

static void test_stack(void)
{
    volatile int local = 0;
    const struct map_line *m = find_map(maps, nmaps, (uintptr_t)&local);
    ok(m && strcmp(m->path, "[stack]") == 0 && strcmp(m->perms, "rw-p") == 0,
       "[stack] rw-p holds a local variable", "line %s \"%s\"", m ? m->perms : "(none)",
       m ? m->path : "");
}

static void check_heap_line(uintptr_t brk, const char *name)
{
    const struct map_line *m = find_map(maps, nmaps, brk - 1);
    ok(m && strcmp(m->path, "[heap]") == 0 && m->end == page_up(brk) && strcmp(m->perms, "rw-p") == 0,
       name, "brk %#lx, line %lx-%lx %s \"%s\"", (unsigned long)brk,
       m ? (unsigned long)m->start : 0, m ? (unsigned long)m->end : 0, m ? m->perms : "",
       m ? m->path : "");
}

/* musl's malloc may or may not take its metadata from brk; Linux shows
 * [heap] once the break has moved past its start. */
static void test_heap(uintptr_t initial_brk)
{
    static void *volatile block; /* volatile: the compiler may not drop the malloc */
    block = malloc(24);
    uintptr_t brk = (uintptr_t)syscall(SYS_brk, 0);
    if (brk > page_up(initial_brk) && load_maps("maps after malloc"))
        check_heap_line(brk, "malloc's brk growth shows as [heap]");
    else
        skip("malloc's brk growth shows as [heap]", "malloc did not move the break");

    uintptr_t grown = (uintptr_t)syscall(SYS_brk, brk + 3 * PAGE);
    if (ok(grown == brk + 3 * PAGE, "grow the break by 3 pages", "brk returned %#lx", (unsigned long)grown)
        && load_maps("maps after brk")) {
        check_heap_line(grown, "[heap] ends at the page holding the new break");
    }
    syscall(SYS_brk, brk);
    free(block);
}

static void expect_line(uintptr_t start, uintptr_t end, const char *perms, const char *name)
{
    const struct map_line *m = find_map(maps, nmaps, start);
    ok(m && m->start == start && m->end == end && strcmp(m->perms, perms) == 0 && m->offset == 0 &&
           m->dev_major == 0 && m->dev_minor == 0 && m->inode == 0 && m->path[0] == '\0',
       name, "want %lx-%lx %s 00000000 00:00 0, got %lx-%lx %s %lx %x:%x %lu \"%s\"",
       (unsigned long)start, (unsigned long)end, perms, m ? (unsigned long)m->start : 0,
       m ? (unsigned long)m->end : 0, m ? m->perms : "", m ? m->offset : 0, m ? m->dev_major : 0,
       m ? m->dev_minor : 0, m ? m->inode : 0, m ? m->path : "");
}

/* Maps `prot` pages with a PROT_NONE guard page either side, so that no other
 * mapping can sit next to them and merge in; returns the first page. */
static unsigned char *guarded_map(size_t pages, int prot)
{
    unsigned char *r = mmap(NULL, (pages + 2) * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED)
        return NULL;
    void *p = mmap(r + PAGE, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int lines_over(uintptr_t a, size_t pages)
{
    return maps_overlapping(maps, nmaps, a, a + pages * PAGE);
}

static void test_split(void)
{
    unsigned char *p = guarded_map(3, PROT_READ);
    if (!ok(p != NULL, "mmap 3 read-only pages", "errno %d", errno))
        return;
    uintptr_t a = (uintptr_t)p;
    if (load_maps("maps after mmap")) {
        ok(lines_over(a, 3) == 1, "3 fresh pages are one line", "%d lines", lines_over(a, 3));
        expect_line(a, a + 3 * PAGE, "r--p", "the line is r--p, anonymous, exact range");
        expect_line(a - PAGE, a, "---p", "the guard page below is ---p");
    }
    ok(mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect the middle page rw",
       "errno %d", errno);
    if (load_maps("maps after mprotect")) {
        ok(lines_over(a, 3) == 3, "mprotect split it into 3 lines", "%d lines", lines_over(a, 3));
        expect_line(a, a + PAGE, "r--p", "first piece r--p");
        expect_line(a + PAGE, a + 2 * PAGE, "rw-p", "middle piece rw-p");
        expect_line(a + 2 * PAGE, a + 3 * PAGE, "r--p", "last piece r--p");
    }
    munmap(p - PAGE, 5 * PAGE);
    if (load_maps("maps after munmap"))
        ok(maps_overlapping(maps, nmaps, a - PAGE, a + 4 * PAGE) == 0, "munmap removes every line",
           "lines remain");
}

/* Writable from the start, so that every piece is alike again afterwards: a
 * read-only private page made writable gets VM_ACCOUNT (commit charge), which
 * Linux 6.1 keeps after it is made read-only again, so there the r--p case
 * never merges back (newer kernels do merge it). */
static void test_merge(void)
{
    unsigned char *p = guarded_map(3, PROT_READ | PROT_WRITE);
    if (!ok(p != NULL, "mmap 3 writable pages", "errno %d", errno))
        return;
    uintptr_t a = (uintptr_t)p;
    ok(mprotect(p + PAGE, PAGE, PROT_READ) == 0, "mprotect the middle page read-only", "errno %d", errno);
    if (load_maps("maps after mprotect"))
        ok(lines_over(a, 3) == 3, "mprotect split it into 3 lines", "%d lines", lines_over(a, 3));
    ok(mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0, "mprotect it back", "errno %d", errno);
    if (load_maps("maps after mprotect back")) {
        ok(lines_over(a, 3) == 1, "alike neighbours merge back into one line", "%d lines",
           lines_over(a, 3));
        expect_line(a, a + 3 * PAGE, "rw-p", "the merged line has the whole range");
    }
    munmap(p - PAGE, 5 * PAGE);
}

int main(void)
{
    uintptr_t initial_brk = (uintptr_t)syscall(SYS_brk, 0);
    test_format();
    if (nmaps <= 0)
        return ktest_done();
    test_program();
    test_stack();
    test_heap(initial_brk);
    test_split();
    test_merge();
    return ktest_done();
}
