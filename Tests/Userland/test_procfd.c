/*
 * test_procfd: /proc/<pid>/fd and /proc/<pid>/fdinfo (Linux: fs/proc/fd.c).
 *
 *   - fd is a directory (mode 0500) listing every open descriptor as a
 *     symlink (d_type DT_LNK); lstat of an entry shows S_IFLNK, size 64, mode
 *     0500 / 0300 / 0700 for a descriptor open for reading / writing / both;
 *     a closed descriptor is ENOENT;
 *   - readlink gives the path as Linux prints it: absolute even when opened
 *     by a relative name, " (deleted)" after unlink, "pipe:[ino]" for both
 *     ends of a pipe, "/memfd:NAME (deleted)", "/dev/null", the console's
 *     path; a short buffer truncates; /proc/self/fd is /proc/<pid>/fd;
 *   - the link is a "magic" one: opening it opens the same file anew, with
 *     the new flags and an offset of its own, even after unlink (stores
 *     through it are the file's); stat follows it to the file; O_NOFOLLOW is
 *     ELOOP and O_PATH|O_NOFOLLOW gives the link itself; a path may go on
 *     through a directory's link ("fd/N/name", chdir, getcwd); a trailing
 *     slash on a file's link is ENOTDIR; O_CREAT opens the existing file and
 *     O_CREAT|O_EXCL is EEXIST;
 *   - fdinfo/N (mode 0444): "pos:" the offset, "flags:" in octal with the
 *     access mode, O_APPEND and O_CLOEXEC, "ino:" the inode number;
 *   - another process's descriptors: readlink and open through
 *     /proc/<child>/fd/N; gone once the child is reaped.
 *
 * Usage: test_procfd [DIR] (default /tmp).
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

static const char *dir = "/tmp";

/* The text of /proc/self/fd/FD (or of PATH when FD < 0); "" with errno on failure. */
static const char *link_of(int fd, const char *path)
{
    static char buf[4][4096];
    static int next;
    char *out = buf[next++ % 4], name[64];
    if (fd >= 0) {
        snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
        path = name;
    }
    ssize_t n = readlink(path, out, 4095);
    out[n > 0 ? n : 0] = 0;
    return out;
}

static char *fd_path(char *buf, size_t size, const char *sub, int fd)
{
    snprintf(buf, size, "/proc/self/%s/%d", sub, fd);
    return buf;
}

/* ---- the directory and its entries ---- */

static void test_listing(void)
{
    struct stat st;
    ok(lstat("/proc/self/fd", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0500,
       "/proc/self/fd is a directory, mode 0500", "errno %d mode %o", errno, st.st_mode);
    ok(lstat("/proc/self/fdinfo", &st) == 0 && S_ISDIR(st.st_mode), "/proc/self/fdinfo is a directory",
       "errno %d mode %o", errno, st.st_mode);

    int extra = open("/proc/self/status", O_RDONLY);
    int high = dup2(extra, 77);
    DIR *d = opendir("/proc/self/fd");
    if (!ok(d != NULL && high == 77, "opendir /proc/self/fd", "errno %d", errno)) return;
    bool listed[1024] = { false }, types_ok = true, dots = false;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            dots = true;
            continue;
        }
        int fd = atoi(e->d_name);
        if (fd >= 0 && fd < 1024) listed[fd] = true;
        if (e->d_type != DT_LNK) types_ok = false;
        count++;
    }
    int expected = 0;
    bool same = true;
    for (int fd = 0; fd < 1024; fd++) {
        bool open_now = fcntl(fd, F_GETFD) >= 0;
        expected += open_now;
        if (open_now != listed[fd]) same = false;
    }
    closedir(d);
    ok(same && count == expected, "it lists exactly the open descriptors (the directory's own too)",
       "%d listed, %d open", count, expected);
    ok(listed[77] && listed[extra], "... among them a dup2'ed 77", "77 %d", listed[77]);
    ok(types_ok && dots, "each entry is DT_LNK, and . and .. are there", "types %d dots %d", types_ok, dots);

    d = opendir("/proc/self/fdinfo");
    int infos = 0;
    bool regular = true;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        infos++;
        if (e->d_type != DT_REG) regular = false;
    }
    if (d) closedir(d);
    ok(infos == count && regular, "fdinfo lists the same descriptors, as regular files", "%d entries, %d in fd",
       infos, count);

    close(77);
    char name[64];
    ok_errno(lstat(fd_path(name, sizeof name, "fd", 77), &st), ENOENT, "a closed descriptor's entry is ENOENT");
    ok_errno(open(fd_path(name, sizeof name, "fdinfo", 77), O_RDONLY), ENOENT, "... and its fdinfo too");
    ok_errno(lstat("/proc/self/fd/01", &st), ENOENT, "a number with a leading zero is no descriptor");
    close(extra);
}

/* ---- the links: lstat, readlink ---- */

static void test_links(void)
{
    char path[256], name[64], want[300];
    snprintf(path, sizeof path, "%s/procfd-%d", dir, (int)getpid());
    int rw = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int ro = open(path, O_RDONLY);
    int wo = open(path, O_WRONLY);
    if (!ok(rw >= 0 && ro >= 0 && wo >= 0, "a file open three ways", "errno %d", errno)) return;

    struct stat st, file;
    fstat(rw, &file);
    ok(lstat(fd_path(name, sizeof name, "fd", rw), &st) == 0 && S_ISLNK(st.st_mode) && st.st_size == 64,
       "lstat of fd/N: a symlink of size 64", "errno %d mode %o size %lld", errno, st.st_mode, (long long)st.st_size);
    ok((st.st_mode & 07777) == 0700, "open O_RDWR: mode 0700", "%o", st.st_mode & 07777);
    ok(lstat(fd_path(name, sizeof name, "fd", ro), &st) == 0 && (st.st_mode & 07777) == 0500,
       "open O_RDONLY: mode 0500", "%o", st.st_mode & 07777);
    ok(lstat(fd_path(name, sizeof name, "fd", wo), &st) == 0 && (st.st_mode & 07777) == 0300,
       "open O_WRONLY: mode 0300", "%o", st.st_mode & 07777);
    ok(stat(fd_path(name, sizeof name, "fd", rw), &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == file.st_ino &&
       st.st_dev == file.st_dev, "stat follows it to the file", "errno %d ino %llu want %llu", errno,
       (unsigned long long)st.st_ino, (unsigned long long)file.st_ino);

    ok(strcmp(link_of(rw, NULL), path) == 0, "readlink gives the file's path", "\"%s\"", link_of(rw, NULL));
    char buf[8] = { 0 };
    ok(readlink(fd_path(name, sizeof name, "fd", rw), buf, 4) == 4 && memcmp(buf, path, 4) == 0 && buf[4] == 0,
       "a short buffer gets the first bytes, no NUL", "\"%s\"", buf);
    int dup = fcntl(rw, F_DUPFD, 40);
    ok(strcmp(link_of(dup, NULL), path) == 0, "a dup'ed descriptor names the same file", "\"%s\"", link_of(dup, NULL));
    close(dup);
    snprintf(name, sizeof name, "/proc/%d/fd/%d", (int)getpid(), rw);
    ok(strcmp(link_of(-1, name), path) == 0, "/proc/<pid>/fd/N is /proc/self/fd/N", "\"%s\"", link_of(-1, name));

    char cwd[256];
    if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
        int rel = open(strrchr(path, '/') + 1, O_RDONLY);
        ok(rel >= 0 && strcmp(link_of(rel, NULL), path) == 0, "a file opened by a relative name: the absolute path",
           "\"%s\"", link_of(rel, NULL));
        close(rel);
        chdir(cwd);
    }
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    ok(d >= 0 && strcmp(link_of(d, NULL), dir) == 0, "a directory: its path", "\"%s\"", link_of(d, NULL));
    close(d);

    ok(unlink(path) == 0, "unlink the file", "errno %d", errno);
    snprintf(want, sizeof want, "%s (deleted)", path);
    ok(strcmp(link_of(rw, NULL), want) == 0, "then readlink says \"(deleted)\"", "\"%s\"", link_of(rw, NULL));
    close(rw);
    close(ro);
    close(wo);

    int p[2];
    if (ok(pipe(p) == 0, "a pipe", "errno %d", errno)) {
        fstat(p[0], &st);
        snprintf(want, sizeof want, "pipe:[%llu]", (unsigned long long)st.st_ino);
        ok(strcmp(link_of(p[0], NULL), want) == 0 && strcmp(link_of(p[1], NULL), want) == 0,
           "both ends read \"pipe:[ino]\"", "\"%s\" \"%s\", want %s", link_of(p[0], NULL), link_of(p[1], NULL), want);
        ok(lstat(fd_path(name, sizeof name, "fd", p[0]), &st) == 0 && (st.st_mode & 07777) == 0500 &&
           lstat(fd_path(name, sizeof name, "fd", p[1]), &st) == 0 && (st.st_mode & 07777) == 0300,
           "the read end's mode is 0500, the write end's 0300", "errno %d", errno);
        close(p[0]);
        close(p[1]);
    }
    int m = (int)syscall(SYS_memfd_create, "procfd", MFD_CLOEXEC);
    if (ok(m >= 0, "a memfd", "errno %d", errno)) {
        ok(strcmp(link_of(m, NULL), "/memfd:procfd (deleted)") == 0, "reads \"/memfd:procfd (deleted)\"", "\"%s\"",
           link_of(m, NULL));
        close(m);
    }
    int n = open("/dev/null", O_WRONLY);
    ok(n >= 0 && strcmp(link_of(n, NULL), "/dev/null") == 0, "/dev/null reads \"/dev/null\"", "\"%s\"",
       link_of(n, NULL));
    close(n);
    int c = open("/dev/console", O_RDONLY | O_NOCTTY);
    if (c >= 0) {
        ok(strcmp(link_of(c, NULL), "/dev/console") == 0, "the console reads \"/dev/console\"", "\"%s\"",
           link_of(c, NULL));
        close(c);
    } else {
        skip("the console reads \"/dev/console\"", "no /dev/console to open here");
    }
}

/* ---- opening through a link ---- */

static void test_reopen(void)
{
    char path[256], name[64], more[128];
    snprintf(path, sizeof path, "%s/procfd-open-%d", dir, (int)getpid());
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (!ok(f >= 0 && write(f, "hello world", 11) == 11, "a file with \"hello world\"", "errno %d", errno)) return;
    fd_path(name, sizeof name, "fd", f);

    int g = open(name, O_RDONLY);
    if (ok(g >= 0, "open it through /proc/self/fd/N read-only", "errno %d (%s)", errno, strerror(errno))) {
        struct stat a, b;
        fstat(f, &a);
        fstat(g, &b);
        ok(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "it is the same file", "ino %llu vs %llu",
           (unsigned long long)a.st_ino, (unsigned long long)b.st_ino);
        ok((fcntl(g, F_GETFL) & O_ACCMODE) == O_RDONLY, "with the new flags (O_RDONLY)", "flags %#x",
           fcntl(g, F_GETFL));
        char buf[16] = { 0 };
        ok(lseek(f, 0, SEEK_CUR) == 11 && read(g, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0,
           "and an offset of its own (0, while the first is at 11)", "\"%s\"", buf);
        ok_errno(write(g, "x", 1), EBADF, "writing the read-only reopening is EBADF");
        close(g);
    }
    ok_errno(open(name, O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW is ELOOP");
    int l = open(name, O_PATH | O_NOFOLLOW);
    struct stat st;
    ok(l >= 0 && fstat(l, &st) == 0 && S_ISLNK(st.st_mode), "O_PATH|O_NOFOLLOW gives the link itself",
       "errno %d mode %o", errno, st.st_mode);
    if (l >= 0) close(l);
    snprintf(more, sizeof more, "%s/", name);
    ok_errno(open(more, O_RDONLY), ENOTDIR, "a trailing slash on a file's link is ENOTDIR");
    int c = open(name, O_RDWR | O_CREAT, 0600);
    ok(c >= 0, "O_CREAT through the link opens the existing file", "errno %d", errno);
    if (c >= 0) close(c);
    ok_errno(open(name, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST, "O_CREAT|O_EXCL through it is EEXIST");

    ok(unlink(path) == 0, "unlink the file", "errno %d", errno);
    int h = open(name, O_RDWR);
    if (ok(h >= 0, "a deleted file still opens through its link", "errno %d (%s)", errno, strerror(errno))) {
        char buf[6] = { 0 };
        ok(pwrite(h, "HELLO", 5, 0) == 5 && pread(f, buf, 5, 0) == 5 && memcmp(buf, "HELLO", 5) == 0,
           "a store through it is the file's", "\"%s\"", buf);
        close(h);
    }
    close(f);

    int d = open(dir, O_RDONLY | O_DIRECTORY);
    snprintf(path, sizeof path, "%s/procfd-inside-%d", dir, (int)getpid());
    int inside = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (ok(d >= 0 && inside >= 0, "a directory open, and a file in it", "errno %d", errno)) {
        snprintf(more, sizeof more, "/proc/self/fd/%d/%s", d, strrchr(path, '/') + 1);
        int x = open(more, O_RDONLY);
        struct stat a, b;
        ok(x >= 0 && fstat(x, &a) == 0 && fstat(inside, &b) == 0 && a.st_ino == b.st_ino,
           "a path goes on through a directory's link (fd/N/name)", "errno %d", errno);
        if (x >= 0) close(x);
        snprintf(more, sizeof more, "/proc/self/fd/%d/.", d);
        ok(stat(more, &a) == 0 && S_ISDIR(a.st_mode), "... and \".\" after it", "errno %d", errno);
        char cwd[256], now[256] = "";
        if (getcwd(cwd, sizeof cwd)) {
            snprintf(more, sizeof more, "/proc/self/fd/%d", d);
            ok(chdir(more) == 0 && getcwd(now, sizeof now) && strcmp(now, dir) == 0,
               "chdir through the link: getcwd is the directory", "errno %d cwd \"%s\"", errno, now);
            chdir(cwd);
        }
        close(inside);
        unlink(path);
    }
    if (d >= 0) close(d);

    int m = (int)syscall(SYS_memfd_create, "reopen", 0);
    if (ok(m >= 0 && write(m, "memfd!", 6) == 6, "a memfd with 6 bytes", "errno %d", errno)) {
        int r = open(fd_path(name, sizeof name, "fd", m), O_RDONLY);
        char buf[8] = { 0 };
        ok(r >= 0 && read(r, buf, 6) == 6 && memcmp(buf, "memfd!", 6) == 0,
           "opening it again through its link reads its bytes", "errno %d \"%s\"", errno, buf);
        if (r >= 0) close(r);
        close(m);
    }
}

/* ---- fdinfo ---- */

/* The value of "FIELD:\t" in /proc/self/fdinfo/FD, as a string; "" if missing. */
static const char *fdinfo_field(int fd, const char *field)
{
    static char out[64];
    char name[64], text[1024];
    out[0] = 0;
    int f = open(fd_path(name, sizeof name, "fdinfo", fd), O_RDONLY);
    if (f < 0) return out;
    ssize_t n = read(f, text, sizeof text - 1);
    close(f);
    text[n > 0 ? n : 0] = 0;
    size_t len = strlen(field);
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, field, len) == 0 && line[len] == ':' && line[len + 1] == '\t') {
            size_t i = 0;
            for (char *v = line + len + 2; *v && *v != '\n' && i < sizeof out - 1; v++) out[i++] = *v;
            out[i] = 0;
            break;
        }
    }
    return out;
}

static void test_fdinfo(void)
{
    char path[256], name[64];
    snprintf(path, sizeof path, "%s/procfd-info-%d", dir, (int)getpid());
    int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (!ok(f >= 0 && write(f, "0123456789", 10) == 10, "a file for fdinfo", "errno %d", errno)) return;
    struct stat st, self;
    ok(lstat(fd_path(name, sizeof name, "fdinfo", f), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0444,
       "fdinfo/N is a regular file, mode 0444", "errno %d mode %o", errno, st.st_mode);
    lseek(f, 7, SEEK_SET);
    ok(strcmp(fdinfo_field(f, "pos"), "7") == 0, "pos: the offset", "\"%s\"", fdinfo_field(f, "pos"));
    unsigned long flags = strtoul(fdinfo_field(f, "flags"), NULL, 8);
    ok(fdinfo_field(f, "flags")[0] == '0' && (flags & O_ACCMODE) == O_RDWR && !(flags & O_CLOEXEC) && !(flags & O_APPEND),
       "flags: octal, O_RDWR", "\"%s\"", fdinfo_field(f, "flags"));
    fcntl(f, F_SETFD, FD_CLOEXEC);
    fcntl(f, F_SETFL, O_APPEND);
    flags = strtoul(fdinfo_field(f, "flags"), NULL, 8);
    ok((flags & O_CLOEXEC) && (flags & O_APPEND), "with FD_CLOEXEC and O_APPEND set, flags show both", "\"%s\"",
       fdinfo_field(f, "flags"));
    fstat(f, &self);
    ok(strtoull(fdinfo_field(f, "ino"), NULL, 10) == self.st_ino, "ino: the inode number", "\"%s\" want %llu",
       fdinfo_field(f, "ino"), (unsigned long long)self.st_ino);
    int r = open(path, O_RDONLY);
    flags = strtoul(fdinfo_field(r, "flags"), NULL, 8);
    ok(r >= 0 && (flags & O_ACCMODE) == O_RDONLY && strcmp(fdinfo_field(r, "pos"), "0") == 0,
       "another open of it: O_RDONLY at 0", "\"%s\"", fdinfo_field(r, "flags"));
    close(r);
    close(f);
    unlink(path);
}

/* ---- another process ---- */

static void test_other_process(void)
{
    char path[256], name[64];
    snprintf(path, sizeof path, "%s/procfd-child-%d", dir, (int)getpid());
    int ready[2], done[2];
    if (!ok(pipe(ready) == 0 && pipe(done) == 0, "pipes", "errno %d", errno)) return;
    pid_t child = fork();
    if (child == 0) {
        int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (f < 0 || write(f, "from the child", 14) != 14 || dup2(f, 50) != 50) _exit(1);
        char c = 'r';
        if (write(ready[1], &c, 1) != 1) _exit(2);
        read(done[0], &c, 1);
        _exit(0);
    }
    char c;
    if (!ok(child > 0 && read(ready[0], &c, 1) == 1, "a child holds a file at descriptor 50", "errno %d", errno)) return;
    snprintf(name, sizeof name, "/proc/%d/fd/50", (int)child);
    ok(strcmp(link_of(-1, name), path) == 0, "readlink /proc/<child>/fd/50 names it", "\"%s\"", link_of(-1, name));
    int f = open(name, O_RDONLY);
    char buf[16] = { 0 };
    ok(f >= 0 && read(f, buf, 14) == 14 && strcmp(buf, "from the child") == 0, "and opening it reads the child's file",
       "errno %d \"%s\"", errno, buf);
    if (f >= 0) close(f);
    write(done[1], "x", 1);
    int status;
    waitpid(child, &status, 0);
    struct stat st;
    ok_errno(lstat(name, &st), ENOENT, "once the child is reaped, its fd directory is gone");
    close(ready[0]); close(ready[1]); close(done[0]); close(done[1]);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc > 1) dir = argv[1];
    else if (mkdir("/tmp", 01777) != 0 && errno != EEXIST) note("no /tmp: errno %d", errno);
    test_listing();
    test_links();
    test_reopen();
    test_fdinfo();
    test_other_process();
    return ktest_done();
}
