/*
 * test_mempolicy: NUMA memory policies as Linux defines them (mm/mempolicy.c,
 * mm/migrate.c): set_mempolicy, get_mempolicy, mbind, move_pages and
 * migrate_pages through raw syscall() (musl has no numaif.h).
 *
 * On any machine: the argument checks (EINVAL, EFAULT, EPERM, ESRCH, ENODEV),
 * get_mempolicy round trips (the mode word, the mask as stored, STATIC keeping
 * the caller's mask, the zeroed tail of a long mask), fork and execve keeping
 * the task policy, fork keeping a VMA's, mbind splitting a mapping in
 * /proc/self/maps and merging it back, move_pages' per-page answers and a move
 * that keeps the bytes, migrate_pages on a child.
 * With two nodes or more (the allowed nodes from MPOL_F_MEMS_ALLOWED): MPOL_BIND
 * to node 1 puts pages there, MPOL_INTERLEAVE alternates page by page,
 * move_pages and migrate_pages move pages between nodes keeping their bytes,
 * and /proc/vmstat's numa_interleave and numa_other count them.
 *
 * One difference between Linux versions: move_pages' status for an anonymous
 * page never touched is -EFAULT up to 6.11 (follow_page with FOLL_DUMP) and
 * -ENOENT from 6.12 (folio_walk); Keel answers as 6.1 does.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"
#include "procfs.h"

#define PAGE 4096UL
#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_LOCAL 4
#define MPOL_PREFERRED_MANY 5
#define MPOL_F_STATIC_NODES (1 << 15)
#define MPOL_F_RELATIVE_NODES (1 << 14)
#define MPOL_F_NUMA_BALANCING (1 << 13)
#define MPOL_F_NODE 1
#define MPOL_F_ADDR 2
#define MPOL_F_MEMS_ALLOWED 4
#define MPOL_MF_STRICT 1
#define MPOL_MF_MOVE 2
#define MPOL_MF_MOVE_ALL 4
#define MPOL_MF_LAZY 8

static long set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode)
{
    return syscall(SYS_set_mempolicy, mode, mask, maxnode);
}

static long get_mempolicy(int *mode, unsigned long *mask, unsigned long maxnode, void *addr, unsigned long flags)
{
    return syscall(SYS_get_mempolicy, mode, mask, maxnode, addr, flags);
}

static long mbind(void *start, unsigned long len, int mode, const unsigned long *mask, unsigned long maxnode,
                  unsigned flags)
{
    return syscall(SYS_mbind, start, len, mode, mask, maxnode, flags);
}

static long move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status, int flags)
{
    return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

static long migrate_pages(int pid, unsigned long maxnode, const unsigned long *old, const unsigned long *new)
{
    return syscall(SYS_migrate_pages, pid, maxnode, old, new);
}

/* The task's policy mode word and mask (maxnode 65: one word). */
static int policy_of(void *addr, unsigned long *mask)
{
    int mode = -1;
    *mask = ~0UL;
    if (get_mempolicy(&mode, mask, 65, addr, addr ? MPOL_F_ADDR : 0) != 0)
        return -1000 - errno;
    return mode;
}

static int node_of(void *page)
{
    int status = -1000;
    void *pages[1] = { page };
    if (move_pages(0, 1, pages, NULL, &status, 0) != 0)
        return -1000 - errno;
    return status;
}

/* How many lines of /proc/self/maps lie in [start, end). */
static int maps_lines_in(char *start, char *end)
{
    static struct map_line maps[MAX_MAP_LINES];
    char why[256];
    int n = read_maps(maps, MAX_MAP_LINES, why, sizeof why), count = 0;
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (maps[i].start >= (uintptr_t)start && maps[i].end <= (uintptr_t)end)
            count++;
    return count;
}

/* A /proc/vmstat counter, or -1. */
static long vmstat(const char *name)
{
    static char text[16384];
    if (read_whole("/proc/vmstat", text, sizeof text) < 0)
        return -1;
    size_t len = strlen(name);
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ' ')
            return atol(line + len + 1);
    return -1;
}

static char *map_pages(int n)
{
    char *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("not ok - mmap: errno %d\n", errno);
        exit(1);
    }
    return p;
}

static void fill(char *p, int n, char seed)
{
    for (int i = 0; i < n; i++)
        memset(p + i * PAGE, seed + i, PAGE);
}

static bool intact(const char *p, int n, char seed)
{
    for (int i = 0; i < n; i++)
        for (unsigned long j = 0; j < PAGE; j++)
            if (p[i * PAGE + j] != (char)(seed + i))
                return false;
    return true;
}

/* Drops CAP_SYS_NICE (23) from the effective set, in a child. */
static bool drop_sys_nice(void)
{
    struct { uint32_t version; int pid; } header = { 0x20080522, 0 };
    struct { uint32_t effective, permitted, inheritable; } data[2];
    if (syscall(SYS_capget, &header, data) != 0)
        return false;
    data[0].effective &= ~(1u << 23);
    return syscall(SYS_capset, &header, data) == 0;
}

/* Run after execve by the fork test: exit 0 iff the policy is MPOL_BIND of node 0. */
static int exec_child(void)
{
    unsigned long mask;
    int mode = policy_of(NULL, &mask);
    return mode == MPOL_BIND && mask == 1 ? 0 : 10 + mode;
}

static void test_set_mempolicy_errors(void)
{
    unsigned long one = 1, zero = 0, far[20] = { 0 };
    ok(set_mempolicy(MPOL_DEFAULT, NULL, 0) == 0, "MPOL_DEFAULT with no mask", "errno %d", errno);
    ok_errno(set_mempolicy(MPOL_DEFAULT, &one, 2), EINVAL, "MPOL_DEFAULT with a node: EINVAL");
    ok(set_mempolicy(MPOL_DEFAULT, &zero, 2) == 0, "MPOL_DEFAULT with an empty mask", "errno %d", errno);
    ok_errno(set_mempolicy(7, &one, 2), EINVAL, "an unknown mode: EINVAL");
    if (on_keel())
        ok_errno(set_mempolicy(6, &one, 2), EINVAL, "mode 6 (MPOL_WEIGHTED_INTERLEAVE, Linux 6.9) is unknown to 6.1: EINVAL");
    ok_errno(set_mempolicy(-1, &one, 2), EINVAL, "mode -1: EINVAL");
    ok_errno(set_mempolicy(MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES, &one, 2), EINVAL,
             "STATIC with RELATIVE: EINVAL");
    ok_errno(set_mempolicy(MPOL_INTERLEAVE | MPOL_F_NUMA_BALANCING, &one, 2), EINVAL,
             "NUMA_BALANCING on anything but MPOL_BIND: EINVAL");
    ok_errno(set_mempolicy(MPOL_BIND, NULL, 0), EINVAL, "MPOL_BIND with no nodes: EINVAL");
    ok_errno(set_mempolicy(MPOL_BIND, &one, 1), EINVAL, "maxnode 1 reads no bits: no nodes, EINVAL");
    ok_errno(set_mempolicy(MPOL_BIND, &one, 0), EINVAL, "maxnode 0 (a huge maxnode - 1): EINVAL");
    ok_errno(set_mempolicy(MPOL_BIND, &one, PAGE * 8 + 2), EINVAL, "more than a page of bits: EINVAL");
    ok_errno(set_mempolicy(MPOL_BIND, (unsigned long *)16, 2), EFAULT, "an unmapped mask: EFAULT");
    ok_errno(set_mempolicy(MPOL_BIND, (unsigned long *)0xffff800000000000UL, 2), EFAULT, "a kernel mask: EFAULT");
    unsigned long high = 1UL << 63;
    ok_errno(set_mempolicy(MPOL_BIND, &high, 65), EINVAL, "only node 63, not online: EINVAL");
    far[17] = 1;                                /* node 1088: above any MAX_NUMNODES */
    ok_errno(set_mempolicy(MPOL_BIND, far, 20 * 64 + 1), EINVAL, "a node above MAX_NUMNODES: EINVAL");
    far[17] = 0;
    far[0] = 1;
    ok(set_mempolicy(MPOL_BIND, far, 20 * 64 + 1) == 0, "a long mask with zeros above node 0 is fine", "errno %d", errno);
    ok_errno(set_mempolicy(MPOL_LOCAL, &one, 2), EINVAL, "MPOL_LOCAL with a node: EINVAL");
    ok_errno(set_mempolicy(MPOL_LOCAL | MPOL_F_STATIC_NODES, NULL, 0), EINVAL, "MPOL_LOCAL with a mode flag: EINVAL");
    ok_errno(set_mempolicy(MPOL_PREFERRED | MPOL_F_RELATIVE_NODES, NULL, 0), EINVAL,
             "empty MPOL_PREFERRED with a mode flag: EINVAL");
    set_mempolicy(MPOL_DEFAULT, NULL, 0);
}

static void test_round_trips(unsigned long online)
{
    unsigned long mask, one = 1;
    ok(set_mempolicy(MPOL_BIND, &one, 2) == 0 && policy_of(NULL, &mask) == MPOL_BIND && mask == 1,
       "MPOL_BIND of node 0 reads back", "mode %d mask %#lx", policy_of(NULL, &mask), mask);
    unsigned long with_offline = 1 | 1UL << 63;
    ok(set_mempolicy(MPOL_BIND, &with_offline, 65) == 0 && policy_of(NULL, &mask) == MPOL_BIND && mask == 1,
       "offline nodes are dropped when one is left", "mode %d mask %#lx", policy_of(NULL, &mask), mask);
    unsigned long static_mask = 1 | 1UL << 5;
    ok(set_mempolicy(MPOL_BIND | MPOL_F_STATIC_NODES, &static_mask, 65) == 0
           && policy_of(NULL, &mask) == (MPOL_BIND | MPOL_F_STATIC_NODES) && mask == static_mask,
       "MPOL_F_STATIC_NODES reports the caller's mask and the flag", "mode %#x mask %#lx", policy_of(NULL, &mask), mask);
    ok(set_mempolicy(MPOL_PREFERRED, NULL, 0) == 0 && policy_of(NULL, &mask) == MPOL_LOCAL && mask == 0,
       "empty MPOL_PREFERRED is MPOL_LOCAL", "mode %d mask %#lx", policy_of(NULL, &mask), mask);
    ok(set_mempolicy(MPOL_LOCAL, NULL, 0) == 0 && policy_of(NULL, &mask) == MPOL_LOCAL && mask == 0,
       "MPOL_LOCAL reads back with no nodes", "mode %d mask %#lx", policy_of(NULL, &mask), mask);
    ok(set_mempolicy(MPOL_PREFERRED, &online, 65) == 0 && policy_of(NULL, &mask) == MPOL_PREFERRED
           && mask == (online & -online),
       "MPOL_PREFERRED keeps the lowest node", "mode %d mask %#lx", policy_of(NULL, &mask), mask);
    ok(set_mempolicy(MPOL_PREFERRED_MANY, &online, 65) == 0 && policy_of(NULL, &mask) == MPOL_PREFERRED_MANY
           && mask == online,
       "MPOL_PREFERRED_MANY (Linux 5.15) is accepted", "mode %d mask %#lx errno %d", policy_of(NULL, &mask), mask, errno);
    int node = -1;
    ok(set_mempolicy(MPOL_INTERLEAVE, &online, 65) == 0 && get_mempolicy(&node, NULL, 0, NULL, MPOL_F_NODE) == 0
           && node == __builtin_ctzl(online),
       "MPOL_F_NODE: an interleave starts at its first node", "node %d errno %d", node, errno);
    ok(set_mempolicy(MPOL_DEFAULT, NULL, 0) == 0 && policy_of(NULL, &mask) == MPOL_DEFAULT && mask == 0,
       "MPOL_DEFAULT reads back", "mode %d mask %#lx", policy_of(NULL, &mask), mask);
    ok_errno(get_mempolicy(&node, NULL, 0, NULL, MPOL_F_NODE), EINVAL, "MPOL_F_NODE without an interleave: EINVAL");

    int mode = -1;
    unsigned long allowed = 0;
    ok(get_mempolicy(&mode, &allowed, 65, (void *)0x1234, MPOL_F_MEMS_ALLOWED) == 0 && allowed == online && mode == 0,
       "MPOL_F_MEMS_ALLOWED: the online nodes, mode 0, the address ignored", "mask %#lx mode %d", allowed, mode);
    ok_errno(get_mempolicy(&mode, NULL, 0, NULL, MPOL_F_MEMS_ALLOWED | MPOL_F_NODE), EINVAL,
             "MEMS_ALLOWED with MPOL_F_NODE: EINVAL");
    ok_errno(get_mempolicy(&mode, NULL, 0, NULL, 8), EINVAL, "an unknown flag: EINVAL");
    ok_errno(get_mempolicy(&mode, NULL, 0, &mode, 0), EINVAL, "an address without MPOL_F_ADDR: EINVAL");
    ok_errno(get_mempolicy(&mode, &mask, 0, NULL, 0), EINVAL, "maxnode below nr_node_ids: EINVAL");
    ok_errno(get_mempolicy((int *)16, NULL, 0, NULL, 0), EFAULT, "an unwritable mode pointer: EFAULT");
    ok_errno(get_mempolicy(&mode, (unsigned long *)16, 65, NULL, 0), EFAULT, "an unwritable mask: EFAULT");
    ok_errno(get_mempolicy(&mode, NULL, 0, (void *)16, MPOL_F_ADDR), EFAULT, "MPOL_F_ADDR where nothing is mapped: EFAULT");

    /* A long mask: the words past nr_node_ids' are zeroed up to maxnode - 1 bits. */
    unsigned long words[17];
    memset(words, 0xa5, sizeof words);
    set_mempolicy(MPOL_BIND, &one, 2);
    long got = get_mempolicy(&mode, words, 1025, NULL, 0);
    bool zeroed = true;
    for (int i = 1; i < 16; i++)
        zeroed = zeroed && words[i] == 0;
    ok(got == 0 && words[0] == 1 && zeroed && words[16] == 0xa5a5a5a5a5a5a5a5UL,
       "maxnode 1025: one word of nodes, 15 zero words, nothing after", "%#lx %#lx %#lx", words[0], words[1], words[16]);
    static unsigned long page_of_bits[PAGE / 8];
    ok(get_mempolicy(&mode, page_of_bits, PAGE * 8 + 1, NULL, 0) == 0 && page_of_bits[0] == 1,
       "maxnode of a page of bits + 1", "errno %d", errno);
    ok_errno(get_mempolicy(&mode, page_of_bits, PAGE * 8 + 2, NULL, 0), EINVAL, "a mask longer than a page: EINVAL");
    set_mempolicy(MPOL_DEFAULT, NULL, 0);
}

static void test_fork_and_exec(const char *self)
{
    unsigned long one = 1, mask;
    char *p = map_pages(4);
    if (!ok(mbind(p + PAGE, PAGE, MPOL_BIND, &one, 2, 0) == 0, "mbind before fork", "errno %d", errno))
        return;
    set_mempolicy(MPOL_BIND, &one, 2);
    pid_t pid = fork();
    if (pid == 0) {
        int task = policy_of(NULL, &mask);
        unsigned long vma_mask;
        int vma = policy_of(p + PAGE, &vma_mask);
        _exit(task == MPOL_BIND && mask == 1 && vma == MPOL_BIND && vma_mask == 1 && policy_of(p, &mask) == 0 ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork keeps the task's and the VMA's policy", "status %#x", status);
    pid = fork();
    if (pid == 0) {
        execl(self, self, "--exec-child", (char *)NULL);
        _exit(99);
    }
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "execve keeps the task's policy", "status %#x", status);
    set_mempolicy(MPOL_DEFAULT, NULL, 0);
    munmap(p, 4 * PAGE);
}

static void test_mbind(void)
{
    unsigned long one = 1, mask;
    char *p = map_pages(6);
    ok_errno(mbind(p + 1, PAGE, MPOL_BIND, &one, 2, 0), EINVAL, "mbind: an unaligned start: EINVAL");
    ok_errno(mbind(p, PAGE, MPOL_BIND, &one, 2, MPOL_MF_LAZY), EINVAL, "mbind: MPOL_MF_LAZY is not valid: EINVAL");
    ok_errno(mbind(p, PAGE, MPOL_BIND, NULL, 0, 0), EINVAL, "mbind: MPOL_BIND without nodes: EINVAL");
    ok_errno(mbind(p, PAGE, MPOL_BIND, (unsigned long *)16, 2, 0), EFAULT, "mbind: an unmapped mask: EFAULT");
    ok(mbind(p, 0, MPOL_BIND, &one, 2, 0) == 0, "mbind: length 0 does nothing", "errno %d", errno);
    ok(mbind(p, (unsigned long)-1, MPOL_BIND, &one, 2, 0) == 0, "mbind: a length that rounds up to 0 does nothing",
       "errno %d", errno);
    ok_errno(mbind(p, (unsigned long)-PAGE * 2, MPOL_BIND, &one, 2, 0), EINVAL, "mbind: a range that wraps: EINVAL");

    ok(mbind(p + 2 * PAGE, PAGE + 1, MPOL_BIND, &one, 2, MPOL_MF_STRICT) == 0, "mbind: the middle two pages",
       "errno %d", errno);
    ok(maps_lines_in(p, p + 6 * PAGE) == 3, "mbind splits the mapping in three", "%d lines",
       maps_lines_in(p, p + 6 * PAGE));
    ok(policy_of(p + 2 * PAGE, &mask) == MPOL_BIND && mask == 1 && policy_of(p + 3 * PAGE, &mask) == MPOL_BIND,
       "MPOL_F_ADDR: the bound pages say MPOL_BIND", "mode %d mask %#lx", policy_of(p + 2 * PAGE, &mask), mask);
    ok(policy_of(p + 4 * PAGE, &mask) == MPOL_DEFAULT && mask == 0 && policy_of(p, &mask) == MPOL_DEFAULT,
       "MPOL_F_ADDR: the others say MPOL_DEFAULT", "mode %d", policy_of(p + 4 * PAGE, &mask));
    set_mempolicy(MPOL_BIND, &one, 2);
    ok(policy_of(p, &mask) == MPOL_DEFAULT, "MPOL_F_ADDR on a VMA without a policy ignores the task's", "mode %d",
       policy_of(p, &mask));
    set_mempolicy(MPOL_DEFAULT, NULL, 0);
    ok(mbind(p + 4 * PAGE, 2 * PAGE, MPOL_BIND, &one, 2, 0) == 0 && maps_lines_in(p, p + 6 * PAGE) == 2,
       "the same policy on the neighbour merges with it", "%d lines", maps_lines_in(p, p + 6 * PAGE));
    ok(mbind(p, 6 * PAGE, MPOL_DEFAULT, NULL, 0, MPOL_MF_STRICT) == 0 && maps_lines_in(p, p + 6 * PAGE) == 1,
       "MPOL_DEFAULT over all of it merges it back to one", "%d lines", maps_lines_in(p, p + 6 * PAGE));

    fill(p, 6, 'a');
    ok(mbind(p, 6 * PAGE, MPOL_BIND, &one, 2, MPOL_MF_MOVE | MPOL_MF_STRICT) == 0 && intact(p, 6, 'a'),
       "MPOL_MF_MOVE | STRICT with every page in place", "errno %d", errno);
    munmap(p + 3 * PAGE, PAGE);
    ok_errno(mbind(p, 6 * PAGE, MPOL_BIND, &one, 2, 0), EFAULT, "mbind over a hole: EFAULT");
    ok(mbind(p, 6 * PAGE, MPOL_DEFAULT, NULL, 0, 0) == 0, "MPOL_DEFAULT over a hole is fine", "errno %d", errno);
    munmap(p, 6 * PAGE);
    ok_errno(mbind(p, 6 * PAGE, MPOL_DEFAULT, NULL, 0, 0), EFAULT, "MPOL_DEFAULT with nothing mapped: EFAULT");
}

static void test_move_pages(void)
{
    char *p = map_pages(4);
    p[0] = 1;
    volatile char sink = p[PAGE];               /* maps the zero page */
    (void)sink;
    int memfd = (int)syscall(SYS_memfd_create, "mempolicy", 0);
    char *shared = memfd >= 0 && ftruncate(memfd, PAGE) == 0
        ? mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0) : MAP_FAILED;
    void *pages[5] = { p, p + PAGE, p + 2 * PAGE, (void *)16, shared };
    int status[5] = { 99, 99, 99, 99, 99 }, local = -1;
    syscall(SYS_getcpu, NULL, &local, NULL);
    ok(move_pages(0, 5, pages, NULL, status, 0) == 0 && status[0] == local && status[1] == -EFAULT
           && status[3] == -EFAULT && status[4] == -ENOENT,
       "move_pages query: the local node, -EFAULT for the zero page and nothing mapped, -ENOENT for a file page",
       "%d %d %d %d, local node %d", status[0], status[1], status[3], status[4], local);
    if (on_keel())
        ok(status[2] == -EFAULT, "move_pages query: an untouched anonymous page is -EFAULT (Linux 6.1)", "%d", status[2]);
    else
        ok(status[2] == -EFAULT || status[2] == -ENOENT, "move_pages query: an untouched anonymous page",
           "%d (-EFAULT up to 6.11, -ENOENT after)", status[2]);
    note("move_pages status of an untouched anonymous page: %d", status[2]);

    fill(p, 4, 'k');
    int nodes[4] = { 0, 0, 0, 0 };
    void *all[4] = { p, p + PAGE, p + 2 * PAGE, p + 3 * PAGE };
    ok(move_pages(0, 4, all, nodes, status, 0) == 0 && status[0] == 0 && status[3] == 0 && intact(p, 4, 'k'),
       "move_pages to node 0: status 0, the bytes kept", "%d %d errno %d", status[0], status[3], errno);
    nodes[0] = -1;
    ok_errno(move_pages(0, 1, all, nodes, status, 0), ENODEV, "move_pages to node -1: ENODEV");
    nodes[0] = 1000;
    ok_errno(move_pages(0, 1, all, nodes, status, 0), ENODEV, "move_pages to node 1000: ENODEV");
    nodes[0] = 0;
    ok_errno(move_pages(0, 1, all, nodes, status, 8), EINVAL, "move_pages: an unknown flag: EINVAL");
    ok_errno(move_pages(0, 1, NULL, NULL, status, 0), EFAULT, "move_pages: an unmapped page array: EFAULT");
    ok_errno(move_pages(0, 1, all, NULL, (int *)16, 0), EFAULT, "move_pages: an unwritable status array: EFAULT");
    ok_errno(move_pages(0, 1, all, (int *)16, status, 0), EFAULT, "move_pages: an unreadable node array: EFAULT");
    ok(move_pages(0, 0, NULL, NULL, NULL, 0) == 0, "move_pages of no pages", "errno %d", errno);

    pid_t gone = fork();
    if (gone == 0)
        _exit(0);
    waitpid(gone, NULL, 0);
    ok_errno(move_pages(gone, 1, all, NULL, status, 0), ESRCH, "move_pages: a pid that has gone: ESRCH");
    ok_errno(move_pages(-5, 1, all, NULL, status, 0), ESRCH, "move_pages: a negative pid: ESRCH");
    unsigned long one = 1;
    ok_errno(migrate_pages(gone, 2, &one, &one), ESRCH, "migrate_pages: a pid that has gone: ESRCH");
    ok_errno(migrate_pages(0, 2, &one, (unsigned long *)16), EFAULT, "migrate_pages: an unreadable mask: EFAULT");
    unsigned long offline = 1UL << 40;
    ok_errno(migrate_pages(0, 65, &one, &offline), EINVAL, "migrate_pages to no node online: EINVAL");
    ok(migrate_pages(0, 2, &one, &one) == 0 && intact(p, 4, 'k'), "migrate_pages from node 0 to node 0",
       "errno %d", errno);

    /* Without CAP_SYS_NICE. */
    pid_t pid = fork();
    if (pid == 0) {
        if (!drop_sys_nice())
            _exit(2);
        if (mbind(p, PAGE, MPOL_BIND, &one, 2, MPOL_MF_MOVE_ALL) != -1 || errno != EPERM)
            _exit(3);
        if (move_pages(0, 1, all, nodes, status, MPOL_MF_MOVE_ALL) != -1 || errno != EPERM)
            _exit(4);
        if (migrate_pages(0, 65, &one, &offline) != -1 || errno != EPERM)
            _exit(5);
        _exit(mbind(p, PAGE, MPOL_BIND, &one, 2, MPOL_MF_MOVE) == 0 ? 0 : 6);
    }
    int wstatus = -1;
    waitpid(pid, &wstatus, 0);
    ok(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0,
       "without CAP_SYS_NICE: MPOL_MF_MOVE_ALL and foreign nodes are EPERM, MPOL_MF_MOVE is fine", "exit %d",
       WEXITSTATUS(wstatus));
    munmap(p, 4 * PAGE);
    if (shared != MAP_FAILED)
        munmap(shared, PAGE);
    if (memfd >= 0)
        close(memfd);
}

/* A child with `n` pages filled with `seed`, waiting on a pipe; it writes
 * their address to `report` and, once told, checks they are on `node` with
 * their bytes (exit 0). */
static pid_t child_with_pages(int n, char seed, int report[2], int go[2])
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    char *p = map_pages(n);
    fill(p, n, seed);
    write(report[1], &p, sizeof p);
    int node;
    if (read(go[0], &node, sizeof node) != sizeof node)
        _exit(2);
    for (int i = 0; i < n; i++)
        if (node_of(p + i * PAGE) != node)
            _exit(3);
    _exit(intact(p, n, seed) ? 0 : 4);
}

static void test_child_pages(void)
{
    int report[2], go[2];
    if (pipe(report) != 0 || pipe(go) != 0)
        return;
    pid_t pid = child_with_pages(4, 'c', report, go);
    char *p = NULL;
    read(report[0], &p, sizeof p);
    void *pages[2] = { p, p + 3 * PAGE };
    int status[2] = { 99, 99 }, local = -1;
    ok(move_pages(pid, 2, pages, NULL, status, 0) == 0 && status[0] >= 0 && status[0] == status[1],
       "move_pages query of another process's pages", "%d %d errno %d", status[0], status[1], errno);
    local = status[0];
    unsigned long one = 1;
    ok(migrate_pages(pid, 2, &one, &one) == 0, "migrate_pages of another process, node 0 to node 0", "errno %d", errno);
    write(go[1], &local, sizeof local);
    int wstatus = -1;
    waitpid(pid, &wstatus, 0);
    ok(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "the child's pages are where they were, bytes kept",
       "exit %d", WEXITSTATUS(wstatus));
    close(report[0]); close(report[1]); close(go[0]); close(go[1]);
}

/* Pages of a child that keeps writing them move back and forth between two
 * nodes 20 times: each move goes through migration entries while the child
 * faults on them, and no write may be lost. */
static void test_moves_under_writes(int local, int other)
{
    enum { N = 16, ROUNDS = 20 };
    int report[2], go[2];
    if (pipe(report) != 0 || pipe(go) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        long *p = (long *)map_pages(N);
        long counts[N] = { 0 };
        /* Every page is there before the parent starts moving them (an
         * untouched page has no node: move_pages says -EFAULT for it). */
        for (int i = 0; i < N; i++)
            p[i * (PAGE / sizeof(long))] = 0;
        write(report[1], &p, sizeof p);
        fcntl(go[0], F_SETFL, O_NONBLOCK);
        char stop;
        while (read(go[0], &stop, 1) != 1)
            for (int i = 0; i < N; i++) {
                long *word = p + i * (PAGE / sizeof(long));
                word[0]++;
                word[1] = ++counts[i];
            }
        for (int i = 0; i < N; i++) {
            long *word = p + i * (PAGE / sizeof(long));
            if (word[0] != counts[i] || word[1] != counts[i])
                _exit(1);
        }
        _exit(0);
    }
    char *p = NULL;
    read(report[0], &p, sizeof p);
    void *pages[N];
    int nodes[N], status[N], arrived[2] = { 0, 0 };
    for (int round = 0; round < ROUNDS; round++) {
        int to = round % 2 ? local : other;
        for (int i = 0; i < N; i++) {
            pages[i] = p + i * PAGE;
            nodes[i] = to;
        }
        if (move_pages(pid, N, pages, nodes, status, 0) < 0)
            break;
        move_pages(pid, N, pages, NULL, status, 0);
        for (int i = 0; i < N; i++)
            arrived[round % 2] += status[i] == to;
    }
    write(go[1], "x", 1);
    note("page moves that arrived: %d to node %d, %d to node %d, of %d each", arrived[0], other, arrived[1], local,
         N * ROUNDS / 2);
    int wstatus = -1;
    waitpid(pid, &wstatus, 0);
    ok(arrived[0] > N * ROUNDS / 4 && arrived[1] > N * ROUNDS / 4,
       "pages written all the time still move between the nodes", "%d and %d of %d page moves each way", arrived[0],
       arrived[1], N * ROUNDS / 2);
    ok(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "no write was lost while the pages moved", "exit status %#x",
       wstatus);
    close(report[0]); close(report[1]); close(go[0]); close(go[1]);
}

/* A child bound to one node touches more than the node holds (no swap): the
 * other node's free memory cannot serve it, and the OOM killer must kill the
 * child itself (Linux's CONSTRAINT_MEMORY_POLICY), not spin reclaiming the
 * other node nor pass it by. */
static void test_bound_out_of_memory(int node)
{
    char path[64], text[4096];
    snprintf(path, sizeof path, "/sys/devices/system/node/node%d/meminfo", node);
    long total_kb = -1;
    if (read_whole(path, text, sizeof text) >= 0) {
        char *line = strstr(text, "MemTotal:");
        if (line) total_kb = atol(line + strlen("MemTotal:"));
    }
    if (!ok(total_kb > 0, "the bound node's MemTotal", "%s: errno %d", path, errno))
        return;
    pid_t pid = fork();
    if (pid == 0) {
        unsigned long mask = 1UL << node;
        if (set_mempolicy(MPOL_BIND, &mask, 65) != 0)
            _exit(3);
        size_t bytes = (size_t)(total_kb + 32 * 1024) * 1024;
        char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED)
            _exit(4);
        for (size_t i = 0; i < bytes; i += PAGE)
            p[i] = 1;
        _exit(0);
    }
    int wstatus = -1;
    waitpid(pid, &wstatus, 0);
    ok(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL,
       "a task bound to a node it overfills is OOM-killed, with the other node free", "status %#x (MemTotal %ld kB)",
       wstatus, total_kb);
}

/* Two nodes or more: policies place pages where they say. */
static void test_two_nodes(unsigned long online)
{
    const int n = 8;
    /* "Local" and numa_other mean the node of the CPU that faults: the task
     * stays on the CPU it starts on until the counters are read, or the
     * balancer could move it to the other node in between. */
    cpu_set_t everywhere, here;
    unsigned cpu = 0;
    int local = -1;
    if (!ok(sched_getaffinity(0, sizeof everywhere, &everywhere) == 0 && syscall(SYS_getcpu, &cpu, &local, NULL) == 0,
            "sched_getaffinity and getcpu", "errno %d", errno))
        return;
    CPU_ZERO(&here);
    CPU_SET(cpu, &here);
    ok(sched_setaffinity(0, sizeof here, &here) == 0, "pinned to the CPU it runs on", "errno %d", errno);
    int other = local == 0 ? 1 : 0;
    unsigned long other_mask = 1UL << other, both = (1UL << local) | other_mask;
    note("nodes %#lx, running on node %d", online, local);

    long other_before = vmstat("numa_other");
    char *p = map_pages(n);
    ok(mbind(p, n * PAGE, MPOL_BIND, &other_mask, 65, 0) == 0, "mbind MPOL_BIND to the other node", "errno %d", errno);
    fill(p, n, 'b');
    int on_other = 0;
    for (int i = 0; i < n; i++)
        on_other += node_of(p + i * PAGE) == other;
    ok(on_other == n, "MPOL_BIND: every page on the bound node", "%d of %d", on_other, n);
    long other_after = vmstat("numa_other");
    ok(other_after - other_before >= n, "numa_other counts pages put on a node not the CPU's", "%ld -> %ld",
       other_before, other_after);

    /* move_pages back to the local node, then to the other one again. */
    void *pages[8];
    int nodes[8], status[8];
    for (int i = 0; i < n; i++) {
        pages[i] = p + i * PAGE;
        nodes[i] = local;
    }
    ok(move_pages(0, n, pages, nodes, status, 0) == 0 && status[0] == local && status[n - 1] == local,
       "move_pages to the local node: status says so", "%d %d", status[0], status[n - 1]);
    on_other = 0;
    for (int i = 0; i < n; i++)
        on_other += node_of(p + i * PAGE) == other;
    ok(on_other == 0 && intact(p, n, 'b'), "the pages moved, their bytes kept", "%d still on node %d", on_other, other);
    ok(mbind(p, n * PAGE, MPOL_BIND, &other_mask, 65, MPOL_MF_MOVE) == 0, "mbind MPOL_MF_MOVE back to the other node",
       "errno %d", errno);
    on_other = 0;
    for (int i = 0; i < n; i++)
        on_other += node_of(p + i * PAGE) == other;
    ok(on_other == n && intact(p, n, 'b'), "MPOL_MF_MOVE moved every page, bytes kept", "%d of %d", on_other, n);
    unsigned long local_mask = 1UL << local;
    ok_errno(mbind(p, n * PAGE, MPOL_BIND, &local_mask, 65, MPOL_MF_STRICT), EIO,
             "MPOL_MF_STRICT with pages on another node and no MOVE: EIO");
    munmap(p, n * PAGE);

    /* Interleave over the VMA: page offsets alternate nodes. */
    long interleave_before = vmstat("numa_interleave");
    char *q = map_pages(n);
    ok(mbind(q, n * PAGE, MPOL_INTERLEAVE, &both, 65, 0) == 0, "mbind MPOL_INTERLEAVE over two nodes", "errno %d",
       errno);
    fill(q, n, 'i');
    int alternations = 0, first = node_of(q);
    for (int i = 1; i < n; i++)
        alternations += node_of(q + i * PAGE) != node_of(q + (i - 1) * PAGE);
    ok(alternations == n - 1 && (first == local || first == other), "MPOL_INTERLEAVE alternates nodes page by page",
       "%d alternations of %d, first on %d", alternations, n - 1, first);
    long interleave_after = vmstat("numa_interleave");
    ok(interleave_after - interleave_before >= n, "numa_interleave counts them", "%ld -> %ld", interleave_before,
       interleave_after);
    munmap(q, n * PAGE);
    ok(sched_setaffinity(0, sizeof everywhere, &everywhere) == 0, "unpinned again", "errno %d", errno);

    /* migrate_pages of a child from its node to the other. */
    int report[2], go[2];
    if (pipe(report) != 0 || pipe(go) != 0)
        return;
    pid_t pid = child_with_pages(n, 'm', report, go);
    char *c = NULL;
    read(report[0], &c, sizeof c);
    void *cpages[1] = { c };
    int cstatus = -1;
    move_pages(pid, 1, cpages, NULL, &cstatus, 0);
    unsigned long from = 1UL << cstatus, to = cstatus == 0 ? 2 : 1;
    int dest = cstatus == 0 ? 1 : 0;
    ok(migrate_pages(pid, 65, &from, &to) == 0, "migrate_pages of a child to the other node", "errno %d", errno);
    write(go[1], &dest, sizeof dest);
    int wstatus = -1;
    waitpid(pid, &wstatus, 0);
    ok(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "the child's pages are on the new node, bytes kept",
       "exit %d", WEXITSTATUS(wstatus));
    close(report[0]); close(report[1]); close(go[0]); close(go[1]);

    test_moves_under_writes(local, other);

    /* The task's own MPOL_BIND, set before the first touch. */
    ok(set_mempolicy(MPOL_BIND, &other_mask, 65) == 0, "set_mempolicy MPOL_BIND to the other node", "errno %d", errno);
    char *r = map_pages(n);
    fill(r, n, 't');
    on_other = 0;
    for (int i = 0; i < n; i++)
        on_other += node_of(r + i * PAGE) == other;
    set_mempolicy(MPOL_DEFAULT, NULL, 0);
    ok(on_other == n, "the task's MPOL_BIND puts its new pages on the bound node", "%d of %d", on_other, n);
    munmap(r, n * PAGE);

    test_bound_out_of_memory(other);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--exec-child") == 0)
        return exec_child();
    /* Linux in QEMU runs this as its first process, with nothing mounted. */
    if (access("/proc/self/maps", R_OK) != 0) {
        mkdir("/proc", 0555);
        mount("proc", "/proc", "proc", 0, NULL);
    }
    if (access("/sys/devices/system", R_OK) != 0) {
        mkdir("/sys", 0555);
        mount("sysfs", "/sys", "sysfs", 0, NULL);
    }
    int mode;
    unsigned long online = 0;
    if (get_mempolicy(&mode, &online, 65, NULL, MPOL_F_MEMS_ALLOWED) != 0) {
        printf("not ok - get_mempolicy(MPOL_F_MEMS_ALLOWED): errno %d\n", errno);
        return 1;
    }
    ok(online & 1, "node 0 is allowed", "mask %#lx", online);
    test_set_mempolicy_errors();
    test_round_trips(online);
    test_fork_and_exec(argv[0]);
    test_mbind();
    test_move_pages();
    test_child_pages();
    if (__builtin_popcountl(online) >= 2)
        test_two_nodes(online);
    else
        skip("two-node placement", "one node");
    return ktest_done();
}
