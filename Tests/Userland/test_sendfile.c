/*
 * test_sendfile: sendfile(2) copies from a regular file (its page cache) to a
 * pipe or another file without user memory in between; busybox's cat uses it.
 * Runs in a fresh directory under /tmp, on Linux and on Keel.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sendfile.h>
#include <unistd.h>

#define SIZE (3 * 4096 + 100)

static char pattern[SIZE];
static char dir[64];

static const char *path(const char *name)
{
    static char buf[2][128];
    static int next;
    char *out = buf[next++ % 2];
    snprintf(out, sizeof buf[0], "%s/%s", dir, name);
    return out;
}

static void make_source(void)
{
    for (int i = 0; i < SIZE; i++) pattern[i] = (char)('A' + (i * 7 + i / 4096) % 26);
    int fd = open(path("source"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ok(fd >= 0 && write(fd, pattern, SIZE) == SIZE, "the source file is written", "errno %d", errno);
    close(fd);
}

static ssize_t read_all(int fd, char *buf, size_t count)
{
    size_t done = 0;
    while (done < count) {
        ssize_t n = read(fd, buf + done, count - done);
        if (n <= 0) return n < 0 && done == 0 ? -1 : (ssize_t)done;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static void test_to_pipe(void)
{
    int in = open(path("source"), O_RDONLY);
    int p[2];
    ok(in >= 0 && pipe(p) == 0, "open the source and a pipe", "errno %d", errno);
    ssize_t n = sendfile(p[1], in, NULL, SIZE);
    ok(n == SIZE, "sendfile to a pipe copies the whole file", "returned %zd, errno %d", n, errno);
    static char got[SIZE];
    ok(read_all(p[0], got, SIZE) == SIZE && memcmp(got, pattern, SIZE) == 0, "the pipe carries the file's bytes",
       "bytes differ");
    ok(lseek(in, 0, SEEK_CUR) == SIZE, "without an offset pointer the file offset advances", "offset %lld",
       (long long)lseek(in, 0, SEEK_CUR));
    ok(sendfile(p[1], in, NULL, 100) == 0, "at the end of the file sendfile returns 0", "errno %d", errno);
    close(p[0]);
    close(p[1]);
    close(in);
}

static void test_with_offset(void)
{
    int in = open(path("source"), O_RDONLY);
    int out = open(path("copy"), O_CREAT | O_RDWR | O_TRUNC, 0644);
    ok(in >= 0 && out >= 0, "open the source and a copy", "errno %d", errno);
    off_t offset = 4000;
    ssize_t n = sendfile(out, in, &offset, 5000);
    ok(n == 5000 && offset == 9000, "with an offset pointer: 5000 bytes from 4000, *offset becomes 9000",
       "returned %zd, offset %lld, errno %d", n, (long long)offset, errno);
    ok(lseek(in, 0, SEEK_CUR) == 0, "with an offset pointer the file offset stays", "offset %lld",
       (long long)lseek(in, 0, SEEK_CUR));
    static char got[5000];
    ok(pread(out, got, sizeof got, 0) == 5000 && memcmp(got, pattern + 4000, 5000) == 0,
       "the copy holds the bytes from 4000 on", "bytes differ");
    ok(lseek(out, 0, SEEK_CUR) == 5000, "the output's offset advanced by what was written", "offset %lld",
       (long long)lseek(out, 0, SEEK_CUR));
    offset = SIZE - 10;
    n = sendfile(out, in, &offset, 4096);
    ok(n == 10 && offset == SIZE, "a count past the end copies what is left", "returned %zd, offset %lld", n,
       (long long)offset);
    offset = SIZE - 20;
    n = sendfile(out, in, &offset, (size_t)1 << 62);
    ok(n == 20 && offset == SIZE, "a huge count is cut to what the file has", "returned %zd, offset %lld, errno %d",
       n, (long long)offset, errno);
    close(in);
    close(out);
}

static void test_errors(void)
{
    int in = open(path("source"), O_RDONLY);
    int out = open(path("copy"), O_WRONLY);
    int append = open(path("copy"), O_WRONLY | O_APPEND);
    int writeonly = open(path("source"), O_WRONLY);
    int p[2];
    ok(in >= 0 && out >= 0 && append >= 0 && writeonly >= 0 && pipe(p) == 0, "open the files", "errno %d", errno);
    errno = 0;
    ok(sendfile(append, in, NULL, 10) == -1 && errno == EINVAL, "an O_APPEND output is EINVAL", "errno %d", errno);
    errno = 0;
    ok(sendfile(out, writeonly, NULL, 10) == -1 && errno == EBADF, "an input not open for reading is EBADF",
       "errno %d", errno);
    errno = 0;
    ok(sendfile(in, in, NULL, 10) == -1 && errno == EBADF, "an output not open for writing is EBADF", "errno %d",
       errno);
    errno = 0;
    ok(sendfile(out, p[0], NULL, 10) == -1 && errno == EINVAL, "a pipe as the input is EINVAL", "errno %d", errno);
    errno = 0;
    ok(sendfile(out, in, (off_t *)8, 10) == -1 && errno == EFAULT, "a bad offset pointer is EFAULT", "errno %d",
       errno);
    errno = 0;
    ok(sendfile(out, in, NULL, SIZE_MAX) == -1 && errno == EINVAL, "a count with the sign bit set is EINVAL",
       "errno %d", errno);
    off_t negative = -1;
    errno = 0;
    ok(sendfile(out, in, &negative, 10) == -1 && errno == EINVAL, "a negative offset is EINVAL", "errno %d", errno);
    errno = 0;
    ok(sendfile(out, 999, NULL, 10) == -1 && errno == EBADF, "a closed input descriptor is EBADF", "errno %d", errno);
    close(in);
    close(out);
    close(append);
    close(writeonly);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    mkdir("/tmp", 01777); /* Keel's initramfs root has no /tmp; Linux has one (EEXIST) */
    snprintf(dir, sizeof dir, "/tmp/test_sendfile.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("not ok - mkdtemp: errno %d\n", errno);
        return 1;
    }
    make_source();
    test_to_pipe();
    test_with_offset();
    test_errors();
    unlink(path("source"));
    unlink(path("copy"));
    rmdir(dir);
    return ktest_done();
}
