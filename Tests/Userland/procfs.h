/*
 * procfs.h: reading Linux-format /proc files from the Tests/Userland programs.
 *
 * /proc/self/maps lines look like (Linux: show_map_vma() in fs/proc/task_mmu.c)
 *     00400000-00401000 r--p 00000000 08:01 1234      /bin/test_maps
 *     7ffd1000-7ffd2000 rw-p 00000000 00:00 0         [stack]
 * start-end (hex, end exclusive), perms (r/w/x or '-', then p private or s
 * shared), file offset (hex; 0 for anonymous memory), device major:minor
 * (hex), inode (decimal), then, after padding spaces, an optional path or a
 * [name] such as [heap], [stack], [vdso].
 */
#ifndef PROCFS_H
#define PROCFS_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct map_line {
    uintptr_t start, end;
    char perms[5];
    unsigned long offset;
    unsigned dev_major, dev_minor;
    unsigned long inode;
    char path[256];
};

#define MAX_MAP_LINES 256

/* Reads a whole file with a loop of read(2) calls (a /proc read may return
 * less than asked); returns its length, NUL-terminated, or -1. */
static inline long read_whole(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0) {
            close(fd);
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    return (long)len;
}

static inline bool valid_perms(const char *p)
{
    return strlen(p) == 4 && (p[0] == 'r' || p[0] == '-') && (p[1] == 'w' || p[1] == '-') &&
           (p[2] == 'x' || p[2] == '-') && (p[3] == 'p' || p[3] == 's');
}

/* Parses one maps line (without its newline) strictly; false if malformed. */
static inline bool parse_map_line(const char *s, struct map_line *m)
{
    int used = 0;
    unsigned long start, end;
    if (sscanf(s, "%lx-%lx %4s %lx %x:%x %lu%n", &start, &end, m->perms, &m->offset,
               &m->dev_major, &m->dev_minor, &m->inode, &used) != 7)
        return false;
    m->start = start;
    m->end = end;
    const char *rest = s + used;
    if (*rest != '\0' && *rest != ' ')
        return false;
    while (*rest == ' ')
        rest++;
    snprintf(m->path, sizeof m->path, "%s", rest);
    return valid_perms(m->perms) && start < end && start % 4096 == 0 && end % 4096 == 0;
}

/*
 * Reads and parses /proc/self/maps into `lines`; returns the line count, or
 * -1 if the file cannot be read or any line is malformed (the bad line, or
 * the reason, is left in `why`).
 */
static inline int read_maps(struct map_line *lines, int max, char *why, size_t why_size)
{
    static char text[1 << 16];
    if (read_whole("/proc/self/maps", text, sizeof text) < 0) {
        snprintf(why, why_size, "cannot read /proc/self/maps");
        return -1;
    }
    int n = 0;
    for (char *line = text; *line; n++) {
        char *nl = strchr(line, '\n');
        if (!nl) {
            snprintf(why, why_size, "last line not terminated: \"%.80s\"", line);
            return -1;
        }
        *nl = '\0';
        if (n == max || !parse_map_line(line, &lines[n])) {
            snprintf(why, why_size, "bad line %d: \"%.160s\"", n + 1, line);
            return -1;
        }
        line = nl + 1;
    }
    return n;
}

/* The line whose range holds `addr`, or NULL. */
static inline const struct map_line *find_map(const struct map_line *lines, int n, uintptr_t addr)
{
    for (int i = 0; i < n; i++)
        if (lines[i].start <= addr && addr < lines[i].end)
            return &lines[i];
    return NULL;
}

/* Counts the lines that overlap [start, end). */
static inline int maps_overlapping(const struct map_line *lines, int n, uintptr_t start,
                                   uintptr_t end)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        count += lines[i].start < end && start < lines[i].end;
    return count;
}

/* The value of `key` in a "name value" file such as /proc/vmstat, or -1. */
static inline long long proc_counter(const char *text, const char *key)
{
    size_t k = strlen(key);
    const char *line = text;
    while (*line) {
        if (strncmp(line, key, k) == 0 && line[k] == ' ') {
            long long v;
            return sscanf(line + k, "%lld", &v) == 1 ? v : -1;
        }
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return -1;
}

/* A line of /proc/meminfo ("Dirty", "Cached": the name without its colon) in KiB, or -1. */
static inline long long meminfo_kib(const char *field)
{
    static char text[8192];
    char key[64];
    if (read_whole("/proc/meminfo", text, sizeof text) < 0)
        return -1;
    snprintf(key, sizeof key, "%s:", field);
    return proc_counter(text, key);
}

/* MemFree from /proc/meminfo in KiB, or -1. */
static inline long long mem_free_kib(void) { return meminfo_kib("MemFree"); }

/* A counter of /proc/vmstat, or -1. */
static inline long long vmstat_counter(const char *name)
{
    static char text[16384];
    if (read_whole("/proc/vmstat", text, sizeof text) < 0)
        return -1;
    return proc_counter(text, name);
}

#endif
