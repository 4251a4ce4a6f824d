/*
 * test_mincore: mincore(2) as Linux defines it: one byte per page, 1 for a
 * page in memory; a file's pages count if the page cache holds them, even
 * unmapped; anonymous pages never touched do not. Errors in Linux's order:
 * EINVAL for an unaligned start, ENOMEM for a range outside user space or
 * with a hole, EFAULT for a vector it cannot write. (Pages in swap: the
 * boot test's swap_inuse.)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktest.h"

int main(void)
{
    long page = 4096;
    unsigned char vec[16];
    char *anon = mmap(NULL, 8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED)
        return 1;
    anon[0] = 1;
    anon[2 * page] = 1;
    memset(vec, 0xee, sizeof vec);
    ok(mincore(anon, 4 * page, vec) == 0 && vec[0] == 1 && vec[1] == 0 && vec[2] == 1 && vec[3] == 0 && vec[4] == 0xee,
       "anonymous pages: written ones are resident, untouched ones not", "%d %d %d %d %d", vec[0], vec[1], vec[2],
       vec[3], vec[4]);
    ok(mincore(anon, 2 * page + 1, vec) == 0 && vec[2] == 1, "a length is rounded up to whole pages", "%d", vec[2]);
    volatile char sink = anon[5 * page];
    (void)sink;
    ok(mincore(anon + 5 * page, page, vec) == 0 && vec[0] == 1, "a page read maps the zero page: resident", "%d", vec[0]);
    madvise(anon, 8 * page, MADV_DONTNEED);
    ok(mincore(anon, 4 * page, vec) == 0 && vec[0] == 0 && vec[2] == 0, "after MADV_DONTNEED: not resident", "%d %d",
       vec[0], vec[2]);
    ok(mincore(anon, 0, vec) == 0, "length 0", "errno %d", errno);
    ok_errno(mincore(anon + 1, page, vec), EINVAL, "unaligned start: EINVAL");
    ok_errno(mincore(anon, page, NULL), EFAULT, "NULL vector: EFAULT");
    ok_errno(mincore(anon, page, (void *)0xffff800000000000UL), EFAULT, "kernel vector: EFAULT");
    ok_errno(mincore((void *)0xffff800000000000UL, page, vec), ENOMEM, "kernel range: ENOMEM");
    ok_errno(mincore(anon, (size_t)-4096, vec), ENOMEM, "range past user space: ENOMEM");
    munmap(anon + 4 * page, page);
    ok_errno(mincore(anon, 8 * page, vec), ENOMEM, "a hole in the range: ENOMEM");

    if (mkdir("/tmp", 01777) != 0 && errno != EEXIST)
        note("no /tmp: %s", strerror(errno));
    char name[] = "/tmp/test_mincore.XXXXXX";
    int fd = mkstemp(name);
    static char data[3 * 4096];
    memset(data, 'x', sizeof data);
    ok(fd >= 0 && write(fd, data, sizeof data) == (ssize_t)sizeof data, "write a 3-page file", "%s", strerror(errno));
    char *file = mmap(NULL, 4 * page, PROT_READ, MAP_SHARED, fd, 0);
    ok(file != MAP_FAILED && mincore(file, 3 * page, vec) == 0 && vec[0] == 1 && vec[1] == 1 && vec[2] == 1,
       "a file's cached pages are resident before any access", "%d %d %d", vec[0], vec[1], vec[2]);
    ok(mincore(file, 4 * page, vec) == 0 && vec[3] == 0, "the page past the file's end is not", "%d", vec[3]);
    unlink(name);
    close(fd);
    return ktest_done();
}
