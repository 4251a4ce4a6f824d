/*
 * msync_persist: writes two files for a boot test that reads them back from
 * the disk image on the host with debugfs (Tests/Boot/boot_tests.py, which
 * computes the same bytes).
 *
 *     msync_persist sync DIR     DIR/mapped.bin is stored through a MAP_SHARED
 *                                mapping and msync(MS_SYNC)'d; DIR/written.bin
 *                                is written with write() and nothing else; then
 *                                the program exits (as init: the kernel syncs
 *                                and powers off)
 *     msync_persist expire DIR   the same without msync, after setting
 *                                dirty_expire_centisecs and
 *                                dirty_writeback_centisecs to 100 (1 s); it
 *                                waits for the flusher (Dirty and Writeback
 *                                in /proc/meminfo at 0, at least 3 s, at most
 *                                20 s), prints "msync_persist: waited" and
 *                                sleeps: the boot test cuts the power then,
 *                                so only what the flusher wrote is on the disk
 *
 * Lines starting "msync_persist: error:" report what went wrong; in expire
 * mode the program still waits and never exits, so no power-off sync can
 * hide a missing flusher.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAPPED_BYTES (3 * 4096 + 100)
#define WRITTEN_BYTES (2 * 4096 + 10)

/* The bytes of each file; boot_tests.py has the same formulas. */
static unsigned char mapped_byte(long i) { return (unsigned char)(i * 13 + i / 4096 + 5); }
static unsigned char written_byte(long i) { return (unsigned char)(i * 11 + 3); }

static int errors;

static void error(const char *what)
{
    printf("msync_persist: error: %s: errno %d (%s)\n", what, errno, strerror(errno));
    fflush(stdout);
    errors++;
}

static void set_tunable(const char *name, const char *value)
{
    char path[128];
    snprintf(path, sizeof path, "/proc/sys/vm/%s", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
        error(path);
    if (fd >= 0)
        close(fd);
}

static long meminfo_kb(const char *field)
{
    char b[4096];
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    b[n > 0 ? n : 0] = 0;
    size_t k = strlen(field);
    for (char *line = b; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, field, k) == 0 && line[k] == ':')
            return atol(line + k + 1);
    return -1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "sync") != 0 && strcmp(argv[1], "expire") != 0)) {
        fprintf(stderr, "usage: msync_persist sync|expire DIR\n");
        return 2;
    }
    bool expire = strcmp(argv[1], "expire") == 0;
    char mapped[256], written[256];
    snprintf(mapped, sizeof mapped, "%s/mapped.bin", argv[2]);
    snprintf(written, sizeof written, "%s/written.bin", argv[2]);
    if (expire) {
        set_tunable("dirty_expire_centisecs", "100\n");
        set_tunable("dirty_writeback_centisecs", "100\n");
    }

    int fd = open(mapped, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, MAPPED_BYTES) != 0) {
        error(mapped);
    } else {
        unsigned char *m = mmap(NULL, MAPPED_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            error("mmap MAP_SHARED");
        } else {
            for (long i = 0; i < MAPPED_BYTES; i++)
                m[i] = mapped_byte(i);
            if (!expire && msync(m, MAPPED_BYTES, MS_SYNC) != 0)
                error("msync MS_SYNC");
        }
    }
    if (fd >= 0)
        close(fd);
    printf("msync_persist: %s stored through MAP_SHARED%s\n", mapped, expire ? "" : " and msync'd");

    static unsigned char b[WRITTEN_BYTES];
    for (long i = 0; i < WRITTEN_BYTES; i++)
        b[i] = written_byte(i);
    fd = open(written, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, b, WRITTEN_BYTES) != WRITTEN_BYTES)
        error(written);
    if (fd >= 0)
        close(fd);
    printf("msync_persist: %s written with write()\n", written);
    fflush(stdout);

    if (!expire) {
        printf("msync_persist: done, %d errors\n", errors);
        return errors == 0 ? 0 : 1;
    }
    double start = now();
    while (now() - start < 20 && (now() - start < 3 || meminfo_kb("Dirty") != 0 || meminfo_kb("Writeback") != 0))
        usleep(100 * 1000);
    printf("msync_persist: Dirty %ld kB, Writeback %ld kB after %.1f s\n", meminfo_kb("Dirty"),
           meminfo_kb("Writeback"), now() - start);
    printf("msync_persist: waited, %d errors\n", errors);
    fflush(stdout);
    for (;;)
        pause();
}
