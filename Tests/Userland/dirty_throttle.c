/*
 * dirty_throttle FILE: balance_dirty_pages seen from a writer. It sets
 * /proc/sys/vm/dirty_bytes to 1 MiB (and dirty_background_bytes to 512 KiB),
 * writes 32 MiB to FILE in 64 KiB pieces (byte i of the file is i % 251),
 * reads /proc/meminfo's Dirty after each piece, and prints
 *     dirty_throttle: wrote N KiB, Dirty at most M KiB, throttled T times
 * where T is the growth of Keel's pgdirtythrottle counter in /proc/vmstat.
 * A boot test runs it on an ext2 root (Keel only: pgdirtythrottle is Keel's,
 * and a shared host's Dirty is everybody's) and checks the file with debugfs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

static int set_tunable(const char *name, const char *value)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/vm/%s", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    ssize_t n = write(fd, value, strlen(value));
    close(fd);
    return n == (ssize_t)strlen(value) ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: dirty_throttle FILE\n");
        return 2;
    }
    if (set_tunable("dirty_bytes", "1048576") != 0 || set_tunable("dirty_background_bytes", "524288") != 0) {
        perror("dirty_throttle: /proc/sys/vm");
        return 1;
    }
    long long throttled = vmstat_counter("pgdirtythrottle");
    int fd = open(argv[1], O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    static unsigned char piece[64 * 1024];
    long long written = 0, most = 0;
    for (int i = 0; i < 512; i++) {
        for (size_t j = 0; j < sizeof piece; j++) piece[j] = (unsigned char)((written + (long long)j) % 251);
        if (write(fd, piece, sizeof piece) != (ssize_t)sizeof piece) {
            perror("dirty_throttle: write");
            return 1;
        }
        written += (long long)sizeof piece;
        long long dirty = meminfo_kib("Dirty");
        if (dirty > most) most = dirty;
    }
    close(fd);
    printf("dirty_throttle: wrote %lld KiB, Dirty at most %lld KiB, throttled %lld times\n", written / 1024, most,
           vmstat_counter("pgdirtythrottle") - throttled);
    return 0;
}
