/*
 * test_fs: a writable file system, as a program written for Linux uses it.
 * Everything happens in a fresh directory under /tmp (made on Keel, whose
 * root is a tmpfs; /tmp exists on Linux): creating, writing, reading back,
 * truncating, renaming, linking, removing, permissions and times, devices,
 * and (as root) a size-limited tmpfs of its own that fills up with ENOSPC.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif
#define TMPFS_MAGIC 0x01021994

/* musl wraps neither renameat2 nor statx: the raw calls, with Linux's struct statx. */
static int renameat2_(int olddirfd, const char *old, int newdirfd, const char *new, unsigned flags)
{
    return syscall(SYS_renameat2, olddirfd, old, newdirfd, new, flags);
}

struct statx_ts { int64_t tv_sec; uint32_t tv_nsec; int32_t reserved; };
struct statx_ {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, spare0;
    uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    uint64_t spare[14];
};
#define STATX_BASIC_STATS_ 0x7ffu

static int statx_(int dirfd, const char *path, int flags, unsigned mask, struct statx_ *buf)
{
    return syscall(SYS_statx, dirfd, path, flags, mask, buf);
}

static char base[64];

static const char *at(const char *rel)
{
    static char bufs[4][256];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", base, rel);
    return b;
}

static ssize_t write_all(int fd, const void *buf, size_t n)
{
    return write(fd, buf, n);
}

static void test_create_write_read(void)
{
    int fd = open(at("f"), O_CREAT | O_EXCL | O_RDWR, 0644);
    ok(fd >= 0, "O_CREAT|O_EXCL makes a new file", "errno %d", errno);
    ok_errno(open(at("f"), O_CREAT | O_EXCL | O_RDWR, 0644), EEXIST, "O_CREAT|O_EXCL of an existing name: EEXIST");
    ok(write_all(fd, "hello, world", 12) == 12, "write 12 bytes", "errno %d", errno);
    char buf[64] = {0};
    ok(pread(fd, buf, sizeof buf, 0) == 12 && memcmp(buf, "hello, world", 12) == 0, "pread reads them back", "got '%s'", buf);
    ok(lseek(fd, 0, SEEK_CUR) == 12, "the offset moved past the write", "offset %ld", (long)lseek(fd, 0, SEEK_CUR));
    ok(pwrite(fd, "HELLO", 5, 0) == 5, "pwrite at 0", "errno %d", errno);
    ok(lseek(fd, 0, SEEK_CUR) == 12, "pwrite leaves the offset alone", "offset %ld", (long)lseek(fd, 0, SEEK_CUR));
    ok(lseek(fd, 100, SEEK_SET) == 100 && write(fd, "!", 1) == 1, "write past the end leaves a hole", "errno %d", errno);
    struct stat st;
    ok(fstat(fd, &st) == 0 && st.st_size == 101 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == (0644 & ~022),
       "fstat: size 101, regular, mode 0644 less the umask", "size %ld mode %o", (long)st.st_size, st.st_mode);
    memset(buf, 'x', sizeof buf);
    ok(pread(fd, buf, 20, 10) == 20 && memcmp(buf, "ld", 2) == 0 && buf[2] == 0 && buf[19] == 0,
       "the hole reads as zeros", "byte 2 is %d", buf[2]);
    close(fd);

    fd = open(at("f"), O_WRONLY | O_APPEND);
    ok(fd >= 0 && write(fd, "tail", 4) == 4, "O_APPEND write", "errno %d", errno);
    ok(pwrite(fd, "X", 1, 0) == 1, "pwrite with O_APPEND", "errno %d", errno);
    close(fd);
    ok(stat(at("f"), &st) == 0 && st.st_size == 106, "O_APPEND wrote at the end, pwrite too (Linux appends)",
       "size %ld", (long)st.st_size);
    fd = open(at("f"), O_RDWR | O_TRUNC);
    ok(fd >= 0 && fstat(fd, &st) == 0 && st.st_size == 0, "O_TRUNC empties the file", "size %ld", (long)st.st_size);
    close(fd);
    ok_errno(open(at("f/x"), O_RDONLY), ENOTDIR, "a file as a directory: ENOTDIR");
    ok_errno(open(at("f"), O_RDONLY | O_DIRECTORY), ENOTDIR, "O_DIRECTORY on a file: ENOTDIR");
    ok_errno(open(at("missing/x"), O_CREAT | O_RDWR, 0644), ENOENT, "O_CREAT in a missing directory: ENOENT");
    ok_errno(open(at("newdir/"), O_CREAT | O_RDWR, 0644), EISDIR, "O_CREAT of a name ending in /: EISDIR");
    ok_errno(open(base, O_RDWR), EISDIR, "a directory opened for writing: EISDIR");
    ok_errno(open("/proc/self/exe", O_WRONLY), ETXTBSY, "the running program opened for writing: ETXTBSY");
    char self[256] = {0};
    if (readlink("/proc/self/exe", self, sizeof self - 1) > 0)
        ok_errno(truncate(self, 0), ETXTBSY, "the running program truncated: ETXTBSY");
    fd = creat(at("c"), 0600);
    ok(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600, "creat", "errno %d mode %o", errno, st.st_mode);
    ok_errno(read(fd, buf, 1), EBADF, "creat opens write-only: read is EBADF");
    close(fd);
}

static void test_truncate_and_sparse(void)
{
    int fd = open(at("t"), O_CREAT | O_RDWR, 0644);
    char page[4096];
    memset(page, 'a', sizeof page);
    for (int i = 0; i < 3; i++) write(fd, page, sizeof page);
    ok(ftruncate(fd, 5000) == 0, "ftruncate shrinks", "errno %d", errno);
    ok(ftruncate(fd, 9000) == 0, "ftruncate grows", "errno %d", errno);
    char buf[4000];
    ok(pread(fd, buf, sizeof buf, 5000) == 4000 && buf[0] == 0 && buf[3999] == 0,
       "bytes cut off and grown back read as zeros", "byte %d", buf[0]);
    ok(pread(fd, buf, 10, 4990) == 10 && buf[9] == 'a', "bytes below the cut stay", "byte %d", buf[9]);
    ok(truncate(at("t"), 0) == 0, "truncate by name", "errno %d", errno);
    ok_errno(ftruncate(fd, -1), EINVAL, "ftruncate to -1: EINVAL");
    ok_errno(truncate(base, 0), EISDIR, "truncate of a directory: EISDIR");
    /* A 1 MiB pattern 64 MiB in: a sparse file holds only what was written. */
    uint32_t words[1024];
    for (int chunk = 0; chunk < 256; chunk++) {
        for (int i = 0; i < 1024; i++) words[i] = chunk * 1024 + i;
        pwrite(fd, words, sizeof words, (64 << 20) + chunk * (off_t)sizeof words);
    }
    struct stat st;
    fstat(fd, &st);
    ok(st.st_size == (65 << 20), "size after a write 64 MiB in", "size %ld", (long)st.st_size);
    ok(st.st_blocks * 512 >= (1 << 20) && st.st_blocks * 512 < (4 << 20), "only the written MiB takes space",
       "%ld blocks", (long)st.st_blocks);
    int good = 1;
    for (int chunk = 0; chunk < 256 && good; chunk += 37) {
        pread(fd, words, sizeof words, (64 << 20) + chunk * (off_t)sizeof words);
        for (int i = 0; i < 1024; i++) if (words[i] != (uint32_t)(chunk * 1024 + i)) good = 0;
    }
    ok(good, "the pattern reads back", "mismatch");
    ok(fallocate(fd, 0, 70 << 20, 4096) == 0, "fallocate mode 0 past the end", "errno %d", errno);
    fstat(fd, &st);
    ok(st.st_size == (70 << 20) + 4096, "fallocate grew the file", "size %ld", (long)st.st_size);
    close(fd);
    unlink(at("t"));
}

static void test_directories(void)
{
    ok(mkdir(at("d"), 0755) == 0, "mkdir", "errno %d", errno);
    ok_errno(mkdir(at("d"), 0755), EEXIST, "mkdir of an existing name: EEXIST");
    ok(mkdir(at("d/sub/"), 0700) == 0, "mkdir with a trailing slash", "errno %d", errno);
    struct stat st;
    ok(stat(at("d"), &st) == 0 && st.st_nlink == 3, "a directory's links: ., its name, the child's ..",
       "nlink %ld", (long)st.st_nlink);
    int fd = open(at("d/sub/file"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    ok_errno(rmdir(at("d/sub")), ENOTEMPTY, "rmdir of a non-empty directory: ENOTEMPTY");
    ok_errno(rmdir(at("d/sub/file")), ENOTDIR, "rmdir of a file: ENOTDIR");
    ok_errno(unlink(at("d/sub")), EISDIR, "unlink of a directory: EISDIR");
    ok_errno(rmdir(at("d/.")), EINVAL, "rmdir of '.': EINVAL");
    ok_errno(rename(at("d"), at("d/sub/inside")), EINVAL, "rename into its own subtree: EINVAL");
    ok(rename(at("d/sub/file"), at("d/moved")) == 0, "rename a file to another directory", "errno %d", errno);
    ok(rmdir(at("d/sub")) == 0, "rmdir of the emptied directory", "errno %d", errno);
    ok(stat(at("d"), &st) == 0 && st.st_nlink == 2, "the parent lost the child's ..", "nlink %ld", (long)st.st_nlink);

    DIR *dir = opendir(at("d"));
    int dot = 0, dotdot = 0, moved = 0, other = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0) dot++;
        else if (strcmp(e->d_name, "..") == 0) dotdot++;
        else if (strcmp(e->d_name, "moved") == 0 && e->d_type == DT_REG) moved++;
        else other++;
    }
    if (dir) closedir(dir);
    ok(dot == 1 && dotdot == 1 && moved == 1 && other == 0, "getdents64 lists ., .. and the file",
       ". %d .. %d moved %d other %d", dot, dotdot, moved, other);

    int dfd = open(at("d"), O_RDONLY | O_DIRECTORY);
    ok(mkdirat(dfd, "viafd", 0755) == 0, "mkdirat relative to a directory fd", "errno %d", errno);
    ok(renameat2_(dfd, "viafd", dfd, "moved", RENAME_NOREPLACE) == -1 && errno == EEXIST,
       "renameat2 RENAME_NOREPLACE onto an existing name: EEXIST", "errno %d", errno);
    ok_errno(renameat(dfd, "viafd", dfd, "moved"), ENOTDIR, "rename a directory over a file: ENOTDIR");
    ok_errno(renameat(dfd, "moved", dfd, "viafd"), EISDIR, "rename a file over a directory: EISDIR");
    ok(unlinkat(dfd, "viafd", AT_REMOVEDIR) == 0, "unlinkat AT_REMOVEDIR", "errno %d", errno);
    ok(unlinkat(dfd, "moved", 0) == 0, "unlinkat of the file", "errno %d", errno);
    ok_errno(unlinkat(dfd, "moved", 0x1), EINVAL, "unlinkat with an unknown flag: EINVAL");
    close(dfd);
    ok(rmdir(at("d")) == 0, "rmdir", "errno %d", errno);
    ok_errno(stat(at("d"), &st), ENOENT, "gone: ENOENT");
}

static void test_links(void)
{
    int fd = open(at("orig"), O_CREAT | O_RDWR, 0644);
    write(fd, "linked", 6);
    ok(link(at("orig"), at("hard")) == 0, "link", "errno %d", errno);
    struct stat a, b;
    stat(at("orig"), &a);
    stat(at("hard"), &b);
    ok(a.st_ino == b.st_ino && a.st_nlink == 2, "a hard link is the same inode, nlink 2", "ino %lu/%lu nlink %ld",
       (unsigned long)a.st_ino, (unsigned long)b.st_ino, (long)a.st_nlink);
    ok_errno(link(base, at("dirlink")), EPERM, "a hard link to a directory: EPERM");
    ok_errno(link(at("orig"), at("hard")), EEXIST, "link onto an existing name: EEXIST");
    ok(symlink("orig", at("soft")) == 0, "symlink", "errno %d", errno);
    char target[64] = {0};
    ok(readlink(at("soft"), target, sizeof target) == 4 && strcmp(target, "orig") == 0, "readlink", "'%s'", target);
    ok(readlink(at("soft"), target, 2) == 2, "readlink truncates to the buffer", "errno %d", errno);
    ok_errno(readlink(at("orig"), target, sizeof target), EINVAL, "readlink of a file: EINVAL");
    struct stat l;
    ok(lstat(at("soft"), &l) == 0 && S_ISLNK(l.st_mode) && l.st_size == 4, "lstat of a symlink", "mode %o", l.st_mode);
    ok(stat(at("soft"), &l) == 0 && l.st_ino == a.st_ino, "stat follows it", "ino %lu", (unsigned long)l.st_ino);
    ok_errno(open(at("soft"), O_RDONLY | O_NOFOLLOW), ELOOP, "O_NOFOLLOW on a symlink: ELOOP");
    symlink("loop2", at("loop1"));
    symlink("loop1", at("loop2"));
    ok_errno(open(at("loop1"), O_RDONLY), ELOOP, "a symlink loop: ELOOP");
    ok_errno(symlink("", at("empty")), ENOENT, "an empty symlink target: ENOENT");
    ok(linkat(AT_FDCWD, at("soft"), AT_FDCWD, at("followed"), AT_SYMLINK_FOLLOW) == 0, "linkat AT_SYMLINK_FOLLOW",
       "errno %d", errno);
    ok(lstat(at("followed"), &l) == 0 && S_ISREG(l.st_mode) && l.st_nlink == 3, "it linked the target",
       "mode %o nlink %ld", l.st_mode, (long)l.st_nlink);
    /* Unlinked while open: the data stays until the last close. */
    ok(unlink(at("orig")) == 0 && unlink(at("hard")) == 0 && unlink(at("followed")) == 0, "unlink every name",
       "errno %d", errno);
    struct stat open_st;
    char buf[8] = {0};
    ok(fstat(fd, &open_st) == 0 && open_st.st_nlink == 0, "the open file has no names left", "nlink %ld",
       (long)open_st.st_nlink);
    ok(pread(fd, buf, 6, 0) == 6 && memcmp(buf, "linked", 6) == 0, "and still reads its data", "'%s'", buf);
    ok_errno(stat(at("soft"), &l), ENOENT, "the dangling symlink: ENOENT");
    close(fd);
    unlink(at("soft"));
    unlink(at("loop1"));
    unlink(at("loop2"));
}

static void test_attributes(void)
{
    int fd = open(at("attr"), O_CREAT | O_RDWR, 0600);
    struct stat st;
    ok(fchmod(fd, 04755) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 04755, "fchmod", "mode %o", st.st_mode);
    ok(chown(at("attr"), 1234, 5678) == 0 && stat(at("attr"), &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678,
       "chown (as root)", "uid %d gid %d", st.st_uid, st.st_gid);
    ok((st.st_mode & 04000) == 0, "chown clears setuid", "mode %o", st.st_mode);
    ok(fchownat(AT_FDCWD, at("attr"), -1, 42, 0) == 0 && stat(at("attr"), &st) == 0 && st.st_uid == 1234 &&
       st.st_gid == 42, "-1 leaves the uid", "uid %d gid %d", st.st_uid, st.st_gid);
    struct timespec times[2] = {{1000000000, 5}, {1200000000, 700}};
    ok(utimensat(AT_FDCWD, at("attr"), times, 0) == 0, "utimensat", "errno %d", errno);
    stat(at("attr"), &st);
    /* ext2 keeps whole seconds (ext4, with the same magic, keeps nanoseconds). */
    struct statfs where;
    statfs(base, &where);
    bool nsec_ok = st.st_mtim.tv_nsec == 700 || (where.f_type == 0xef53 && st.st_mtim.tv_nsec == 0);
    ok(st.st_atim.tv_sec == 1000000000 && st.st_mtim.tv_sec == 1200000000 && nsec_ok,
       "atime and mtime set (to the nanosecond where the file system keeps them)", "atime %ld mtime %ld.%09ld",
       (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
    ok(futimens(fd, omit) == 0 && fstat(fd, &st) == 0 && st.st_atim.tv_sec == 1000000000 &&
       st.st_mtim.tv_sec > 1200000000, "UTIME_OMIT keeps atime, UTIME_NOW sets mtime", "atime %ld mtime %ld",
       (long)st.st_atim.tv_sec, (long)st.st_mtim.tv_sec);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    ok_errno(utimensat(AT_FDCWD, at("attr"), bad, 0), EINVAL, "a nanosecond field past 999999999: EINVAL");
    mode_t old = umask(077);
    int fd2 = open(at("masked"), O_CREAT | O_RDWR, 0666);
    fstat(fd2, &st);
    ok((st.st_mode & 0777) == 0600, "umask 077 takes group and other bits", "mode %o", st.st_mode);
    ok(umask(old) == 077, "umask returns the previous mask", "no");
    close(fd2);
    unlink(at("masked"));
    int pfd = open(at("attr"), O_PATH);
    char c;
    ok(pfd >= 0 && fstat(pfd, &st) == 0 && st.st_uid == 1234, "O_PATH: fstat works", "errno %d", errno);
    ok_errno(read(pfd, &c, 1), EBADF, "O_PATH: read is EBADF");
    close(pfd);
    struct statx_ sx;
    ok(statx_(AT_FDCWD, at("attr"), 0, STATX_BASIC_STATS_, &sx) == 0 && (sx.stx_mask & STATX_BASIC_STATS_) ==
       STATX_BASIC_STATS_ && sizeof sx == 256 && sx.stx_uid == 1234 && sx.stx_ino == st.st_ino && sx.stx_mtime.tv_sec == st.st_mtim.tv_sec,
       "statx reports the same inode", "mask %x uid %u", sx.stx_mask, sx.stx_uid);
    ok_errno(statx_(AT_FDCWD, at("attr"), 0x6000, STATX_BASIC_STATS_, &sx), EINVAL, "statx with both sync flags: EINVAL");
    ok(fsync(fd) == 0 && fdatasync(fd) == 0 && syncfs(fd) == 0, "fsync, fdatasync, syncfs", "errno %d", errno);
    sync();
    close(fd);
    unlink(at("attr"));
}

static void test_devices(void)
{
    char buf[16];
    int fd = open("/dev/null", O_RDWR);
    ok(fd >= 0 && read(fd, buf, sizeof buf) == 0 && write(fd, buf, sizeof buf) == sizeof buf,
       "/dev/null: empty to read, swallows writes", "errno %d", errno);
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 1, sizeof buf);
    ok(fd >= 0 && read(fd, buf, sizeof buf) == sizeof buf && buf[0] == 0 && buf[15] == 0, "/dev/zero reads zeros", "no");
    close(fd);
    fd = open("/dev/full", O_WRONLY);
    ok_errno(write(fd, buf, 1), ENOSPC, "/dev/full: ENOSPC");
    close(fd);
    fd = open("/dev/urandom", O_RDONLY);
    uint64_t r[2] = {0, 0};
    ok(fd >= 0 && read(fd, r, sizeof r) == sizeof r && (r[0] | r[1]) != 0, "/dev/urandom gives bytes", "no");
    close(fd);
    struct stat st;
    ok(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3,
       "/dev/null is char 1,3", "mode %o rdev %lx", st.st_mode, (unsigned long)st.st_rdev);
    ok(mknod(at("fifo"), S_IFIFO | 0644, 0) == 0 && stat(at("fifo"), &st) == 0 && S_ISFIFO(st.st_mode),
       "mknod of a named pipe", "errno %d", errno);
    unlink(at("fifo"));
    ok(mknod(at("nul"), S_IFCHR | 0666, makedev(1, 3)) == 0, "mknod of a device node", "errno %d", errno);
    fd = open(at("nul"), O_WRONLY);
    ok(fd >= 0 && write(fd, "x", 1) == 1, "the new node is /dev/null", "errno %d", errno);
    close(fd);
    unlink(at("nul"));
    ok_errno(mknod(at("dir"), S_IFDIR | 0755, 0), EPERM, "mknod of a directory: EPERM");
}

static void test_chroot(void)
{
    mkdir(at("jail"), 0755);
    int fd = open(at("jail/inside"), O_CREAT | O_WRONLY, 0644);
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        if (chroot(at("jail")) != 0) _exit(1);
        if (chdir("/") != 0) _exit(2);
        struct stat st;
        if (stat("/inside", &st) != 0) _exit(3);
        if (stat("/../../inside", &st) != 0) _exit(4);   /* .. stops at the new root */
        char cwd[64];
        if (!getcwd(cwd, sizeof cwd) || strcmp(cwd, "/") != 0) _exit(5);
        _exit(0);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "chroot: / is the jail and .. stops there", "child status %#x",
       status);
    unlink(at("jail/inside"));
    rmdir(at("jail"));
}

static void test_mounted_tmpfs(void)
{
    if (geteuid() != 0) { skip("a tmpfs of 64 KiB fills up", "needs root"); return; }
    mkdir(at("mnt"), 0755);
    ok(mount("tmpfs", at("mnt"), "tmpfs", 0, "size=64k,mode=700") == 0, "mount -t tmpfs -o size=64k", "errno %d", errno);
    struct statfs sf;
    ok(statfs(at("mnt"), &sf) == 0 && sf.f_type == TMPFS_MAGIC && sf.f_bsize == 4096 && sf.f_blocks == 16,
       "statfs: tmpfs, 16 blocks of 4 KiB", "type %lx bsize %ld blocks %ld", (long)sf.f_type, (long)sf.f_bsize,
       (long)sf.f_blocks);
    struct stat st;
    ok(stat(at("mnt"), &st) == 0 && (st.st_mode & 07777) == 0700, "the root has mode= from the options", "mode %o",
       st.st_mode);
    FILE *mounts = fopen("/proc/mounts", "r");
    char line[512];
    int found = 0;
    while (mounts && fgets(line, sizeof line, mounts))
        if (strstr(line, at("mnt")) && strncmp(line, "tmpfs ", 6) == 0 && strstr(line, " tmpfs rw")) found = 1;
    if (mounts) fclose(mounts);
    ok(found, "/proc/mounts lists it", "no line");
    int fd = open(at("mnt/big"), O_CREAT | O_RDWR, 0644);
    static char chunk[40 << 10];
    memset(chunk, 'z', sizeof chunk);
    ssize_t first = write(fd, chunk, sizeof chunk);
    ssize_t second = write(fd, chunk, sizeof chunk);
    ok(first == (ssize_t)sizeof chunk && second > 0 && second < (ssize_t)sizeof chunk,
       "a write that fills the tmpfs is cut short", "first %zd second %zd", first, second);
    ok_errno(write(fd, chunk, sizeof chunk), ENOSPC, "the next one: ENOSPC");
    ok(statfs(at("mnt"), &sf) == 0 && sf.f_bfree == 0, "no blocks left", "free %ld", (long)sf.f_bfree);
    char back[16];
    ok(pread(fd, back, sizeof back, first + second - 16) == 16 && back[15] == 'z', "what was written is kept", "no");
    close(fd);
    ok(unlink(at("mnt/big")) == 0 && statfs(at("mnt"), &sf) == 0 && sf.f_bfree == 16, "unlink gives the space back",
       "free %ld", (long)sf.f_bfree);
    ok_errno(rmdir(at("mnt")), EBUSY, "rmdir of a mount point: EBUSY");
    ok_errno(umount(base), EINVAL, "umount of a directory that is no mount: EINVAL");
    ok_errno(mount("none", at("mnt"), "nosuchfs", 0, NULL), ENODEV, "an unknown file-system type: ENODEV");
    /* Only on Keel: a host whose /dev is not devtmpfs would have it shadowed. */
    if (on_keel())
        ok_errno(mount("devtmpfs", "/dev", "devtmpfs", 0, NULL), EBUSY, "devtmpfs again on its own root /dev: EBUSY");
    else
        skip("devtmpfs again on its own root /dev: EBUSY", "would mount over the host's /dev if it were not devtmpfs");
    ok(umount(at("mnt")) == 0, "umount", "errno %d", errno);
    ok(stat(at("mnt"), &st) == 0 && (st.st_mode & 0777) == 0755, "the directory underneath is back", "mode %o",
       st.st_mode);
    rmdir(at("mnt"));
}

int main(void)
{
    if (mkdir("/tmp", 01777) != 0 && errno != EEXIST) { printf("no /tmp: errno %d\n", errno); return 1; }
    snprintf(base, sizeof base, "/tmp/keel-fs.XXXXXX");
    if (!mkdtemp(base)) { printf("mkdtemp: errno %d\n", errno); return 1; }
    umask(022);
    test_create_write_read();
    test_truncate_and_sparse();
    test_directories();
    test_links();
    test_attributes();
    test_devices();
    test_chroot();
    test_mounted_tmpfs();
    unlink(at("f"));
    unlink(at("c"));
    ok(rmdir(base) == 0, "everything made was removed again", "errno %d", errno);
    return ktest_done();
}
