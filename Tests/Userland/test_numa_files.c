/*
 * test_numa_files: the NUMA files users and libnuma read, in Linux's formats.
 *
 *   /sys/devices/system/node/{online,possible,has_cpu,has_memory,has_normal_memory}
 *   /sys/devices/system/node/nodeN/{cpulist,cpumap,distance,numastat,meminfo,cpuM}
 *   /proc/self/numa_maps (with mbind and set_mempolicy policies),
 *   /proc/self/status (Cpus_allowed, Mems_allowed)
 *
 * Runs on the host (one node, usually) and on Keel (one node, or two with a
 * NUMA machine). Mounts sysfs on /sys if nothing is there yet. The checks hold
 * for any number of nodes: lists and masks agree, the CPUs of the nodes are
 * the online CPUs, each node's MemTotal adds up to /proc/meminfo's, the
 * distances form a table with 10 on the diagonal, numa_hit grows when pages
 * are allocated, and numa_maps counts a region's pages where Linux does.
 * Linux: drivers/base/node.c, fs/proc/task_mmu.c (show_numa_map)
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ktest.h"
#include "procfs.h"

#define NODE_DIR "/sys/devices/system/node"
#define MAX_BITS 1024

static char buf[65536];

/* Reads a small file into buf; its length or -1. */
static long slurp(const char *path)
{
    long n = read_whole(path, buf, sizeof buf);
    return n;
}

/* Parses a "%*pbl" list ("0-1,3\n", or "\n" for none) into set[]; false if malformed. */
static bool parse_list(const char *s, bool set[MAX_BITS])
{
    memset(set, 0, MAX_BITS);
    if (*s == '\n')
        return s[1] == '\0';
    for (;;) {
        if (!isdigit((unsigned char)*s))
            return false;
        char *end;
        long lo = strtol(s, &end, 10), hi = lo;
        s = end;
        if (*s == '-') {
            if (!isdigit((unsigned char)s[1]))
                return false;
            hi = strtol(s + 1, &end, 10);
            s = end;
        }
        if (lo < 0 || hi < lo || hi >= MAX_BITS)
            return false;
        for (long i = lo; i <= hi; i++)
            set[i] = true;
        if (*s == ',') {
            s++;
            continue;
        }
        return s[0] == '\n' && s[1] == '\0';
    }
}

/* Parses a "%*pb" mask ("3\n", "00000000,00000003\n"): hex chunks of 32 bits,
 * every chunk but the first exactly 8 digits. */
static bool parse_mask(const char *s, bool set[MAX_BITS])
{
    memset(set, 0, MAX_BITS);
    const char *nl = strchr(s, '\n');
    if (!nl || nl[1] != '\0' || nl == s)
        return false;
    int chunks = 1;
    for (const char *p = s; p < nl; p++)
        if (*p == ',')
            chunks++;
    if (chunks * 32 > MAX_BITS)
        return false;
    int chunk = chunks - 1;
    const char *p = s;
    while (chunk >= 0) {
        const char *q = p;
        while (q < nl && *q != ',')
            q++;
        int digits = (int)(q - p);
        if (digits < 1 || digits > 8 || (chunk != chunks - 1 && digits != 8))
            return false;
        unsigned long v = 0;
        for (const char *d = p; d < q; d++) {
            if (!isxdigit((unsigned char)*d) || isupper((unsigned char)*d))
                return false;
            v = v * 16 + (unsigned long)(isdigit((unsigned char)*d) ? *d - '0' : *d - 'a' + 10);
        }
        for (int bit = 0; bit < 32; bit++)
            if (v >> bit & 1)
                set[chunk * 32 + bit] = true;
        chunk--;
        p = q + 1;
    }
    return true;
}

static bool same_set(const bool a[MAX_BITS], const bool b[MAX_BITS])
{
    return memcmp(a, b, MAX_BITS) == 0;
}

static int count_set(const bool a[MAX_BITS])
{
    int n = 0;
    for (int i = 0; i < MAX_BITS; i++)
        n += a[i];
    return n;
}

/* The value of "name N" in numastat-like text, or -1. */
static long keyed(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, name, len) == 0 && line[len] == ' ')
            return strtol(line + len + 1, NULL, 10);
    return -1;
}

static bool online_nodes[MAX_BITS];

static long numa_hit_total(void)
{
    long total = 0;
    char path[128];
    for (int n = 0; n < MAX_BITS; n++) {
        if (!online_nodes[n])
            continue;
        snprintf(path, sizeof path, NODE_DIR "/node%d/numastat", n);
        if (slurp(path) < 0)
            return -1;
        long hit = keyed(buf, "numa_hit");
        if (hit < 0)
            return -1;
        total += hit;
    }
    return total;
}

static void test_node_lists(void)
{
    bool possible[MAX_BITS], set[MAX_BITS];
    ok(slurp(NODE_DIR "/online") > 0 && parse_list(buf, online_nodes) && count_set(online_nodes) > 0,
       "node/online is a non-empty list", "got '%s'", buf);
    ok(slurp(NODE_DIR "/possible") > 0 && parse_list(buf, possible), "node/possible is a list", "got '%s'", buf);
    bool subset = true;
    for (int i = 0; i < MAX_BITS; i++)
        subset &= !online_nodes[i] || possible[i];
    ok(subset, "online nodes are possible", "online not within possible");
    const char *states[] = {"has_cpu", "has_memory", "has_normal_memory"};
    for (unsigned i = 0; i < sizeof states / sizeof *states; i++) {
        char path[128], name[64];
        snprintf(path, sizeof path, NODE_DIR "/%s", states[i]);
        snprintf(name, sizeof name, "node/%s is a non-empty list of online nodes", states[i]);
        bool good = slurp(path) > 0 && parse_list(buf, set) && count_set(set) > 0;
        for (int n = 0; good && n < MAX_BITS; n++)
            good = !set[n] || online_nodes[n];
        ok(good, name, "got '%s'", buf);
    }
}

static void test_node_dirs(void)
{
    bool cpus_online[MAX_BITS], seen[MAX_BITS] = {0};
    ok(slurp("/sys/devices/system/cpu/online") > 0 && parse_list(buf, cpus_online), "cpu/online is a list",
       "got '%s'", buf);
    int nodes = count_set(online_nodes);
    long total_kb = 0;
    bool overlap = false;
    for (int n = 0; n < MAX_BITS; n++) {
        if (!online_nodes[n])
            continue;
        char path[160], name[96];
        bool list[MAX_BITS], mask[MAX_BITS];
        snprintf(path, sizeof path, NODE_DIR "/node%d/cpulist", n);
        snprintf(name, sizeof name, "node%d/cpulist is a list", n);
        ok(slurp(path) >= 0 && parse_list(buf, list), name, "got '%s'", buf);
        snprintf(path, sizeof path, NODE_DIR "/node%d/cpumap", n);
        snprintf(name, sizeof name, "node%d/cpumap is a hex mask (32-bit chunks)", n);
        ok(slurp(path) > 0 && parse_mask(buf, mask), name, "got '%s'", buf);
        snprintf(name, sizeof name, "node%d/cpumap and cpulist name the same CPUs", n);
        ok(same_set(list, mask), name, "they differ");
        for (int cpu = 0; cpu < MAX_BITS; cpu++) {
            if (!list[cpu])
                continue;
            overlap |= seen[cpu];
            seen[cpu] = true;
            char link[160], target[160];
            snprintf(link, sizeof link, NODE_DIR "/node%d/cpu%d", n, cpu);
            ssize_t len = readlink(link, target, sizeof target - 1);
            target[len > 0 ? len : 0] = '\0';
            char want[64];
            snprintf(want, sizeof want, "../../cpu/cpu%d", cpu);
            snprintf(name, sizeof name, "node%d/cpu%d links to %s", n, cpu, want);
            ok(strcmp(target, want) == 0, name, "readlink gave '%s' (%s)", target, len < 0 ? strerror(errno) : "");
        }

        snprintf(path, sizeof path, NODE_DIR "/node%d/distance", n);
        snprintf(name, sizeof name, "node%d/distance has one entry per node, 10 to itself", n);
        bool good = slurp(path) > 0;
        int entries = 0, self = -1;
        for (char *p = buf; good && *p != '\n'; entries++) {
            char *end;
            long d = strtol(p, &end, 10);
            good = end != p && d >= 10 && (*end == ' ' || *end == '\n');
            int node = 0, k = 0;
            for (; node < MAX_BITS; node++)
                if (online_nodes[node] && k++ == entries)
                    break;
            if (node == n)
                self = (int)d;
            else
                good = good && d > 10;
            p = *end == ' ' ? end + 1 : end;
        }
        ok(good && entries == nodes && self == 10, name, "got '%s'", buf);

        snprintf(path, sizeof path, NODE_DIR "/node%d/numastat", n);
        snprintf(name, sizeof name, "node%d/numastat has Linux's six counters in order", n);
        const char *names[] = {"numa_hit", "numa_miss", "numa_foreign", "interleave_hit", "local_node", "other_node"};
        good = slurp(path) > 0;
        char *p = buf;
        for (unsigned i = 0; good && i < 6; i++) {
            size_t len = strlen(names[i]);
            good = strncmp(p, names[i], len) == 0 && p[len] == ' ' && isdigit((unsigned char)p[len + 1]);
            p = good ? strchr(p, '\n') + 1 : p;
        }
        ok(good && *p == '\0', name, "got '%s'", buf);

        snprintf(path, sizeof path, NODE_DIR "/node%d/meminfo", n);
        snprintf(name, sizeof name, "node%d/meminfo lines are 'Node %d Name:  %%8lu kB'", n, n);
        good = slurp(path) > 0;
        long total = -1, free_kb = -1, used = -1;
        int lines = 0;
        for (char *line = buf; good && *line; lines++) {
            char *nl = strchr(line, '\n');
            *nl = '\0';
            char prefix[32];
            int plen = snprintf(prefix, sizeof prefix, "Node %d ", n);
            char *colon = strchr(line, ':');
            good = strncmp(line, prefix, (size_t)plen) == 0 && colon;
            if (good && strncmp(line + plen, "HugePages_", 10) == 0) {
                good = strlen(colon + 1) >= 6;                    /* " %5u" */
            } else if (good) {
                /* "Name:" then spaces and a number right-aligned in (at least) 8
                 * columns ("%8lu"), then " kB". */
                size_t len = strlen(line);
                good = len > 3 && strcmp(line + len - 3, " kB") == 0 && line + len - 3 - (colon + 1) >= 8
                    && colon[1] == ' ';
                char *d = colon + 1;
                while (good && *d == ' ')
                    d++;
                while (good && isdigit((unsigned char)*d))
                    d++;
                good = good && d == line + len - 3;
                long v = strtol(colon + 1, NULL, 10);
                if (strncmp(line + plen, "MemTotal:", 9) == 0) total = v;
                if (strncmp(line + plen, "MemFree:", 8) == 0) free_kb = v;
                if (strncmp(line + plen, "MemUsed:", 8) == 0) used = v;
            }
            if (!good)
                note("bad meminfo line '%s'", line);
            line = nl + 1;
        }
        ok(good && lines >= 3, name, "see the note above");
        snprintf(name, sizeof name, "node%d MemTotal >= MemFree, MemUsed = MemTotal - MemFree", n);
        ok(total > 0 && free_kb >= 0 && free_kb <= total && used == total - free_kb, name,
           "MemTotal %ld MemFree %ld MemUsed %ld", total, free_kb, used);
        total_kb += total;
    }
    ok(!overlap && same_set(seen, cpus_online), "every online CPU is in exactly one node",
       overlap ? "a CPU is in two nodes" : "the nodes' CPUs are not cpu/online");
    ok(slurp("/proc/meminfo") > 0, "read /proc/meminfo", "%s", strerror(errno));
    long meminfo_total = strtol(strchr(buf, ':') + 1, NULL, 10);
    ok(total_kb == meminfo_total, "the nodes' MemTotal add up to /proc/meminfo's",
       "nodes %ld kB, /proc/meminfo %ld kB", total_kb, meminfo_total);
}

static void test_numa_hit_moves(void)
{
    long before = numa_hit_total();
    size_t len = 4 << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ok(p != MAP_FAILED, "mmap 4 MiB", "%s", strerror(errno));
    if (p == MAP_FAILED)
        return;
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    long after = numa_hit_total();
    /* Every page allocated is a numa_hit or a numa_miss; with memory to spare
     * the 1024 faults here are hits (Linux: zone_statistics()). */
    ok(before >= 0 && after - before >= 1024, "numa_hit grows by the pages just faulted in",
       "numa_hit %ld -> %ld", before, after);
    munmap(p, len);
}

/* The numa_maps line of the region starting at `start`, copied into line[]. */
static bool numa_maps_line(uintptr_t start, char *line, size_t size)
{
    if (slurp("/proc/self/numa_maps") <= 0)
        return false;
    char want[32];
    snprintf(want, sizeof want, "%08lx ", (unsigned long)start);
    for (char *l = buf; *l; ) {
        char *nl = strchr(l, '\n');
        if (!nl)
            return false;
        if (strncmp(l, want, strlen(want)) == 0) {
            size_t n = (size_t)(nl - l) < size - 1 ? (size_t)(nl - l) : size - 1;
            memcpy(line, l, n);
            line[n] = '\0';
            return true;
        }
        l = nl + 1;
    }
    return false;
}

/* The number after " name=" in a numa_maps line, or -1. */
static long field(const char *line, const char *name)
{
    char key[32];
    snprintf(key, sizeof key, " %s=", name);
    const char *p = strstr(line, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* The sum of a line's N<node>= counts. */
static long node_sum(const char *line)
{
    long sum = 0;
    for (const char *p = strstr(line, " N"); p; p = strstr(p + 1, " N"))
        if (isdigit((unsigned char)p[2]))
            sum += strtol(strchr(p, '=') + 1, NULL, 10);
    return sum;
}

static void test_numa_maps(void)
{
    ok(slurp("/proc/self/numa_maps") > 0, "read /proc/self/numa_maps", "%s", strerror(errno));
    /* Every line: address, a policy word, and consistent counts. */
    bool good = true;
    int lines = 0;
    for (char *l = buf; *l && good; lines++) {
        char *nl = strchr(l, '\n');
        *nl = '\0';
        char *sp = strchr(l, ' ');
        good = sp && sp - l >= 8;
        for (char *c = l; good && c < sp; c++)
            good = isxdigit((unsigned char)*c) && !isupper((unsigned char)*c);
        const char *policies[] = {"default", "local", "prefer:", "bind:", "interleave:", "prefer (many):"};
        bool known = false;
        for (unsigned i = 0; good && i < sizeof policies / sizeof *policies; i++)
            known |= strncmp(sp + 1, policies[i], strlen(policies[i])) == 0;
        good = good && known;
        long pages = field(l, "mapped"), sum = node_sum(l);
        if (good && strstr(l, "kernelpagesize_kB=")) {
            long anon = field(l, "anon"), dirty = field(l, "dirty");
            good = strstr(l, " kernelpagesize_kB=4") && sum > 0
                && (pages >= 0 ? sum == pages : (sum == anon || sum == dirty));
        } else if (good) {
            good = sum == 0 && pages < 0;
        }
        if (!good)
            note("bad numa_maps line '%s'", l);
        l = nl + 1;
    }
    ok(good && lines > 0, "numa_maps lines: address, policy, N counts adding up", "see the note above");

    /* 16 pages between two PROT_NONE pages: a region of their own, merged with no neighbour. */
    size_t len = 16 * 4096;
    char *reserve = mmap(NULL, len + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *p = reserve + 4096;
    ok(reserve != MAP_FAILED && mprotect(p, len, PROT_READ | PROT_WRITE) == 0, "mmap 16 pages of their own",
       "%s", strerror(errno));
    if (reserve == MAP_FAILED)
        return;
    char line[512];
    ok(numa_maps_line((uintptr_t)p, line, sizeof line) && strcmp(strchr(line, ' '), " default") == 0,
       "an untouched region's line ends after its policy", "got '%s'", line);
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    ok(numa_maps_line((uintptr_t)p, line, sizeof line) && field(line, "anon") == 16 && field(line, "dirty") == 16
           && field(line, "mapped") < 0 && node_sum(line) == 16 && strstr(line, " default anon=16 dirty=16 ")
           && strstr(line, " kernelpagesize_kB=4"),
       "16 touched anonymous pages: anon=16 dirty=16, N counts sum to 16", "got '%s'", line);

    /* The policy column: a region's own policy (mbind), else the task's
     * (set_mempolicy), as mpol_to_str() prints them. Node 0 is always there. */
    unsigned long node0 = 1;
    ok(syscall(SYS_mbind, p, len, 1 /* MPOL_PREFERRED */, &node0, 65, 0) == 0
           && numa_maps_line((uintptr_t)p, line, sizeof line) && strncmp(strchr(line, ' '), " prefer:0 anon=16 ", 18) == 0,
       "after mbind(MPOL_PREFERRED, node 0) the region shows prefer:0", "got '%s' (%s)", line, strerror(errno));
    ok(syscall(SYS_set_mempolicy, 2 /* MPOL_BIND */, &node0, 65) == 0 && slurp("/proc/self/numa_maps") > 0
           && strstr(buf, " bind:0 stack ") && strstr(buf, " prefer:0 anon=16 "),
       "after set_mempolicy(MPOL_BIND, node 0) regions without a policy show bind:0", "%s", strerror(errno));
    ok(syscall(SYS_set_mempolicy, 0 /* MPOL_DEFAULT */, NULL, 0) == 0 && slurp("/proc/self/numa_maps") > 0
           && strstr(buf, " default stack "), "MPOL_DEFAULT again: default", "%s", strerror(errno));
    munmap(reserve, len + 2 * 4096);

    ok(slurp("/proc/self/numa_maps") > 0 && strstr(buf, " stack ") != NULL, "the stack's line says stack",
       "no ' stack ' in numa_maps");

    /* A file mapping: its path after file=, its resident pages counted. */
    const char *path = "/tmp/test_numa_files.data";
    if (mkdir("/tmp", 01777) != 0 && errno != EEXIST)      /* Keel's initramfs has no /tmp */
        note("mkdir /tmp: %s", strerror(errno));
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char page[4096];
    memset(page, 'x', sizeof page);
    bool written = fd >= 0;
    for (int i = 0; written && i < 4; i++)
        written = write(fd, page, sizeof page) == sizeof page;
    ok(written, "write a 4-page file", "%s", strerror(errno));
    if (!written)
        return;
    char *f = mmap(NULL, 4 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    ok(f != MAP_FAILED, "mmap the file", "%s", strerror(errno));
    if (f != MAP_FAILED) {
        volatile char sum = 0;
        for (int i = 0; i < 4; i++)
            sum += f[i * 4096];
        char want[96];
        snprintf(want, sizeof want, " default file=%s ", path);
        ok(numa_maps_line((uintptr_t)f, line, sizeof line) && strstr(line, want) && node_sum(line) == 4
               && field(line, "anon") < 0,
           "a 4-page file mapping: file=path, 4 pages on the nodes, no anon", "got '%s'", line);
        munmap(f, 4 * 4096);
    }
    close(fd);
    unlink(path);
}

static void test_status(void)
{
    ok(slurp("/proc/self/status") > 0, "read /proc/self/status", "%s", strerror(errno));
    char *mems = strstr(buf, "\nMems_allowed:\t"), *list = strstr(buf, "\nMems_allowed_list:\t");
    char *cpus = strstr(buf, "\nCpus_allowed:\t"), *cpulist = strstr(buf, "\nCpus_allowed_list:\t");
    ok(mems && list && cpus && cpulist, "status has Cpus_allowed(_list) and Mems_allowed(_list)", "missing");
    if (!(mems && list && cpus && cpulist))
        return;
    char text[4096];
    bool a[MAX_BITS], b[MAX_BITS];
    #define VALUE(at, key) (snprintf(text, sizeof text, "%.*s\n", (int)strcspn(at + strlen(key), "\n"), \
                                     at + strlen(key)), text)
    ok(parse_mask(VALUE(mems, "\nMems_allowed:\t"), a) && parse_list(VALUE(list, "\nMems_allowed_list:\t"), b)
           && same_set(a, b) && same_set(b, online_nodes),
       "Mems_allowed and its list name the online nodes", "status says '%s'", text);
    ok(parse_mask(VALUE(cpus, "\nCpus_allowed:\t"), a) && parse_list(VALUE(cpulist, "\nCpus_allowed_list:\t"), b)
           && same_set(a, b) && count_set(a) > 0,
       "Cpus_allowed and its list agree", "status says '%s'", text);
}

int main(void)
{
    struct stat st;
    if (stat(NODE_DIR, &st) != 0) {
        /* No sysfs on /sys yet (a bare initramfs): mount it as a system would. */
        mkdir("/sys", 0755);
        ok(mount("sysfs", "/sys", "sysfs", 0, NULL) == 0, "mount sysfs on /sys", "%s", strerror(errno));
    }
    ok(stat(NODE_DIR, &st) == 0 && S_ISDIR(st.st_mode), NODE_DIR " is a directory", "%s", strerror(errno));
    test_node_lists();
    test_node_dirs();
    test_numa_hit_moves();
    test_numa_maps();
    test_status();
    return ktest_done();
}
