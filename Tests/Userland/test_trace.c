/*
 * test_trace: tracefs and its events, the same checks on host Linux and Keel.
 *
 * Uses /sys/kernel/tracing if it has a `trace` file, else mounts tracefs on a
 * temporary directory (on a host that cannot, the checks are skipped). On the
 * host every setting touched is put back at the end: tracing_on,
 * buffer_size_kb, the enabled events, and the buffer is cleared.
 *
 * Checks: tracing_on and buffer_size_kb round trips; page_fault_user lines for
 * N fresh pages (this pid, addresses in the mapping, the write bit in the
 * error code), enabled through events/.../enable and through set_event; the
 * format file's field lines; trace_pipe consumes and is EAGAIN when empty
 * with O_NONBLOCK; sched_switch after nanosleep; sys_enter "NR 39" for getpid;
 * mm_page_alloc after touching pages; trace_marker; EINVAL for bad writes; a
 * disabled event adds no lines. On Keel (where keel:fault_resolved exists):
 * how=zero_fill, zero_page and cow_copy.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktest.h"

static char dir[256];
static bool mounted_here;
static long page_size;

static void path_of(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", dir, name); }

/* Writes `text` to tracefs file `name` with open flags `flags`; returns 0 or -1 with errno. */
static int put_flags(const char *name, const char *text, int flags)
{
    char path[512];
    path_of(path, sizeof path, name);
    int fd = open(path, O_WRONLY | flags);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int put(const char *name, const char *text) { return put_flags(name, text, O_TRUNC); }

/* The whole file `name`, NUL-terminated (malloc'd), or NULL. */
static char *get(const char *name)
{
    char path[512];
    path_of(path, sizeof path, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 + 1 > cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    return buf;
}

static void clear_trace(void) { put("trace", ""); }

/* Is this line's task field "...-<pid> "? (The comm is right-aligned to 16, then "-pid".) */
static bool line_has_pid(const char *line, pid_t pid)
{
    char want[32];
    snprintf(want, sizeof want, "-%d ", (int)pid);
    const char *bracket = strstr(line, " [");
    const char *at = strstr(line, want);
    return at && bracket && at < bracket;
}

/* Calls `each` for every line of `text` (modified in place). */
static int count_lines(char *text, bool (*match)(const char *line, void *arg), void *arg)
{
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (line[0] != '#' && match(line, arg)) n++;
    return n;
}

struct fault_match { pid_t pid; uintptr_t start, end; bool write; const char *event; const char *how; };

static bool match_fault(const char *line, void *arg)
{
    struct fault_match *m = arg;
    if (!line_has_pid(line, m->pid)) return false;
    const char *ev = strstr(line, m->event);
    if (!ev) return false;
    const char *a = strstr(ev, "address=0x"), *e = strstr(ev, "error_code=0x");
    if (!a || !e) return false;
    uintptr_t address = strtoull(a + 10, NULL, 16);
    unsigned long code = strtoul(e + 13, NULL, 16);
    if (address < m->start || address >= m->end) return false;
    if (m->write && !(code & 2)) return false;
    if (m->how && !strstr(line, m->how)) return false;
    return true;
}

struct text_match { pid_t pid; const char *needle; };

static bool match_text(const char *line, void *arg)
{
    struct text_match *m = arg;
    return (m->pid == 0 || line_has_pid(line, m->pid)) && strstr(line, m->needle);
}

/* A fresh private anonymous mapping of n pages; each page is written once. */
static char *touch_pages(int n)
{
    char *p = mmap(NULL, (size_t)n * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    for (int i = 0; i < n; i++) p[(size_t)i * page_size] = 1;
    return p;
}

static int count_faults(pid_t pid, char *p, int n, const char *event, const char *how, bool write)
{
    char *text = get("trace");
    if (!text) return -1;
    struct fault_match m = { pid, (uintptr_t)p, (uintptr_t)p + (size_t)n * page_size, write, event, how };
    int found = count_lines(text, match_fault, &m);
    free(text);
    return found;
}

static int count_text(pid_t pid, const char *needle)
{
    char *text = get("trace");
    if (!text) return -1;
    struct text_match m = { pid, needle };
    int found = count_lines(text, match_text, &m);
    free(text);
    return found;
}

static bool find_dir(void)
{
    if (access("/sys/kernel/tracing/trace", F_OK) == 0) {
        snprintf(dir, sizeof dir, "/sys/kernel/tracing");
        return true;
    }
    snprintf(dir, sizeof dir, "/tmp/ktrace.XXXXXX");
    if (!mkdtemp(dir)) return false;
    if (mount("nodev", dir, "tracefs", 0, NULL) != 0) {
        rmdir(dir);
        return false;
    }
    mounted_here = true;
    return true;
}

/* What the host had, to put back. */
static char *saved_tracing_on, *saved_set_event;
static long saved_buffer_kb;

static void save_settings(void)
{
    saved_tracing_on = get("tracing_on");
    saved_set_event = get("set_event");
    char *kb = get("buffer_size_kb");
    /* "1410" or, before first use, "7 (expanded: 1408)": the effective size is the last number. */
    char *expanded = kb ? strstr(kb, "expanded: ") : NULL;
    saved_buffer_kb = kb ? atol(expanded ? expanded + 10 : kb) : 0;
    free(kb);
}

static void restore_settings(void)
{
    put("set_event", "");
    if (saved_set_event && saved_set_event[0]) put_flags("set_event", saved_set_event, O_APPEND);
    if (saved_buffer_kb > 0) {
        char text[32];
        snprintf(text, sizeof text, "%ld", saved_buffer_kb);
        put("buffer_size_kb", text);
    }
    if (saved_tracing_on) put("tracing_on", saved_tracing_on);
    clear_trace();
}

static void test_tracing_on(void)
{
    char *v;
    ok(put("tracing_on", "0") == 0 && (v = get("tracing_on")) && strcmp(v, "0\n") == 0, "tracing_on: 0 reads back", "errno %d", errno);
    ok(put("tracing_on", "1\n") == 0 && (v = get("tracing_on")) && strcmp(v, "1\n") == 0, "tracing_on: 1 reads back", "errno %d", errno);
}

static void test_buffer_size(void)
{
    /* Linux rounds up to whole sub-buffers (256 reads back as 258 there); Keel keeps the number. */
    char *v = NULL, *total = NULL;
    long kb = 0;
    ok(put("buffer_size_kb", "256") == 0 && (v = get("buffer_size_kb")) && (kb = atol(v)) >= 256 && kb <= 272,
       "buffer_size_kb: 256 reads back (rounded up to whole buffer pages)", "errno %d, read %s", errno, v ? v : "(null)");
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    total = get("buffer_total_size_kb");
    ok(total && atol(total) == kb * cpus, "buffer_total_size_kb is buffer_size_kb per CPU", "read %s for %ld CPUs of %ld",
       total ? total : "(null)", cpus, kb);
    ok_errno(put("buffer_size_kb", "0"), EINVAL, "buffer_size_kb: 0 is EINVAL");
    ok_errno(put("buffer_size_kb", "-5"), EINVAL, "buffer_size_kb: -5 is EINVAL");
    ok_errno(put("buffer_size_kb", "12abc"), EINVAL, "buffer_size_kb: 12abc is EINVAL");
    put("buffer_size_kb", "512");
}

static void test_page_fault_user(pid_t self)
{
    const int n = 32;
    clear_trace();
    char *v;
    ok(put("events/exceptions/page_fault_user/enable", "1") == 0 &&
       (v = get("events/exceptions/page_fault_user/enable")) && v[0] == '1',
       "events/exceptions/page_fault_user/enable: 1", "errno %d", errno);
    v = get("events/exceptions/enable");
    ok(v && (v[0] == 'X' || v[0] == '1'), "events/exceptions/enable shows X or 1 with one event on", "read %s", v ? v : "(null)");
    char *p = touch_pages(n);
    put("events/exceptions/page_fault_user/enable", "0");
    int found = count_faults(self, p, n, "page_fault_user: ", NULL, true);
    ok(found >= n, "page_fault_user: a write fault per fresh page, in the mapping, write bit set",
       "%d lines for %d pages", found, n);

    /* The same through set_event. */
    clear_trace();
    ok(put("set_event", "exceptions:page_fault_user\n") == 0, "set_event: exceptions:page_fault_user", "errno %d", errno);
    v = get("set_event");
    ok(v && strstr(v, "exceptions:page_fault_user\n"), "set_event lists it", "read %s", v ? v : "(null)");
    char *q = touch_pages(n);
    ok(put_flags("set_event", "!exceptions:page_fault_user", O_APPEND) == 0, "set_event: !exceptions:page_fault_user", "errno %d", errno);
    v = get("set_event");
    ok(v && !strstr(v, "exceptions:page_fault_user"), "set_event no longer lists it", "read %s", v ? v : "(null)");
    found = count_faults(self, q, n, "page_fault_user: ", NULL, true);
    ok(found >= n, "set_event: page_fault_user lines for every page", "%d lines for %d pages", found, n);

    /* Off: no new lines. */
    clear_trace();
    char *r = touch_pages(n);
    found = count_faults(self, r, n, "page_fault_user: ", NULL, false);
    ok(found == 0, "a disabled event adds no lines", "%d lines", found);
    munmap(p, (size_t)n * page_size);
    munmap(q, (size_t)n * page_size);
    munmap(r, (size_t)n * page_size);
}

static void test_format(void)
{
    char *f = get("events/exceptions/page_fault_user/format");
    char *id = get("events/exceptions/page_fault_user/id");
    ok(f && strstr(f, "name: page_fault_user\n"), "format: name line", "read %s", f ? f : "(null)");
    ok(f && strstr(f, "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n") &&
       strstr(f, "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"), "format: common fields", "read %s", f ? f : "(null)");
    ok(f && strstr(f, "\tfield:unsigned long address;\toffset:8;\tsize:8;\tsigned:0;\n") &&
       strstr(f, "\tfield:unsigned long ip;\toffset:16;\tsize:8;\tsigned:0;\n") &&
       strstr(f, "\tfield:unsigned long error_code;\toffset:24;\tsize:8;\tsigned:0;\n"),
       "format: address, ip, error_code at 8, 16, 24", "read %s", f ? f : "(null)");
    ok(f && strstr(f, "print fmt: \"address=%ps ip=%ps error_code=0x%lx\""), "format: print fmt", "read %s", f ? f : "(null)");
    char want[64];
    snprintf(want, sizeof want, "ID: %ld\n", id ? atol(id) : -1);
    ok(f && id && strstr(f, want), "format's ID matches the id file", "id %s", id ? id : "(null)");
    char *s = get("events/sched/sched_switch/format");
    ok(s && strstr(s, "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n") &&
       strstr(s, "\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n") &&
       strstr(s, "print fmt: \"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d\""),
       "sched_switch format: Linux's fields and print fmt", "read %s", s ? s : "(null)");
    char *v = get("events/vmscan/mm_vmscan_lru_shrink_inactive/format");
    ok(v && strstr(v, "\tfield:int nid;\toffset:8;\tsize:4;\tsigned:1;\n") &&
       strstr(v, "\tfield:unsigned long nr_scanned;\toffset:16;\tsize:8;\tsigned:0;\n") &&
       strstr(v, "\tfield:unsigned int nr_activate1;\toffset:68;\tsize:4;\tsigned:0;\n") &&
       strstr(v, "\tfield:int reclaim_flags;\toffset:92;\tsize:4;\tsigned:1;\n") &&
       strstr(v, "print fmt: \"nid=%d nr_scanned=%ld nr_reclaimed=%ld nr_dirty=%ld nr_writeback=%ld nr_congested=%ld "
                 "nr_immediate=%ld nr_activate_anon=%d nr_activate_file=%d nr_ref_keep=%ld nr_unmap_fail=%ld priority=%d flags=%s\""),
       "mm_vmscan_lru_shrink_inactive format: Linux's fields and print fmt", "read %.300s", v ? v : "(null)");
    char *w = get("events/vmscan/mm_vmscan_kswapd_wake/format");
    ok(w && strstr(w, "\tfield:int zid;\toffset:12;\tsize:4;\tsigned:1;\n") && strstr(w, "print fmt: \"nid=%d order=%d\", REC->nid, REC->order\n"),
       "mm_vmscan_kswapd_wake format: Linux's fields and print fmt", "read %.300s", w ? w : "(null)");
    char *a = get("available_events");
    ok(a && strstr(a, "exceptions:page_fault_user\n") && strstr(a, "raw_syscalls:sys_enter\n") && strstr(a, "kmem:mm_page_alloc\n") &&
       strstr(a, "vmscan:mm_vmscan_kswapd_wake\n") && strstr(a, "vmscan:mm_vmscan_direct_reclaim_begin\n"),
       "available_events lists the events", "read %.200s", a ? a : "(null)");
}

static void test_trace_pipe(pid_t self)
{
    char path[512];
    path_of(path, sizeof path, "trace_pipe");
    clear_trace();
    char marker[64];
    snprintf(marker, sizeof marker, "ktest-pipe-%d", (int)self);
    ok(put("trace_marker", marker) == 0, "trace_marker: write", "errno %d", errno);
    ok(count_text(self, "tracing_mark_write: ktest-pipe-") == 1, "trace shows tracing_mark_write: <text>", "count %d", count_text(self, "tracing_mark_write: "));
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    ok(fd >= 0, "trace_pipe: open", "errno %d", errno);
    if (fd < 0) return;
    ok_errno(lseek(fd, 0, SEEK_SET), ESPIPE, "trace_pipe: lseek is ESPIPE");
    static char buf[1 << 16];
    size_t len = 0;
    ssize_t n;
    /* Drain: everything now in the buffer (other tasks' lines too). */
    while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0 && len < sizeof buf - 4096) len += (size_t)n;
    buf[len] = 0;
    ok(strstr(buf, marker) != NULL, "trace_pipe: returns the marker line", "read %zu bytes", len);
    errno = 0;
    n = read(fd, buf, sizeof buf - 1);
    bool again = n == -1 && errno == EAGAIN;
    if (n > 0) { buf[n] = 0; again = strstr(buf, marker) == NULL; }
    ok(again, "trace_pipe: a second read does not return it again", "read %zd errno %d", n, errno);
    /* Drain what others wrote meanwhile, then empty is EAGAIN. */
    for (int i = 0; i < 100 && (n = read(fd, buf, sizeof buf)) > 0; i++) {}
    ok_errno(read(fd, buf, sizeof buf), EAGAIN, "trace_pipe: O_NONBLOCK on an empty buffer is EAGAIN");
    /* Reads smaller than a line: the next read goes on where the last one
     * stopped, so the pieces make the whole line. */
    char long_marker[160];
    snprintf(long_marker, sizeof long_marker, "ktest-pieces-%d-abcdefghijklmnopqrstuvwxyz-0123456789-end", (int)self);
    ok(put("trace_marker", long_marker) == 0, "trace_marker: write a long line", "errno %d", errno);
    len = 0;
    for (int i = 0; i < 4000 && len < sizeof buf - 8; i++) {
        n = read(fd, buf + len, 7);
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = 0;
    ok(strstr(buf, long_marker) != NULL, "trace_pipe: 7-byte reads put the line together, nothing lost",
       "read %zu bytes: %.200s", len, buf);
    close(fd);
    ok(count_text(self, marker) == 0, "trace no longer shows what trace_pipe consumed", "count %d", count_text(self, marker));
}

static void on_usr1(int sig) { (void)sig; }

/* A blocking read of an empty trace_pipe waits, and a signal ends it with EINTR. */
static void test_trace_pipe_signal(void)
{
    char path[512];
    path_of(path, sizeof path, "trace_pipe");
    clear_trace();
    struct sigaction sa = { .sa_handler = on_usr1 };     /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    pid_t child = fork();
    if (child == 0) {
        int fd = open(path, O_RDONLY);
        char b[256];
        ssize_t n = read(fd, b, sizeof b);
        _exit(n == -1 && errno == EINTR ? 0 : n == -1 ? 2 : 1);
    }
    int status = -1;
    pid_t done = 0;
    /* Until it is reaped: a signal that came before the read started only ran the handler. */
    for (int i = 0; i < 50 && done == 0; i++) {
        usleep(100000);
        kill(child, SIGUSR1);
        done = waitpid(child, &status, WNOHANG);
    }
    if (done == 0) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
    }
    ok(done == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "trace_pipe: a blocking read waits, and a signal ends it with EINTR", "status 0x%x (exit 1: data, 2: other error)", status);
    signal(SIGUSR1, SIG_DFL);
}

static void test_sched_switch(pid_t self)
{
    clear_trace();
    ok(put("events/sched/sched_switch/enable", "1") == 0, "sched_switch: enable", "errno %d", errno);
    for (int i = 0; i < 3; i++) {
        sched_yield();
        nanosleep(&(struct timespec){ 0, 2000000 }, NULL);
    }
    put("events/sched/sched_switch/enable", "0");
    char needle[64];
    snprintf(needle, sizeof needle, "prev_pid=%d prev_prio=", (int)self);
    int found = count_text(0, needle);
    ok(found >= 1, "sched_switch: lines with prev_pid=<self> after nanosleep", "%d lines", found);
    snprintf(needle, sizeof needle, "prev_pid=%d prev_prio=120 prev_state=S ==> next_comm=", (int)self);
    found = count_text(0, needle);
    ok(found >= 1, "sched_switch: a sleep is prev_state=S", "%d lines", found);
}

static void test_sys_enter(pid_t self)
{
    clear_trace();
    ok(put("events/raw_syscalls/sys_enter/enable", "1") == 0, "sys_enter: enable", "errno %d", errno);
    for (int i = 0; i < 3; i++) syscall(SYS_getpid);
    put("events/raw_syscalls/sys_enter/enable", "0");
    int found = count_text(self, "sys_enter: NR 39 (");
    ok(found >= 3, "sys_enter: NR 39 for getpid", "%d lines", found);
    clear_trace();
    put("events/raw_syscalls/sys_exit/enable", "1");
    syscall(SYS_getpid);
    put("events/raw_syscalls/sys_exit/enable", "0");
    char needle[64];
    snprintf(needle, sizeof needle, "sys_exit: NR 39 = %d", (int)self);
    found = count_text(self, needle);
    ok(found >= 1, "sys_exit: NR 39 = <pid>", "%d lines", found);
}

static void test_page_alloc(pid_t self)
{
    clear_trace();
    ok(put("events/kmem/mm_page_alloc/enable", "1") == 0, "mm_page_alloc: enable", "errno %d", errno);
    char *p = touch_pages(8);
    put("events/kmem/mm_page_alloc/enable", "0");
    int found = count_text(self, "mm_page_alloc: page=");
    ok(found >= 8, "mm_page_alloc: lines after touching 8 pages", "%d lines", found);
    found = count_text(self, " order=0 migratetype=");
    ok(found >= 1, "mm_page_alloc: order=0 migratetype= gfp_flags=", "%d lines", found);
    munmap(p, 8 * page_size);
}

static void test_bad_writes(void)
{
    ok_errno(put("tracing_on", "abc"), EINVAL, "tracing_on: abc is EINVAL");
    ok_errno(put("events/exceptions/page_fault_user/enable", "2"), EINVAL, "enable: 2 is EINVAL");
    ok_errno(put("events/exceptions/enable", "x"), EINVAL, "system enable: x is EINVAL");
    ok_errno(put_flags("set_event", "nosuchsys:nosuchevent", O_APPEND), EINVAL, "set_event: an unknown event is EINVAL");
    char *v = get("events/exceptions/page_fault_user/enable");
    ok(v && v[0] == '0', "a refused write changed nothing", "read %s", v ? v : "(null)");
}

/* Hostile bytes into every control file (Keel only: on a host they could
 * change what other users of its tracing see). Each write is refused or
 * taken; afterwards every file still reads back a sane value. */
static void test_hostile_writes(void)
{
    if (!on_keel()) {
        skip("hostile writes to every control file", "only on Keel, not to the host's tracing");
        return;
    }
    static const char *const files[] = {
        "tracing_on", "buffer_size_kb", "set_event", "trace", "trace_marker", "events/enable",
        "events/sched/enable", "events/kmem/kfree/enable", "available_events", "events/kmem/kfree/format",
    };
    static char big[9000];
    memset(big, 'a', sizeof big - 1);
    const char *const words[] = {
        "", "\n", "0x10", "99999999999999999999999", "1\n1", "-1", "+", "!", ":", "::", "!:", "*:*\n!*:*",
        "sched:sched_switch sched:nosuch", "\xff\xfe\x80", " 1", "1 ", big,
    };
    int refused = 0, taken = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
        for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
            if (put(files[f], words[w]) == 0) taken++;
            else refused++;
        }
    /* Binary with NULs, through write() directly. */
    char path[512];
    path_of(path, sizeof path, "set_event");
    int fd = open(path, O_WRONLY | O_APPEND);
    ssize_t n = fd >= 0 ? write(fd, "sched:\0\0kmem:kfree\0", 19) : -1;
    if (fd >= 0) close(fd);
    note("hostile writes: %d taken, %d refused; NUL-separated set_event write returned %zd", taken, refused, n);
    char *on = get("tracing_on"), *kb = get("buffer_size_kb"), *all = get("events/enable");
    ok(on && (strcmp(on, "0\n") == 0 || strcmp(on, "1\n") == 0) && kb && atol(kb) > 0 &&
       all && (all[0] == '0' || all[0] == '1' || all[0] == 'X'),
       "after hostile writes the control files read back sane values", "tracing_on %s buffer_size_kb %s events/enable %s",
       on ? on : "(null)", kb ? kb : "(null)", all ? all : "(null)");
    put("set_event", "");
    put("tracing_on", "1");
    put("buffer_size_kb", "512");
    clear_trace();
    char *events = get("set_event");
    ok(events && events[0] == 0, "and everything can be switched off again", "set_event %s", events ? events : "(null)");
}

/* Keel's own event: how each fault was resolved. */
static void test_fault_resolved(pid_t self)
{
    char path[512];
    path_of(path, sizeof path, "events/keel/fault_resolved/enable");
    if (access(path, F_OK) != 0) {
        ok(!on_keel(), "keel:fault_resolved exists on Keel", "missing %s", path);
        if (!on_keel()) skip("keel:fault_resolved", "Linux has no such event");
        return;
    }
    const int n = 4;
    char *p = mmap(NULL, (size_t)n * 2 * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    clear_trace();
    put("events/keel/fault_resolved/enable", "1");
    volatile char sink = 0;
    for (int i = 0; i < n; i++) p[(size_t)i * page_size] = 1;                 /* first writes */
    for (int i = n; i < 2 * n; i++) sink += p[(size_t)i * page_size];         /* first reads */
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < n; i++) p[(size_t)i * page_size] = 2;             /* shared after fork: copy */
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    put("events/keel/fault_resolved/enable", "0");
    (void)sink;
    int fill = count_faults(self, p, n, "fault_resolved: ", "how=zero_fill", true);
    int zero = count_faults(self, p + (size_t)n * page_size, n, "fault_resolved: ", "how=zero_page", false);
    int cow = count_faults(child, p, n, "fault_resolved: ", "how=cow_copy", true);
    ok(fill >= n, "fault_resolved: first writes are how=zero_fill", "%d of %d", fill, n);
    ok(zero >= n, "fault_resolved: first reads are how=zero_page", "%d of %d", zero, n);
    ok(cow >= n, "fault_resolved: the child's writes after fork are how=cow_copy", "%d of %d", cow, n);
    char *f = get("events/keel/fault_resolved/format");
    ok(f && strstr(f, "\tfield:unsigned int how;\toffset:32;\tsize:4;\tsigned:0;\n"), "fault_resolved format: how field", "read %s", f ? f : "(null)");
    munmap(p, (size_t)n * 2 * page_size);
}

int main(void)
{
    page_size = sysconf(_SC_PAGESIZE);
    pid_t self = getpid();
    if (!find_dir()) {
        ok(!on_keel(), "tracefs is mounted or mountable", "errno %d (%s)", errno, strerror(errno));
        if (!on_keel()) skip("tracefs", "this host cannot mount tracefs");
        return ktest_done();
    }
    note("tracefs at %s", dir);
    save_settings();
    test_tracing_on();
    test_buffer_size();
    test_format();
    test_page_fault_user(self);
    test_trace_pipe(self);
    test_trace_pipe_signal();
    test_sched_switch(self);
    test_sys_enter(self);
    test_page_alloc(self);
    test_bad_writes();
    test_fault_resolved(self);
    test_hostile_writes();
    restore_settings();
    if (mounted_here) {
        umount(dir);
        rmdir(dir);
    }
    return ktest_done();
}
