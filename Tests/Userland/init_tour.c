/*
 * init_tour: Keel's default /sbin/init, a short tour of a process's memory
 * for whoever just typed `make run`.
 *
 * It shows its own /proc/self/maps, maps 64 MiB and touches a few pages while
 * watching the fault counters in /proc/vmstat move (demand paging: nothing is
 * allocated until touched; a read maps the shared zero page, a write
 * allocates a zeroed page), shows the start of /proc/meminfo, and exits 0,
 * which powers Keel off. It also runs as an ordinary program on Linux (whose
 * counters are system-wide, so other processes add to them).
 */
#include "procfs.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PAGE 4096UL
#define MIB (1UL << 20)
#define MAX_COUNTERS 32

static char text[1 << 16];

struct counter {
    char name[48];
    long long before;
};

static void say(const char *s)
{
    fputs(s, stdout);
    fflush(stdout);
}

static void show_file(const char *path, int max_lines)
{
    if (read_whole(path, text, sizeof text) < 0) {
        printf("    (%s is not available)\n", path);
        return;
    }
    char *line = text;
    for (int i = 0; i < max_lines && *line; i++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        printf("    %s\n", line);
        if (!nl)
            break;
        line = nl + 1;
    }
    fflush(stdout);
}

/* The /proc/vmstat counters about faults and zero pages, with their values now
 * (only those that then move, and pgfault, are shown). */
static int fault_counters(struct counter *c)
{
    if (read_whole("/proc/vmstat", text, sizeof text) < 0)
        return 0;
    int n = 0;
    for (char *line = text; *line && n < MAX_COUNTERS;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char name[48];
        long long v;
        if (sscanf(line, "%47s %lld", name, &v) == 2 && (strstr(name, "fault") || strstr(name, "zero") || strstr(name, "cow"))) {
            snprintf(c[n].name, sizeof c[n].name, "%s", name);
            c[n++].before = v;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    return n;
}

static void show_counter_changes(struct counter *c, int n)
{
    if (n == 0 || read_whole("/proc/vmstat", text, sizeof text) < 0) {
        say("    (/proc/vmstat has no fault counters)\n");
        return;
    }
    for (int i = 0; i < n; i++) {
        long long after = proc_counter(text, c[i].name);
        if (after != c[i].before || strcmp(c[i].name, "pgfault") == 0)
            printf("    %-28s %12lld -> %12lld  (+%lld)\n", c[i].name, c[i].before, after,
                   after - c[i].before);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    struct utsname u;
    uname(&u);
    printf("\nHello from %s, pid %d, running on %s %s.\n", argc > 0 ? argv[0] : "init", getpid(),
           u.sysname, u.release);
    say("This is a short tour of a process's virtual memory.\n\n");

    say("1. My address space, as /proc/self/maps shows it: one line per VMA\n"
        "   (start-end, permissions, file offset, device, inode, name).\n");
    show_file("/proc/self/maps", 64);

    const size_t size = 64 * MIB;
    unsigned char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap 64 MiB");
        return 1;
    }
    printf("\n2. mmap gave me 64 MiB at %p. It is one new VMA; no page is allocated yet.\n", (void *)p);
    fflush(stdout);

    struct counter counters[MAX_COUNTERS];
    int n = fault_counters(counters);
    say("   Now I read 4 pages (each maps the shared zero page) and write one byte\n"
        "   every 4 MiB (16 page faults, each allocating a zeroed page).\n");
    unsigned sum = 0;
    for (size_t i = 0; i < 4; i++)
        sum += ((volatile unsigned char *)p)[size / 2 + i * PAGE];
    for (size_t off = 0; off < size; off += 4 * MIB)
        p[off] = (unsigned char)(off / MIB + 1);
    bool kept = sum == 0;
    for (size_t off = 0; off < size; off += 4 * MIB)
        kept &= p[off] == (unsigned char)(off / MIB + 1);
    show_counter_changes(counters, n);
    printf("   The reads saw zeros and the writes stuck: %s.\n", kept ? "yes" : "NO");

    say("\n3. fork() copies my address space lazily: parent and child share every page,\n"
        "   read-only, and the first write to a page copies it (copy-on-write).\n"
        "   The child writes to 4 of the pages I touched; I still see my values.\n");
    n = fault_counters(counters);
    pid_t child = fork();
    if (child == 0) {
        for (size_t off = 0; off < 16 * MIB; off += 4 * MIB)
            p[off] = 0xcc;
        _exit(p[0] == 0xcc ? 0 : 1);
    }
    int status = 0;
    bool forked = child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    for (size_t off = 0; off < size; off += 4 * MIB)
        forked &= p[off] == (unsigned char)(off / MIB + 1);
    show_counter_changes(counters, n);
    printf("   The child's writes stayed in the child: %s.\n", forked ? "yes" : "NO");
    kept &= forked;
    munmap(p, size);

    say("\n4. The start of /proc/meminfo:\n");
    show_file("/proc/meminfo", 5);

    say("\nThat's the tour. Read Tests/Userland/*.c for more; the tests run with `make test`.\n");
    return kept ? 0 : 1;
}
