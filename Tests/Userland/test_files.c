/*
 * test_files: reading the root file system (the initramfs, read-only for now).
 *
 * Files are looked up under $KEEL_TEST_ROOT ("/" when unset, as on Keel); on
 * Linux the runner points it at the staged root that became the initramfs.
 * tools/build-initramfs.sh writes /etc/keel-test.txt as 100 lines of 64 bytes,
 *     line i = "keel-test %03d " + 49 x the letter ('a' + i % 26) + "\n"
 * (6400 bytes, mode 0644), which expected_text() rebuilds here.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LINE_LEN 64
#define LINES 100
#define FILE_SIZE (LINE_LEN * LINES)

static char expected[FILE_SIZE + 1];
static char root[1024]; /* $KEEL_TEST_ROOT without a trailing '/': "" for "/" */

static void expected_text(void)
{
    for (int i = 0; i < LINES; i++) {
        char *line = expected + i * LINE_LEN;
        snprintf(line, LINE_LEN + 1, "keel-test %03d ", i);
        memset(line + 14, 'a' + i % 26, LINE_LEN - 15);
        line[LINE_LEN - 1] = '\n';
    }
}

/* Builds root + rel (rel starts with '/') in a rotating static buffer. */
static const char *path(const char *rel)
{
    static char bufs[4][1100];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s%s", root, rel);
    return b;
}

static void test_read(void)
{
    int fd = open(path("/etc/keel-test.txt"), O_RDONLY);
    if (!ok(fd >= 0, "open /etc/keel-test.txt", "%s: errno %d (%s)", path("/etc/keel-test.txt"),
            errno, strerror(errno)))
        return;
    struct stat st;
    ok(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == FILE_SIZE &&
           (st.st_mode & 07777) == 0644 && st.st_ino != 0 && st.st_nlink == 1,
       "fstat: regular file, 6400 bytes, mode 0644", "mode %o size %lld ino %llu nlink %lu",
       st.st_mode, (long long)st.st_size, (unsigned long long)st.st_ino, (unsigned long)st.st_nlink);

    static char buf[FILE_SIZE + 100];
    size_t len = 0;
    ssize_t n;
    while ((n = read(fd, buf + len, 1000)) > 0)
        len += (size_t)n;
    ok(n == 0 && len == FILE_SIZE && memcmp(buf, expected, FILE_SIZE) == 0,
       "read in 1000-byte pieces gives the whole file", "read %zu bytes, last read %zd", len, n);
    n = read(fd, buf, 10);
    ok(n == 0, "read at end of file returns 0", "%zd", n);

    off_t o = lseek(fd, 0, SEEK_CUR);
    ok(o == FILE_SIZE, "lseek(0, SEEK_CUR) after reading is the size", "%lld", (long long)o);
    o = lseek(fd, 100, SEEK_SET);
    n = read(fd, buf, 10);
    ok(o == 100 && n == 10 && memcmp(buf, expected + 100, 10) == 0, "lseek SEEK_SET then read",
       "lseek %lld read %zd", (long long)o, n);
    o = lseek(fd, 5, SEEK_CUR);
    n = read(fd, buf, 10);
    ok(o == 115 && n == 10 && memcmp(buf, expected + 115, 10) == 0, "lseek SEEK_CUR then read",
       "lseek %lld read %zd", (long long)o, n);
    o = lseek(fd, -LINE_LEN, SEEK_END);
    n = read(fd, buf, 100);
    ok(o == FILE_SIZE - LINE_LEN && n == LINE_LEN && memcmp(buf, expected + o, LINE_LEN) == 0,
       "lseek SEEK_END then read stops at the end", "lseek %lld read %zd", (long long)o, n);
    o = lseek(fd, 10000, SEEK_SET);
    n = read(fd, buf, 10);
    ok(o == 10000 && n == 0, "lseek past the end, read returns 0", "lseek %lld read %zd",
       (long long)o, n);
    o = lseek(fd, -1, SEEK_SET);
    ok_errno(o, EINVAL, "lseek to a negative offset: EINVAL");
    o = lseek(fd, 0, 99);
    ok_errno(o, EINVAL, "lseek with a bad whence: EINVAL");

    lseek(fd, 7, SEEK_SET);
    n = pread(fd, buf, 100, 4050);
    ok(n == 100 && memcmp(buf, expected + 4050, 100) == 0, "pread across a page boundary", "%zd", n);
    o = lseek(fd, 0, SEEK_CUR);
    ok(o == 7, "pread leaves the file offset alone", "offset %lld", (long long)o);
    n = pread(fd, buf, 100, FILE_SIZE - 30);
    ok(n == 30 && memcmp(buf, expected + FILE_SIZE - 30, 30) == 0, "pread near the end is short",
       "%zd", n);
    n = pread(fd, buf, 100, -1);
    ok_errno(n, EINVAL, "pread at a negative offset: EINVAL");

    ok(close(fd) == 0, "close", "errno %d", errno);
    n = read(fd, buf, 1);
    ok_errno(n, EBADF, "read after close: EBADF");

    fd = open(path("/etc/hostname"), O_RDONLY);
    n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    ok(n > 0, "/etc/hostname is readable", "fd %d read %zd errno %d", fd, n, errno);
    close(fd);
}

static void test_lookup_errors(void)
{
    int fd = open(path("/etc/keel-test.txt"), O_RDONLY | O_DIRECTORY);
    ok_errno(fd, ENOTDIR, "O_DIRECTORY on a file: ENOTDIR");
    fd = open(path("/etc/keel-test.txt/x"), O_RDONLY);
    ok_errno(fd, ENOTDIR, "a file used as a directory: ENOTDIR");
    fd = open(path("/etc/missing"), O_RDONLY);
    ok_errno(fd, ENOENT, "open of a missing file: ENOENT");

    fd = open(path("/etc"), O_RDONLY | O_DIRECTORY);
    char c;
    ssize_t n = fd >= 0 ? read(fd, &c, 1) : 0;
    ok_errno(n, EISDIR, "read on a directory: EISDIR");
    close(fd);

    char buf[64];
    n = readlink(path("/etc/missing"), buf, sizeof buf);
    ok_errno(n, ENOENT, "readlink of a missing path: ENOENT");
    n = readlink(path("/etc/keel-test.txt"), buf, sizeof buf);
    ok_errno(n, EINVAL, "readlink of a regular file: EINVAL");
}

struct dir_entry {
    char name[256];
    unsigned char type;
    uint64_t ino;
};

/* Lists a directory with raw getdents64 into `out`; returns the count or -1. */
static int list_dir(const char *dir, struct dir_entry *out, int max, char *why, size_t why_size)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        snprintf(why, why_size, "open %s: errno %d", dir, errno);
        return -1;
    }
    int count = 0;
    char buf[512] __attribute__((aligned(8)));
    long n;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long pos = 0; pos < n;) {
            struct dirent *d = (struct dirent *)(buf + pos);
            if (d->d_reclen == 0 || d->d_reclen % 8 != 0 || pos + d->d_reclen > n) {
                snprintf(why, why_size, "bad d_reclen %u at %ld of %ld", d->d_reclen, pos, n);
                close(fd);
                return -1;
            }
            if (count < max) {
                snprintf(out[count].name, sizeof out[count].name, "%s", d->d_name);
                out[count].type = d->d_type;
                out[count].ino = d->d_ino;
            }
            count++;
            pos += d->d_reclen;
        }
    }
    close(fd);
    if (n < 0) {
        snprintf(why, why_size, "getdents64: errno %d", errno);
        return -1;
    }
    return count;
}

static const struct dir_entry *find_entry(const struct dir_entry *e, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0)
            return &e[i];
    return NULL;
}

static void expect_entry(const struct dir_entry *e, int n, const char *dir, const char *name,
                         unsigned char type)
{
    char label[128];
    snprintf(label, sizeof label, "%s lists %s (%s)", dir, name, type == DT_DIR ? "dir" : "file");
    const struct dir_entry *d = find_entry(e, n, name);
    ok(d && d->type == type && d->ino != 0, label, "%s", d ? "wrong d_type or d_ino 0" : "missing");
}

static void test_getdents(void)
{
    static struct dir_entry e[256];
    char why[128];
    int n = list_dir(path("/etc"), e, 256, why, sizeof why);
    if (ok(n > 0, "getdents64 of /etc", "%s", why)) {
        expect_entry(e, n, "/etc", ".", DT_DIR);
        expect_entry(e, n, "/etc", "..", DT_DIR);
        expect_entry(e, n, "/etc", "keel-test.txt", DT_REG);
        expect_entry(e, n, "/etc", "hostname", DT_REG);
        struct stat st;
        const struct dir_entry *d = find_entry(e, n, "keel-test.txt");
        ok(d && stat(path("/etc/keel-test.txt"), &st) == 0 && st.st_ino == d->ino,
           "d_ino matches stat's st_ino", "errno %d", errno);
    }
    n = list_dir(root[0] ? root : "/", e, 256, why, sizeof why);
    if (ok(n > 0, "getdents64 of the root", "%s", why)) {
        expect_entry(e, n, "/", "bin", DT_DIR);
        expect_entry(e, n, "/", "etc", DT_DIR);
        expect_entry(e, n, "/", "sbin", DT_DIR);
    }
    n = list_dir(path("/bin"), e, 256, why, sizeof why);
    if (ok(n > 0, "getdents64 of /bin", "%s", why))
        expect_entry(e, n, "/bin", "test_files", DT_REG);

    int fd = open(path("/etc"), O_RDONLY | O_DIRECTORY);
    char tiny[8];
    long r = syscall(SYS_getdents64, fd, tiny, sizeof tiny);
    ok_errno(r, EINVAL, "getdents64 with a buffer too small for an entry: EINVAL");
    close(fd);
    r = syscall(SYS_getdents64, 999, tiny, sizeof tiny);
    ok_errno(r, EBADF, "getdents64 on a bad fd: EBADF");
    fd = open(path("/etc/keel-test.txt"), O_RDONLY);
    char big[512];
    r = syscall(SYS_getdents64, fd, big, sizeof big);
    ok_errno(r, ENOTDIR, "getdents64 on a file: ENOTDIR");
    close(fd);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_cwd(void)
{
    char start[1024], etc[1024], back[1024];
    if (!ok(getcwd(start, sizeof start) != NULL, "getcwd", "errno %d", errno))
        return;
    if (!ok(chdir(path("/etc")) == 0, "chdir /etc", "errno %d", errno))
        return;
    ok(getcwd(etc, sizeof etc) && ends_with(etc, "/etc") && (root[0] || strcmp(etc, "/etc") == 0),
       "getcwd after chdir names /etc", "\"%s\"", etc);
    int fd = open("keel-test.txt", O_RDONLY);
    char buf[LINE_LEN];
    ok(fd >= 0 && read(fd, buf, LINE_LEN) == LINE_LEN && memcmp(buf, expected, LINE_LEN) == 0,
       "open relative to the new cwd", "fd %d errno %d", fd, errno);
    close(fd);

    struct stat st;
    long r = syscall(SYS_newfstatat, AT_FDCWD, "keel-test.txt", &st, 0);
    ok(r == 0 && st.st_size == FILE_SIZE && S_ISREG(st.st_mode), "newfstatat(AT_FDCWD, relative)",
       "returned %ld errno %d", r, errno);
    int dirfd = open(".", O_RDONLY | O_DIRECTORY);
    r = syscall(SYS_newfstatat, dirfd, "hostname", &st, 0);
    ok(r == 0 && S_ISREG(st.st_mode), "newfstatat(dirfd, name)", "returned %ld errno %d", r, errno);
    r = syscall(SYS_newfstatat, dirfd, "missing", &st, 0);
    ok_errno(r, ENOENT, "newfstatat of a missing name: ENOENT");
    r = syscall(SYS_newfstatat, AT_FDCWD, ".", &st, 0);
    ok(r == 0 && S_ISDIR(st.st_mode), "newfstatat of \".\" is a directory", "returned %ld", r);
    fd = openat(dirfd, "keel-test.txt", O_RDONLY);
    ok(fd >= 0, "openat(dirfd, name)", "errno %d", errno);
    close(fd);
    close(dirfd);

    ok(chdir("..") == 0 && getcwd(back, sizeof back) != NULL, "chdir ..", "errno %d", errno);
    size_t up = strlen(etc) - strlen("/etc");
    ok(strncmp(back, etc, up) == 0 && strlen(back) == (up ? up : 1), "getcwd after chdir .. is the parent",
       "\"%s\" from \"%s\"", back, etc);

    int rc = chdir(path("/etc/missing"));
    ok_errno(rc, ENOENT, "chdir to a missing directory: ENOENT");
    rc = chdir(path("/etc/keel-test.txt"));
    ok_errno(rc, ENOTDIR, "chdir to a file: ENOTDIR");
    chdir(start);
}

int main(void)
{
    const char *r = getenv("KEEL_TEST_ROOT");
    snprintf(root, sizeof root, "%s", r && *r ? r : "/");
    size_t len = strlen(root);
    while (len > 0 && root[len - 1] == '/')
        root[--len] = '\0';
    note("root \"%s\"", root[0] ? root : "/");
    expected_text();
    test_read();
    test_lookup_errors();
    test_getdents();
    test_cwd();
    return ktest_done();
}
