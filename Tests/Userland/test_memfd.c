/*
 * test_memfd: memfd_create(2), an anonymous file in memory (Linux:
 * mm/memfd.c memfd_create(), memfd_add_seals(); mm/shmem.c).
 *
 *   - the file: a regular file of size 0, mode 0777, no links, named
 *     "/memfd:NAME (deleted)" in /proc/self/fd and /proc/self/maps; read,
 *     write, lseek and ftruncate as any file;
 *   - the arguments: MFD_CLOEXEC sets FD_CLOEXEC; unknown flags are EINVAL;
 *     a name of 249 bytes is fine, 250 EINVAL; a bad name pointer EFAULT;
 *   - sharing: an ftruncate'd memfd mapped MAP_SHARED is the same memory in
 *     a forked child, through write() and through the mapping;
 *   - seals (F_ADD_SEALS, F_GET_SEALS): without MFD_ALLOW_SEALING the file
 *     has F_SEAL_SEAL and takes no more (EPERM); F_SEAL_WRITE is EBUSY while
 *     a writable shared mapping exists, then write() and new writable shared
 *     mappings are EPERM (private ones are fine) and mprotect to PROT_WRITE
 *     EACCES; F_SEAL_SHRINK and F_SEAL_GROW refuse the size changes they
 *     name; F_SEAL_FUTURE_WRITE keeps existing mappings writable;
 *     F_SEAL_SEAL ends all changes; an unknown seal is EINVAL, a file open
 *     read-only may not add seals (EPERM); a tmpfs file that is not a memfd
 *     is sealed with F_SEAL_SEAL, a file on disk has no seals (EINVAL).
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096L
#define TMPFS_MAGIC 0x01021994

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#define MFD_ALLOW_SEALING 0x0002U
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

/* The raw call: errno as the kernel says, whatever libc knows. */
static int memfd(const char *name, unsigned flags)
{
    return (int)syscall(SYS_memfd_create, name, flags);
}

static void test_file(void)
{
    int fd = memfd("keel-test", 0);
    if (!ok(fd >= 0, "memfd_create(\"keel-test\", 0)", "errno %d (%s)", errno, strerror(errno)))
        return;
    struct stat st;
    ok(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0777 && st.st_size == 0 &&
       st.st_nlink == 0, "it is a regular file, mode 0777, size 0, no links", "mode %o size %ld nlink %ld",
       (unsigned)st.st_mode, (long)st.st_size, (long)st.st_nlink);
    char link[64], target[300];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n > 0 ? n : 0] = 0;
    ok(strcmp(target, "/memfd:keel-test (deleted)") == 0, "/proc/self/fd names it \"/memfd:keel-test (deleted)\"",
       "readlink gives \"%s\" (errno %d)", target, n < 0 ? errno : 0);
    ok(fcntl(fd, F_GETFD) == 0, "without MFD_CLOEXEC, FD_CLOEXEC is clear", "F_GETFD %d", fcntl(fd, F_GETFD));
    ok(write(fd, "hello, memfd", 12) == 12 && lseek(fd, 0, SEEK_END) == 12, "write() grows it", "errno %d", errno);
    char buf[16] = { 0 };
    ok(pread(fd, buf, sizeof buf, 0) == 12 && memcmp(buf, "hello, memfd", 12) == 0, "pread() reads it back", "\"%s\"",
       buf);
    ok(ftruncate(fd, 3 * PAGE) == 0 && fstat(fd, &st) == 0 && st.st_size == 3 * PAGE, "ftruncate to 3 pages",
       "size %ld", (long)st.st_size);
    unsigned char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ok(m != MAP_FAILED, "mmap it MAP_SHARED, writable", "errno %d (%s)", errno, strerror(errno))) {
        ok(memcmp(m, "hello, memfd", 12) == 0 && m[3 * PAGE - 1] == 0, "the mapping shows its bytes, then zeros",
           "wrong bytes");
        bool named = false;
        FILE *f = fopen("/proc/self/maps", "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            if (strtoul(line, NULL, 16) == (uintptr_t)m && strstr(line, " /memfd:keel-test (deleted)\n"))
                named = true;
        if (f)
            fclose(f);
        ok(named, "/proc/self/maps names the mapping \"/memfd:keel-test (deleted)\"", "no such line");
        munmap(m, 3 * PAGE);
    }
    close(fd);

    int cfd = memfd("keel-cloexec", MFD_CLOEXEC);
    ok(cfd >= 0 && fcntl(cfd, F_GETFD) == FD_CLOEXEC, "MFD_CLOEXEC sets FD_CLOEXEC", "fd %d F_GETFD %d", cfd,
       cfd >= 0 ? fcntl(cfd, F_GETFD) : -1);
    if (cfd >= 0)
        close(cfd);
}

static void test_arguments(void)
{
    ok_errno(memfd("bad", 0x100), EINVAL, "an unknown flag is EINVAL");
    ok_errno(memfd("bad", 1U << 26), EINVAL, "a huge-page size without MFD_HUGETLB is EINVAL");
    char name[300];
    memset(name, 'n', sizeof name);
    name[249] = 0;
    int fd = memfd(name, 0);
    ok(fd >= 0, "a name of 249 bytes is fine", "errno %d (%s)", errno, strerror(errno));
    if (fd >= 0)
        close(fd);
    name[249] = 'n';
    name[250] = 0;
    ok_errno(memfd(name, 0), EINVAL, "a name of 250 bytes is EINVAL (NAME_MAX less \"memfd:\")");
    ok_errno(memfd((const char *)1, 0), EFAULT, "a bad name pointer is EFAULT");
    ok_errno(memfd(NULL, 0), EFAULT, "a NULL name is EFAULT");
    fd = memfd("", 0);
    ok(fd >= 0, "an empty name is fine", "errno %d", errno);
    if (fd >= 0)
        close(fd);
}

static void test_shared_across_fork(void)
{
    int fd = memfd("keel-shared", 0);
    if (!ok(fd >= 0 && ftruncate(fd, 2 * PAGE) == 0, "a 2-page memfd", "errno %d (%s)", errno, strerror(errno)))
        return;
    volatile unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (!ok(m != MAP_FAILED, "mmap it MAP_SHARED", "errno %d (%s)", errno, strerror(errno))) {
        close(fd);
        return;
    }
    m[0] = 'P';
    pid_t pid = fork();
    if (pid == 0) {
        /* The child sees the parent's store, stores, and writes through the fd. */
        bool seen = m[0] == 'P';
        m[PAGE + 1] = 'C';
        bool wrote = pwrite(fd, "W", 1, 100) == 1;
        _exit(seen && wrote ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child sees the parent's store", "status %#x",
       status);
    ok(m[PAGE + 1] == 'C', "the parent sees the child's store through the shared mapping", "0x%02x", m[PAGE + 1]);
    ok(m[100] == 'W', "the parent's mapping sees the child's write()", "0x%02x", m[100]);
    char c = 0;
    ok(pread(fd, &c, 1, PAGE + 1) == 1 && c == 'C', "read() sees the child's store", "'%c'", c);
    munmap((void *)m, 2 * PAGE);
    close(fd);
}

static void test_seals(void)
{
    int plain = memfd("keel-plain", 0);
    if (ok(plain >= 0, "a memfd without MFD_ALLOW_SEALING", "errno %d (%s)", errno, strerror(errno))) {
        ok(fcntl(plain, F_GET_SEALS) == F_SEAL_SEAL, "... has F_SEAL_SEAL", "F_GET_SEALS %d (errno %d)",
           fcntl(plain, F_GET_SEALS), errno);
        ok_errno(fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE), EPERM, "... and takes no more seals (EPERM)");
        close(plain);
    }

    int fd = memfd("keel-sealed", MFD_ALLOW_SEALING);
    if (!ok(fd >= 0, "a memfd with MFD_ALLOW_SEALING", "errno %d (%s)", errno, strerror(errno)))
        return;
    ok(fcntl(fd, F_GET_SEALS) == 0, "... has no seals", "F_GET_SEALS %d (errno %d)", fcntl(fd, F_GET_SEALS), errno);
    ok_errno(fcntl(fd, F_ADD_SEALS, 0x100), EINVAL, "an unknown seal is EINVAL");
    ok(write(fd, "sealed data", 11) == 11 && ftruncate(fd, PAGE) == 0, "write and size it to a page", "errno %d",
       errno);
    unsigned char *w = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ok(w != MAP_FAILED, "a writable shared mapping of it", "errno %d", errno)) {
        ok_errno(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY, "F_SEAL_WRITE while it is mapped writable is EBUSY");
        munmap(w, PAGE);
    }
    ok(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0 && fcntl(fd, F_GET_SEALS) == F_SEAL_WRITE,
       "F_SEAL_WRITE once unmapped", "errno %d, seals %d", errno, fcntl(fd, F_GET_SEALS));
    ok_errno(write(fd, "x", 1), EPERM, "with F_SEAL_WRITE, write() is EPERM");
    ok_errno(pwrite(fd, "x", 1, 3), EPERM, "... and pwrite()");
    void *s = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ok(s == MAP_FAILED && errno == EPERM, "... and a writable shared mapping", "%s",
       s == MAP_FAILED ? strerror(errno) : "it was mapped");
    void *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
    if (ok(r != MAP_FAILED && memcmp(r, "sealed data", 11) == 0, "a read-only shared mapping is fine", "errno %d",
           errno)) {
        ok_errno(mprotect(r, PAGE, PROT_READ | PROT_WRITE), EACCES, "... but mprotect to PROT_WRITE is EACCES");
        munmap(r, PAGE);
    }
    unsigned char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (ok(p != MAP_FAILED, "a private writable mapping is fine", "errno %d", errno)) {
        p[0] = 'X';
        char c = 0;
        ok(pread(fd, &c, 1, 0) == 1 && c == 's', "... and its stores stay private", "'%c'", c);
        munmap(p, PAGE);
    }
    struct stat st;
    ok(ftruncate(fd, 2 * PAGE) == 0 && fstat(fd, &st) == 0 && st.st_size == 2 * PAGE,
       "F_SEAL_WRITE does not stop ftruncate", "errno %d", errno);

    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int ro = open(link, O_RDONLY);
    if (ok(ro >= 0, "open it again read-only through /proc/self/fd", "errno %d (%s)", errno, strerror(errno))) {
        ok(fcntl(ro, F_GET_SEALS) == F_SEAL_WRITE, "the seals belong to the file, not the descriptor", "%d",
           fcntl(ro, F_GET_SEALS));
        ok_errno(fcntl(ro, F_ADD_SEALS, F_SEAL_GROW), EPERM, "a descriptor open read-only cannot add seals");
        close(ro);
    }
    close(fd);

    int g = memfd("keel-size", MFD_ALLOW_SEALING);
    if (ok(g >= 0 && write(g, "abcdef", 6) == 6, "another sealable memfd of 6 bytes", "errno %d", errno)) {
        ok(fcntl(g, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "F_SEAL_SHRINK", "errno %d", errno);
        ok_errno(ftruncate(g, 3), EPERM, "with F_SEAL_SHRINK, shrinking is EPERM");
        ok(ftruncate(g, 100) == 0, "... growing is fine", "errno %d", errno);
        ok(fcntl(g, F_ADD_SEALS, F_SEAL_GROW) == 0 && fcntl(g, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW),
           "F_SEAL_GROW too", "errno %d seals %d", errno, fcntl(g, F_GET_SEALS));
        ok_errno(ftruncate(g, 101), EPERM, "with F_SEAL_GROW, growing is EPERM");
        ok_errno(pwrite(g, "xy", 2, 99), EPERM, "... and so is a write past the end");
        ok(pwrite(g, "zz", 2, 1) == 2 && ftruncate(g, 100) == 0, "a write inside, and ftruncate to the same size, are fine",
           "errno %d", errno);
        ok(fcntl(g, F_ADD_SEALS, F_SEAL_SEAL) == 0, "F_SEAL_SEAL", "errno %d", errno);
        ok_errno(fcntl(g, F_ADD_SEALS, F_SEAL_WRITE), EPERM, "after F_SEAL_SEAL no seal can be added");
        ok(fcntl(g, F_GET_SEALS) == (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW), "F_GET_SEALS shows all three",
           "%d", fcntl(g, F_GET_SEALS));
        close(g);
    }

    int f = memfd("keel-future", MFD_ALLOW_SEALING);
    unsigned char *fm = f >= 0 && ftruncate(f, PAGE) == 0
        ? mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0) : MAP_FAILED;
    if (ok(fm != MAP_FAILED, "a sealable memfd mapped writable", "errno %d", errno)) {
        ok(fcntl(f, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0, "F_SEAL_FUTURE_WRITE while mapped writable is fine",
           "errno %d", errno);
        fm[0] = 'F';
        char c = 0;
        ok(pread(f, &c, 1, 0) == 1 && c == 'F', "the existing mapping still writes", "'%c'", c);
        ok_errno(write(f, "x", 1), EPERM, "with F_SEAL_FUTURE_WRITE, write() is EPERM");
        void *n = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
        ok(n == MAP_FAILED && errno == EPERM, "... and a new writable shared mapping", "%s",
           n == MAP_FAILED ? strerror(errno) : "it was mapped");
        munmap(fm, PAGE);
    }
    if (f >= 0)
        close(f);

}

/* Files that are not memfds: a tmpfs file is sealed shut, any other file has
 * no seals at all. */
static void test_other_files(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/keel-memfd-XXXXXX", dir);
    struct statfs sf;
    if (statfs(dir, &sf) != 0)
        return;
    int fd = mkstemp(path);
    if (!ok(fd >= 0, dir, "mkstemp: errno %d", errno))
        return;
    char name[160];
    if (sf.f_type == TMPFS_MAGIC) {
        snprintf(name, sizeof name, "a tmpfs file (%s) has F_SEAL_SEAL", dir);
        ok(fcntl(fd, F_GET_SEALS) == F_SEAL_SEAL, name, "F_GET_SEALS %d (errno %d)", fcntl(fd, F_GET_SEALS), errno);
        snprintf(name, sizeof name, "... and F_ADD_SEALS of it is EPERM");
        ok_errno(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM, name);
    } else {
        snprintf(name, sizeof name, "F_GET_SEALS of a file that is not in memory (%s) is EINVAL", dir);
        ok_errno(fcntl(fd, F_GET_SEALS), EINVAL, name);
        ok_errno(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EINVAL, "... and F_ADD_SEALS");
    }
    close(fd);
    unlink(path);
}

int main(void)
{
    test_file();
    test_arguments();
    test_shared_across_fork();
    test_seals();
    if (mkdir("/tmp", 01777) != 0 && errno != EEXIST)
        note("no /tmp: errno %d", errno);
    test_other_files("/tmp");
    struct statfs sf;
    if (statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC)
        test_other_files("/dev/shm");
    return ktest_done();
}
