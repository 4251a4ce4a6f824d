/*
 * reclaim_tour: what the kernel does when memory runs out, shown with its own
 * counters and trace lines. `make reclaim-tour` boots it on Keel with 64 MiB
 * of RAM, 128 MiB of swap and an ext2 root; it runs on Linux too.
 *
 *     reclaim_tour [DIR [FILE_MiB [ANON_MiB [SWAPDEV]]]]
 *         DIR       where the file goes (default /tmp)
 *         FILE_MiB  the file read into the page cache (default 8)
 *         ANON_MiB  anonymous memory written (default 16): past RAM for a demo
 *         SWAPDEV   swapon this device first (Linux booted from an initramfs;
 *                   on Keel the kernel's swap= did it already)
 *
 * The stages, each followed by the LRU lists and swap from /proc/meminfo and
 * what moved in /proc/vmstat since the stage before:
 *   1. fill the page cache: write the file, read it twice. The first read
 *      puts its pages on the inactive file list, the second finds them there
 *      and moves them to the active list (pgactivate).
 *   2. allocate anonymous memory past RAM: free pages fall below the low
 *      watermark, kswapd wakes (mm_vmscan_wakeup_kswapd, mm_vmscan_kswapd_wake)
 *      and reclaims: clean file pages first, then anonymous pages go to swap
 *      (pswpout). An allocation below the min watermark reclaims itself
 *      (pgscan_direct, mm_vmscan_direct_reclaim_begin).
 *   3. touch the first quarter again: those pages were swapped out first, so
 *      they come back in (pswpin, workingset_refault_anon).
 *   4. read everything back: every anonymous page is checked (workset.h),
 *      and the file is read again: what was evicted is read from the disk
 *      (workingset_refault_file).
 * Then the vmscan trace: how many lines of each event, and the first few.
 * Tracing uses tracefs (/sys/kernel/tracing, or mounted on a temporary
 * directory); without it (a host where it cannot be mounted) the tour says so
 * and goes on. On the host the tracing settings it changed are put back.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/wait.h>

#include "workset.h"

static const char *const meminfo_names[] = { "MemFree", "Active(anon)", "Inactive(anon)", "Active(file)",
                                             "Inactive(file)", "SwapCached", "SwapFree" };
static const char *const vmstat_names[] = { "pgscan_kswapd", "pgscan_direct", "pgsteal_kswapd", "pgsteal_direct",
                                            "pgrefill", "pgactivate", "pgdeactivate", "pswpin", "pswpout",
                                            "workingset_refault_anon", "workingset_refault_file" };
#define NMEM (sizeof meminfo_names / sizeof meminfo_names[0])
#define NVM (sizeof vmstat_names / sizeof vmstat_names[0])

static long long mem_before[NMEM], vm_before[NVM];
static char tracing[256];
static bool mounted_here;
static char saved_vmscan_enable[8];
static uint64_t bad_pages;

static void snapshot(long long *mem, long long *vm)
{
    for (size_t i = 0; i < NMEM; i++) mem[i] = ws_meminfo_kb(meminfo_names[i]);
    for (size_t i = 0; i < NVM; i++) vm[i] = ws_vmstat(vmstat_names[i]);
}

/* The meminfo lines (with the change) and the vmstat counters that moved. */
static void show(const char *stage)
{
    long long mem[NMEM], vm[NVM];
    snapshot(mem, vm);
    printf("\n== %s\n", stage);
    for (size_t i = 0; i < NMEM; i++) {
        if (mem[i] < 0) continue;
        printf("  meminfo %-15s %8lld kB  (%+lld)\n", meminfo_names[i], mem[i], mem[i] - mem_before[i]);
    }
    printf("  vmstat since the last stage:");
    int moved = 0;
    for (size_t i = 0; i < NVM; i++) {
        if (vm[i] < 0 || vm[i] == vm_before[i]) continue;
        printf("%s %s +%lld", moved++ % 4 == 0 ? "\n   " : ",", vmstat_names[i], vm[i] - vm_before[i]);
    }
    printf("%s\n", moved ? "" : " nothing");
    fflush(stdout);
    memcpy(mem_before, mem, sizeof mem);
    memcpy(vm_before, vm, sizeof vm);
}

static bool tracing_write(const char *name, const char *value)
{
    char path[320];
    snprintf(path, sizeof path, "%s/%s", tracing, name);
    int fd = open(path, O_WRONLY | O_TRUNC);
    if (fd < 0) return false;
    bool done = write(fd, value, strlen(value)) == (ssize_t)strlen(value);
    close(fd);
    return done;
}

/* Finds or mounts tracefs and turns the vmscan events on, the buffer cleared. */
static void start_tracing(void)
{
    snprintf(tracing, sizeof tracing, "/sys/kernel/tracing");
    if (access("/sys/kernel/tracing/events/vmscan/enable", F_OK) != 0) {
        snprintf(tracing, sizeof tracing, "/tmp/reclaim-tour-tracing.XXXXXX");
        if (!mkdtemp(tracing) || mount("nodev", tracing, "tracefs", 0, NULL) != 0) {
            printf("tracefs: not available here (%s): the tour goes on without vmscan trace lines\n", strerror(errno));
            if (tracing[0]) rmdir(tracing);
            tracing[0] = 0;
            return;
        }
        mounted_here = true;
    }
    char path[320];
    snprintf(path, sizeof path, "%s/events/vmscan/enable", tracing);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, saved_vmscan_enable, sizeof saved_vmscan_enable - 1) : -1;
    if (fd >= 0) close(fd);
    saved_vmscan_enable[n > 0 ? n : 0] = 0;
    if (!tracing_write("events/vmscan/enable", "1")) {
        printf("tracefs: cannot enable events/vmscan (%s): the tour goes on without vmscan trace lines\n",
               strerror(errno));
        tracing[0] = 0;
        return;
    }
    tracing_write("buffer_size_kb", "1024");
    tracing_write("trace", "");
    printf("tracefs: %s, events/vmscan enabled\n", tracing);
}

/* Counts the vmscan lines in `trace` by event and prints the first 3 of each. */
static void show_trace(void)
{
    printf("\n== the vmscan trace\n");
    if (!tracing[0]) {
        printf("  (no tracefs: nothing recorded)\n");
        return;
    }
    tracing_write("events/vmscan/enable", "0");
    static const char *const events[] = { "mm_vmscan_wakeup_kswapd", "mm_vmscan_kswapd_wake", "mm_vmscan_kswapd_sleep",
                                          "mm_vmscan_direct_reclaim_begin", "mm_vmscan_direct_reclaim_end",
                                          "mm_vmscan_lru_shrink_active", "mm_vmscan_lru_shrink_inactive" };
    enum { NEV = sizeof events / sizeof events[0], SHOWN = 3 };
    long count[NEV] = { 0 };
    static char kept[NEV][SHOWN][1024];
    char path[320];
    snprintf(path, sizeof path, "%s/trace", tracing);
    FILE *f = fopen(path, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        for (int e = 0; e < NEV; e++) {
            char word[64];
            snprintf(word, sizeof word, " %s: ", events[e]);
            if (!strstr(line, word)) continue;
            if (count[e] < SHOWN) snprintf(kept[e][count[e]], sizeof kept[e][0], "%s", line);
            count[e]++;
        }
    }
    if (f) fclose(f);
    for (int e = 0; e < NEV; e++) {
        printf("  %-32s %6ld lines\n", events[e], count[e]);
        for (long k = 0; k < count[e] && k < SHOWN; k++) printf("    %s", kept[e][k]);
    }
    tracing_write("events/vmscan/enable", saved_vmscan_enable[0] ? saved_vmscan_enable : "0");
    if (mounted_here) {
        umount(tracing);
        rmdir(tracing);
    }
}

/* Reads the whole file with read(2); the number of pages not as written. */
static uint64_t read_file(int fd, size_t pages, uint64_t seed)
{
    static char buf[64 * 1024];
    uint64_t bad = 0;
    size_t page = 0;
    lseek(fd, 0, SEEK_SET);
    while (page < pages) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return bad + (pages - page);
        for (size_t off = 0; off + WS_PAGE <= (size_t)n; off += WS_PAGE, page++)
            bad += ws_check(buf + off, seed, page) >= 0;
    }
    return bad;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    long file_mib = argc > 2 ? atol(argv[2]) : 8, anon_mib = argc > 3 ? atol(argv[3]) : 16;
    if (file_mib <= 0 || anon_mib <= 0 || file_mib > 65536 || anon_mib > 65536) {
        printf("usage: reclaim_tour [DIR [FILE_MiB [ANON_MiB [SWAPDEV]]]]\n");
        return 2;
    }
    ws_mount_proc();
    mkdir("/tmp", 01777);
    if (argc > 4 && ws_swapon(argv[4]) != 0)
        printf("swapon %s: %s (the tour goes on without that swap)\n", argv[4], strerror(errno));
    printf("The reclaim tour: %ld MiB of file in %s, %ld MiB of anonymous memory; MemTotal %lld kB, SwapTotal %lld kB\n",
           file_mib, dir, anon_mib, ws_meminfo_kb("MemTotal"), ws_meminfo_kb("SwapTotal"));
    start_tracing();
    snapshot(mem_before, vm_before);
    show("0. at the start");

    char path[512];
    snprintf(path, sizeof path, "%s/reclaim-tour.%d", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        printf("reclaim_tour: create %s: %s\n", path, strerror(errno));
        return 1;
    }
    size_t file_pages = (size_t)file_mib * WS_MIB / WS_PAGE;
    static char page_buf[WS_PAGE];
    for (size_t page = 0; page < file_pages; page++) {
        ws_fill(page_buf, 7, page);
        if (write(fd, page_buf, WS_PAGE) != (ssize_t)WS_PAGE) {
            printf("reclaim_tour: write %s: %s\n", path, strerror(errno));
            return 1;
        }
    }
    fsync(fd);
    bad_pages += read_file(fd, file_pages, 7);
    bad_pages += read_file(fd, file_pages, 7);
    show("1. fill the page cache: file written and read twice (inactive -> active file list)");

    size_t anon_bytes = (size_t)anon_mib * WS_MIB, anon_pages = anon_bytes / WS_PAGE;
    char *anon = mmap(NULL, anon_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED) {
        printf("reclaim_tour: mmap %ld MiB: %s\n", anon_mib, strerror(errno));
        return 1;
    }
    for (size_t page = 0; page < anon_pages; page++)
        ws_fill(anon + page * WS_PAGE, 9, page);
    show("2. anonymous memory past RAM written (kswapd: file pages dropped, anonymous pages swapped out)");

    for (size_t page = 0; page < anon_pages / 4; page++)
        bad_pages += ws_check(anon + page * WS_PAGE, 9, page) >= 0;
    show("3. first quarter touched again (swapped back in)");

    for (size_t page = 0; page < anon_pages; page++)
        bad_pages += ws_check(anon + page * WS_PAGE, 9, page) >= 0;
    bad_pages += read_file(fd, file_pages, 7);
    show("4. everything read back: anonymous memory checked, the file read again (refaults)");

    show_trace();
    munmap(anon, anon_bytes);
    close(fd);
    unlink(path);
    printf("\n%llu pages read back wrong\n", (unsigned long long)bad_pages);
    printf("That's the reclaim tour.\n");
    return bad_pages == 0 ? 0 : 1;
}
