/*
 * vmwalk [pid] ADDR: the x86-64 four-level page-table walk of ADDR in process
 * PID (default: vmwalk itself), told from what Linux's /proc interfaces show:
 * /proc/<pid>/pagemap (the leaf), /proc/<pid>/maps (the VMA),
 * /proc/kpageflags and /proc/kpagecount (the frame), /proc/zoneinfo (its
 * zone) and, on Keel, /proc/kpageorder. It runs the same on Linux and Keel.
 *
 * The upper levels' table frames are not exported by any of these files, so
 * for them vmwalk prints the index bits and says what can be inferred ("a
 * leaf below is present, so this entry is present") and nothing more; every
 * "read:" line is a value read from a file.
 *
 * Exit status: 0 after a walk (an unmapped address is a walk with the verdict
 * "not mapped"), 1 when the process or the address cannot be walked (no such
 * process, a non-canonical or kernel address, pagemap unreadable), 2 on usage.
 */
#include "pagemap.h"
#include "procfs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Where the zone holding a frame was found in /proc/zoneinfo. */
struct zone_hit {
    int node;
    char name[32];
    unsigned long long start, spanned;
};

/* Parses a decimal pid: digits only, 1..2^31-1. */
static bool parse_pid(const char *s, int *pid)
{
    if (!*s || strlen(s) > 10) return false;
    unsigned long long v = 0;
    for (const char *c = s; *c; c++) {
        if (!isdigit((unsigned char)*c)) return false;
        v = v * 10 + (unsigned)(*c - '0');
    }
    if (v == 0 || v > 0x7fffffff) return false;
    *pid = (int)v;
    return true;
}

/* Parses an address: hex with 0x, or decimal; the whole string must be used. */
static bool parse_address(const char *s, unsigned long long *addr)
{
    if (!*s || *s == '-' || *s == '+') return false;
    char *end;
    errno = 0;
    *addr = strtoull(s, &end, 0);
    return errno == 0 && *end == 0;
}

/* The VMA of /proc/PID/maps holding ADDR; false if none (or maps unreadable). */
static bool find_vma(int pid, unsigned long long addr, struct map_line *out, char *raw, size_t raw_size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        struct map_line m;
        line[strcspn(line, "\n")] = 0;
        if (parse_map_line(line, &m) && m.start <= addr && addr < m.end) {
            *out = m;
            snprintf(raw, raw_size, "%s", line);
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

/* The zone of /proc/zoneinfo whose [start_pfn, start_pfn + spanned) holds PFN. */
static bool find_zone(unsigned long long pfn, struct zone_hit *out)
{
    FILE *f = fopen("/proc/zoneinfo", "r");
    if (!f) return false;
    char line[256];
    struct zone_hit z = { .node = -1 };
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        int node;
        char name[32];
        unsigned long long v;
        if (sscanf(line, "Node %d, zone %31s", &node, name) == 2) {
            z.node = node;
            snprintf(z.name, sizeof z.name, "%s", name);
            z.spanned = 0;
        } else if (sscanf(line, " spanned %llu", &v) == 1) {
            z.spanned = v;
        } else if (sscanf(line, " start_pfn: %llu", &v) == 1) {
            z.start = v;
            if (z.node >= 0 && z.start <= pfn && pfn < z.start + z.spanned) {
                *out = z;
                found = true;
            }
        }
    }
    fclose(f);
    return found;
}

static void print_flags(uint64_t flags)
{
    bool any = false;
    for (int bit = 0; bit < 64; bit++) {
        if (!((flags >> bit) & 1)) continue;
        if (kpf_names[bit]) printf(" %s", kpf_names[bit]);
        else printf(" bit%d", bit);
        any = true;
    }
    if (!any) printf(" (none)");
    printf("\n");
}

static const struct { const char *name; int shift; } levels[4] = {
    { "PGD/PML4", 39 }, { "PUD/PDPT", 30 }, { "PMD/PD", 21 }, { "PTE/PT", 12 },
};

int main(int argc, char **argv)
{
    int pid = 0;
    unsigned long long addr;
    if (argc == 2 || argc == 3) {
        if (argc == 3 && !parse_pid(argv[1], &pid)) {
            fprintf(stderr, "vmwalk: bad pid '%s'\n", argv[1]);
            return 1;
        }
        if (!parse_address(argv[argc - 1], &addr)) {
            fprintf(stderr, "vmwalk: bad address '%s' (hex with 0x, or decimal)\n", argv[argc - 1]);
            return 1;
        }
    } else {
        fprintf(stderr, "usage: vmwalk [pid] ADDR\n");
        return 2;
    }
    if (pid == 0) pid = getpid();
    /* x86-64 with 4 levels: bits 63-48 must copy bit 47. */
    unsigned long long top = addr >> 47;
    if (top != 0 && top != 0x1ffff) {
        fprintf(stderr, "vmwalk: 0x%llx is not canonical (bits 63-48 must equal bit 47)\n", addr);
        return 1;
    }
    if (top != 0) {
        fprintf(stderr, "vmwalk: 0x%llx is a kernel address; pagemap covers user addresses only\n", addr);
        return 1;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", pid);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "vmwalk: no process %d\n", pid);
        return 1;
    }
    uint64_t entry;
    if (!pm_entry(pid, addr, &entry)) {
        /* Past the end of the user range pagemap reads 0 bytes (ERANGE here). */
        if (errno == ERANGE) fprintf(stderr, "vmwalk: 0x%llx is above the user address range of process %d\n", addr, pid);
        else fprintf(stderr, "vmwalk: cannot read /proc/%d/pagemap: %s\n", pid, strerror(errno));
        return 1;
    }
    struct map_line vma;
    char vma_line[512] = "";
    bool has_vma = find_vma(pid, addr, &vma, vma_line, sizeof vma_line);
    bool present = entry & PM_PRESENT, swapped = entry & PM_SWAP;
    unsigned long long pfn = entry & PM_PFN_MASK;

    printf("vmwalk: pid %d, address 0x%llx (page 0x%llx, offset 0x%llx)\n", pid, addr, addr & ~0xfffULL, addr & 0xfff);
    for (int i = 0; i < 3; i++) {
        printf("%-9s bits %2d-%2d  index %3llu   entry: not readable (no /proc file exports upper-level tables)\n",
               levels[i].name, levels[i].shift + 8, levels[i].shift, (addr >> levels[i].shift) & 511);
        if (present || swapped)
            printf("          inferred: present (a leaf below it is %s)\n", present ? "present" : "a swap entry");
        else
            printf("          inferred: unknown (the leaf is empty; this table may or may not exist)\n");
    }
    printf("%-9s bits %2d-%2d  index %3llu   read: pagemap entry 0x%016llx\n", levels[3].name, 20, 12,
           (addr >> 12) & 511, (unsigned long long)entry);
    if (present) {
        if (pfn) printf("          PFN 0x%llx (physical 0x%llx)\n", pfn, (pfn << 12) | (addr & 0xfff));
        else printf("          PFN hidden (the reader lacks CAP_SYS_ADMIN)\n");
    } else if (swapped) {
        printf("          swap type %llu, offset 0x%llx\n", pfn & 0x1f, pfn >> 5);
    }
    printf("          present %d, swapped %d, soft-dirty %d, exclusive %d, file/shared %d\n", present, swapped,
           !!(entry & PM_SOFT_DIRTY), !!(entry & PM_EXCLUSIVE), !!(entry & PM_FILE));
    if (has_vma) {
        printf("VMA       read: %s\n", vma_line);
        printf("          perms %s, offset 0x%lx, %s\n", vma.perms, vma.offset, vma.path[0] ? vma.path : "anonymous");
    } else {
        printf("VMA       none holds 0x%llx\n", addr);
    }

    uint64_t flags = 0, count = 0, order = 0;
    bool have_flags = false, have_count = false, have_order = false;
    if (present && pfn) {
        struct zone_hit zone;
        if (find_zone(pfn, &zone))
            printf("frame     zone %s, node %d (read: zoneinfo start_pfn %llu, spanned %llu)\n", zone.name, zone.node,
                   zone.start, zone.spanned);
        else
            printf("frame     zone unknown (no zone of /proc/zoneinfo spans PFN 0x%llx)\n", pfn);
        have_count = pm_kpagecount(pfn, &count);
        if (have_count) printf("          mapcount %llu (read: kpagecount)\n", (unsigned long long)count);
        have_flags = pm_kpageflags(pfn, &flags);
        if (have_flags) {
            printf("          kpageflags 0x%llx:", (unsigned long long)flags);
            print_flags(flags);
            bool lru = (flags >> KPF_LRU) & 1, active = (flags >> KPF_ACTIVE) & 1;
            printf("          LRU list: %s\n", !lru ? "none" : active ? "active" : "inactive");
            if ((flags >> KPF_THP) & 1 || (flags >> KPF_HUGE) & 1)
                printf("          (a huge page: the PMD may be the leaf, and then there is no PTE level)\n");
        }
        have_order = pm_kpageorder(pfn, &order);
        if (have_order) {
            if (order == KPAGEORDER_NOT_FREE) printf("          kpageorder: not free\n");
            else printf("          kpageorder: free, order %llu%s\n", (unsigned long long)(order & 0xff),
                        order & KPAGEORDER_PCP ? " (on a CPU's list)" : "");
        }
    }

    const char *verdict;
    bool shared_vma = has_vma && vma.perms[3] == 's', writable = has_vma && vma.perms[1] == 'w';
    if (!has_vma && !present && !swapped) verdict = "not mapped";
    else if (swapped) verdict = "swapped";
    else if (!present) verdict = "not resident";
    else if (have_flags && ((flags >> KPF_ZERO_PAGE) & 1)) verdict = "zero page";
    else if (shared_vma) verdict = "shared";
    else if (entry & PM_FILE) verdict = writable ? "COW-shared" : "shared";     /* a page-cache page */
    else if ((have_count && count > 1) || !(entry & PM_EXCLUSIVE)) verdict = writable ? "COW-shared" : "shared";
    else verdict = "exclusive";
    printf("verdict   %s\n", verdict);
    return 0;
}
