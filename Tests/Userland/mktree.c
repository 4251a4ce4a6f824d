/*
 * mktree: builds one fixed tree of files and directories, the same on every
 * kernel, so that a tree made on Keel's ext2 (read back on the host with
 * debugfs) can be compared with the tree made on Linux. Not a test_* program:
 * Tests/Boot/boot_tests.py runs it under Keel and on the host.
 *
 *   mktree DIR          the tree (see build_tree)
 *   mktree --fill DIR   writes 64 KiB files into DIR until the disk is full,
 *                       then checks the ENOSPC story (short write, ENOSPC,
 *                       space back after unlink, data kept)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[256];

static const char *at(const char *fmt, const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], fmt, root, name);
    return b;
}

static int fail(const char *what)
{
    printf("mktree: %s: errno %d (%s)\n", what, errno, strerror(errno));
    return 1;
}

/* Bytes whose value depends on the offset, so a block in the wrong place shows. */
static void pattern(unsigned char *buf, size_t n, off_t from)
{
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)((from + i) * 7 + (from + i) / 4096);
}

static int write_file(const char *path, off_t at_offset, size_t n, mode_t mode)
{
    static unsigned char buf[64 * 1024];
    int fd = open(path, O_CREAT | O_WRONLY, mode);
    if (fd < 0) return fail(path);
    while (n > 0) {
        size_t piece = n < sizeof buf ? n : sizeof buf;
        pattern(buf, piece, at_offset);
        if (pwrite(fd, buf, piece, at_offset) != (ssize_t)piece) return fail(path);
        at_offset += piece;
        n -= piece;
    }
    return close(fd) == 0 ? 0 : fail(path);
}

static int build_tree(void)
{
    if (mkdir(root, 0755) != 0) return fail("mkdir root");
    if (mkdir(at("%s/%s", "a"), 0755) || mkdir(at("%s/%s", "a/b"), 0750) || mkdir(at("%s/%s", "a/b/c"), 0700) ||
        mkdir(at("%s/%s", "empty"), 0755))
        return fail("mkdir");
    int bad = write_file(at("%s/%s", "small"), 0, 100, 0644) | write_file(at("%s/%s", "block"), 0, 4096, 0644) |
              write_file(at("%s/%s", "indirect"), 0, 60 * 1024, 0600) |
              write_file(at("%s/%s", "double"), 5 << 20, 4096, 0644) |
              write_file(at("%s/%s", "a/b/c/deep"), 0, 12345, 0444) | write_file(at("%s/%s", "trunc"), 0, 10000, 0644) |
              write_file(at("%s/%s", "before"), 0, 333, 0644) | write_file(at("%s/%s", "gone"), 0, 5000, 0644);
    if (bad) return 1;
    if (truncate(at("%s/%s", "trunc"), 5000)) return fail("truncate");
    if (chmod(at("%s/%s", "small"), 0640)) return fail("chmod");
    if (symlink("small", at("%s/%s", "fast")) || symlink("a/b/c/deep/../../../../"
        "this-target-is-longer-than-sixty-bytes-so-it-takes-a-data-block/small", at("%s/%s", "slow")))
        return fail("symlink");
    if (link(at("%s/%s", "small"), at("%s/%s", "hard"))) return fail("link");
    if (rename(at("%s/%s", "before"), at("%s/%s", "after"))) return fail("rename file");
    if (rename(at("%s/%s", "a/b"), at("%s/%s", "a/moved"))) return fail("rename directory");
    if (unlink(at("%s/%s", "gone"))) return fail("unlink");
    /* Unlinked while open: written after its name is gone, then closed. */
    int fd = open(at("%s/%s", "open-unlinked"), O_CREAT | O_RDWR, 0644);
    if (fd < 0 || write(fd, "abc", 3) != 3 || unlink(at("%s/%s", "open-unlinked")) || write(fd, "def", 3) != 3)
        return fail("unlink while open");
    close(fd);
    /* A directory of several blocks, then every third name removed. */
    if (mkdir(at("%s/%s", "many"), 0755)) return fail("mkdir many");
    char name[128];
    for (int i = 0; i < 400; i++) {
        snprintf(name, sizeof name, "many/a-file-with-a-rather-long-name-%03d", i);
        if (write_file(at("%s/%s", name), 0, (size_t)i, 0644)) return 1;
    }
    for (int i = 0; i < 400; i += 3) {
        snprintf(name, sizeof name, "many/a-file-with-a-rather-long-name-%03d", i);
        if (unlink(at("%s/%s", name))) return fail("unlink many");
    }
    sync();
    printf("mktree: done\n");
    return 0;
}

/* Fills the disk: 64 KiB files until a write comes up short or fails. */
static int fill(void)
{
    static unsigned char buf[64 * 1024];
    mkdir(root, 0755);
    long long total = 0;
    int files = 0;
    for (;; files++) {
        char path[300];
        snprintf(path, sizeof path, "%s/fill-%05d", root, files);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd < 0) {
            if (errno == ENOSPC) break;          /* no inode or directory block left */
            return fail("open");
        }
        pattern(buf, sizeof buf, total);
        ssize_t n = write(fd, buf, sizeof buf);
        int err = errno;
        close(fd);
        if (n > 0) total += n;
        if (n == (ssize_t)sizeof buf) continue;
        printf("fill: last write %zd, errno %d\n", n, n < 0 ? err : 0);
        if (n < 0 && err != ENOSPC) return fail("write");
        break;
    }

    char path[300];
    snprintf(path, sizeof path, "%s/after-full", root);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    int enospc = fd >= 0 && write(fd, buf, sizeof buf) == -1 && errno == ENOSPC;
    if (fd >= 0) close(fd);
    printf("fill: %d files, %lld bytes, then ENOSPC: %s\n", files, total, enospc ? "yes" : "no");
    snprintf(path, sizeof path, "%s/fill-%05d", root, 0);
    if (unlink(path)) return fail("unlink");
    snprintf(path, sizeof path, "%s/after-full", root);
    fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    ssize_t again = fd >= 0 ? write(fd, buf, 4096) : -1;
    if (fd >= 0) close(fd);
    printf("fill: after unlink a write of 4096 gives %zd\n", again);
    /* The data written before the disk filled is intact. */
    snprintf(path, sizeof path, "%s/fill-%05d", root, 1);
    fd = open(path, O_RDONLY);
    unsigned char back[64 * 1024], want[64 * 1024];
    pattern(want, sizeof want, sizeof buf);
    int intact = fd >= 0 && read(fd, back, sizeof back) == (ssize_t)sizeof back && memcmp(back, want, sizeof want) == 0;
    if (fd >= 0) close(fd);
    printf("fill: data kept: %s\n", intact ? "yes" : "no");
    sync();

    return 0;
}

int main(int argc, char **argv)
{
    int filling = argc == 3 && strcmp(argv[1], "--fill") == 0;
    if (argc != 2 && !filling) { printf("usage: mktree [--fill] DIR\n"); return 2; }
    snprintf(root, sizeof root, "%s", argv[argc - 1]);
    return filling ? fill() : build_tree();
}
