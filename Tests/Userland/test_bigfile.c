/*
 * test_bigfile: a file larger than memory, written, read twice with read(2)
 * and once through mmap, every page checked, on Linux and Keel.
 *
 *     test_bigfile [DIR [MiB [SEED]]]     default /tmp, 4 MiB, seed 1
 *
 * Writes DIR/bigfile.PID with write(2) in 64 KiB pieces, every page holding
 * contents derived from its index and SEED (workset.h), and fsyncs it; reads
 * it from start to end twice with read(2), checking every page; then maps it
 * (MAP_SHARED, read-only) and checks every page in a random order; finally
 * unlinks it. Prints the file system's type (from statfs) and one line of
 * figures:
 *     bigfile: N MiB, write W MiB/s, read R1 MiB/s, read again R2 MiB/s, mmap M MiB/s
 *
 * make test runs the default size in /tmp; the boot test bigfile_2_5x_ram_on_ext2
 * runs 160 MiB on an ext2 root in 64 MiB of RAM, where the page cache cannot
 * hold the file: reading it evicts what it read before, and the second pass
 * and the mapping read it from the disk again.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/statfs.h>

#include "ktest.h"
#include "workset.h"

#define CHUNK (64 * 1024UL)
/* Linux: include/uapi/linux/magic.h (musl has no kernel headers) */
#define EXT2_SUPER_MAGIC 0xEF53
#define TMPFS_MAGIC 0x01021994
#define RAMFS_MAGIC 0x858458f6

static const char *fs_name(long type)
{
    switch (type) {
    case EXT2_SUPER_MAGIC: return "ext2/3/4";
    case TMPFS_MAGIC: return "tmpfs";
    case RAMFS_MAGIC: return "ramfs";
    default: return "other";
    }
}

/* Reads the file from the start with read(2), CHUNK at a time, checking each
 * page; the number of wrong pages (and bytes read in *got). */
static size_t read_pass(int fd, size_t pages, uint64_t seed, size_t *got, char *why, size_t why_size)
{
    static char buf[CHUNK];
    size_t bad = 0, page = 0;
    *got = 0;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        snprintf(why, why_size, "lseek: errno %d", errno);
        return pages;
    }
    while (page < pages) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n <= 0 || n % WS_PAGE != 0) {
            snprintf(why, why_size, "read at page %zu returned %zd, errno %d", page, n, errno);
            return bad + (pages - page);
        }
        *got += (size_t)n;
        for (size_t off = 0; off < (size_t)n; off += WS_PAGE, page++) {
            long word = ws_check(buf + off, seed, page);
            if (word >= 0 && bad++ == 0)
                snprintf(why, why_size, "page %zu word %ld wrong", page, word);
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    long mib = argc > 2 ? atol(argv[2]) : 4;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 1;
    if (mib <= 0 || mib > 65536) {
        printf("usage: test_bigfile [DIR [MiB [SEED]]] (MiB 1..65536)\n");
        return 2;
    }
    ws_mount_proc();
    if (strcmp(dir, "/tmp") == 0) mkdir("/tmp", 01777);
    struct statfs sf;
    if (!ok(statfs(dir, &sf) == 0, "statfs the directory", "%s: errno %d (%s)", dir, errno, strerror(errno)))
        return ktest_done();
    note("file in %s (%s)", dir, fs_name((long)sf.f_type));

    size_t bytes = (size_t)mib * WS_MIB, pages = bytes / WS_PAGE;
    char path[512], why[200] = "";
    snprintf(path, sizeof path, "%s/bigfile.%d", dir, (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (!ok(fd >= 0, "create the file", "%s: errno %d (%s)", path, errno, strerror(errno)))
        return ktest_done();

    static char buf[CHUNK];
    double t0 = ws_now();
    size_t written = 0;
    while (written < bytes) {
        for (size_t off = 0; off < CHUNK; off += WS_PAGE)
            ws_fill(buf + off, seed, (written + off) / WS_PAGE);
        ssize_t n = write(fd, buf, CHUNK);
        if (n != (ssize_t)CHUNK) {
            snprintf(why, sizeof why, "write at %zu returned %zd, errno %d (%s)", written, n, errno, strerror(errno));
            break;
        }
        written += CHUNK;
    }
    int synced = written == bytes ? fsync(fd) : -1;
    double write_s = ws_now() - t0;
    ok(written == bytes, "write the whole file", "%s", why);
    ok(synced == 0, "fsync it", "errno %d (%s)", errno, strerror(errno));

    double read_s[2];
    for (int pass = 0; pass < 2; pass++) {
        size_t got;
        t0 = ws_now();
        size_t bad = read_pass(fd, pages, seed, &got, why, sizeof why);
        read_s[pass] = ws_now() - t0;
        ok(bad == 0 && got == bytes, pass == 0 ? "read(2): every page intact" : "read(2) again: every page intact",
           "%zu of %zu pages wrong, %zu bytes read; %s", bad, pages, got, why);
    }

    double mmap_s = 0;
    char *map = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
    if (ok(map != MAP_FAILED, "mmap the file", "errno %d (%s)", errno, strerror(errno))) {
        uint32_t *order = ws_shuffled(pages, seed);
        size_t bad = 0;
        t0 = ws_now();
        for (size_t k = 0; order && k < pages; k++) {
            long word = ws_check(map + (size_t)order[k] * WS_PAGE, seed, order[k]);
            if (word >= 0 && bad++ == 0)
                snprintf(why, sizeof why, "page %u word %ld wrong", order[k], word);
        }
        mmap_s = ws_now() - t0;
        ok(order && bad == 0, "mmap: every page intact, read in a random order", "%zu of %zu pages wrong; %s",
           bad, pages, order ? why : "no memory for the order");
        free(order);
        munmap(map, bytes);
    }
    close(fd);
    ok(unlink(path) == 0, "unlink the file", "errno %d (%s)", errno, strerror(errno));
    printf("bigfile: %ld MiB, write %.1f MiB/s, read %.1f MiB/s, read again %.1f MiB/s, mmap %.1f MiB/s\n", mib,
           ws_rate(bytes, write_s), ws_rate(bytes, read_s[0]), ws_rate(bytes, read_s[1]), ws_rate(bytes, mmap_s));
    ws_print_vmstat();
    return ktest_done();
}
