/*
 * test_exec: execve from a forked child (Linux: do_execveat_common(),
 * begin_new_exec(), load_elf_binary()).
 *
 * A forked child re-executes this program as
 *     test_exec-argv0 --exec-child CLOEXEC_FD OLD_ADDR
 * with the environment { KEEL_EXEC_ENV=fresh } and its stdout on a pipe. In
 * that mode the new image checks what execve must have done, prints one line
 *     exec-child pid P ppid Q checks YYnY...
 * (one letter per entry of image_checks[], Y = held) and exits 42. execve
 * keeps the pid, the parent, descriptors without FD_CLOEXEC, ignored signals
 * and the signal mask; it replaces all memory (a fresh .data, a zeroed .bss,
 * no old mappings), argv and envp, closes FD_CLOEXEC descriptors and resets
 * caught signals to SIG_DFL.
 *
 * Failing execve calls run in children too; they must return, with Linux's
 * errno, leaving the caller's image untouched. tools/build-initramfs.sh
 * provides /bin/not-elf (mode 0755, text without "#!": ENOEXEC);
 * /etc/keel-test.txt (mode 0644: EACCES) comes from test_files. Paths are
 * under $KEEL_TEST_ROOT ("/" when unset, as on Keel), like test_files.
 */
#define _GNU_SOURCE
#include "ktest.h"

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
#define MARKER 0x4b45454cu /* "KEEL" */
#define CHILD_EXIT 42

extern char **environ;

static volatile unsigned data_marker = MARKER; /* .data */
static volatile unsigned bss_marker;          /* .bss */

enum { ARGV, ENVP, DATA, BSS, OLD_MAPPING, CLOEXEC_FD, IGNORED_KEPT, HANDLER_RESET, MASK_KEPT, CHECKS };
static const char *const image_checks[CHECKS] = {
    [ARGV] = "argv is the one execve passed",
    [ENVP] = "envp is the one execve passed",
    [DATA] = ".data is fresh (the old image's write is gone)",
    [BSS] = ".bss is zero again",
    [OLD_MAPPING] = "the old image's mmap is gone",
    [CLOEXEC_FD] = "an FD_CLOEXEC descriptor is closed",
    [IGNORED_KEPT] = "an ignored signal stays SIG_IGN",
    [HANDLER_RESET] = "a caught signal is reset to SIG_DFL",
    [MASK_KEPT] = "the blocked-signal mask is kept",
};

static void sigusr1_handler(int sig)
{
    (void)sig;
}

/* ---- the new image ----------------------------------------------------------- */

static int exec_child_main(int argc, char **argv)
{
    bool held[CHECKS] = { false };
    held[ARGV] = argc == 4 && strcmp(argv[0], "test_exec-argv0") == 0 && argv[4] == NULL;
    held[ENVP] = environ[0] && strcmp(environ[0], "KEEL_EXEC_ENV=fresh") == 0 && !environ[1];
    held[DATA] = data_marker == MARKER;
    held[BSS] = bss_marker == 0;
    if (argc == 4) {
        int fd = atoi(argv[2]);
        uintptr_t old = (uintptr_t)strtoull(argv[3], NULL, 16);
        held[CLOEXEC_FD] = fcntl(fd, F_GETFD) == -1 && errno == EBADF;
        held[OLD_MAPPING] = old && msync((void *)old, PAGE, MS_ASYNC) == -1 && errno == ENOMEM;
    }
    struct sigaction sa;
    held[IGNORED_KEPT] = sigaction(SIGTERM, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
    held[HANDLER_RESET] = sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL;
    sigset_t mask;
    held[MASK_KEPT] = sigprocmask(SIG_BLOCK, NULL, &mask) == 0 && sigismember(&mask, SIGUSR2);

    char letters[CHECKS + 1];
    for (int i = 0; i < CHECKS; i++)
        letters[i] = held[i] ? 'Y' : 'n';
    letters[CHECKS] = '\0';
    printf("exec-child pid %d ppid %d checks %s\n", getpid(), getppid(), letters);
    fflush(stdout);
    return CHILD_EXIT;
}

/* ---- the test ------------------------------------------------------------------ */

static char root[1024]; /* $KEEL_TEST_ROOT without a trailing '/': "" for "/" */

static const char *path(const char *rel)
{
    static char bufs[4][1100];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s%s", root, rel);
    return b;
}

static int exit_code(pid_t pid)
{
    int status;
    if (pid <= 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void test_exec_self(void)
{
    int out[2], cx[2];
    if (!ok(pipe(out) == 0 && pipe2(cx, O_CLOEXEC) == 0, "pipes for the exec test", "errno %d", errno))
        return;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* Everything the new image must not see, or must keep. */
        data_marker = 0xdead0001;
        bss_marker = 7;
        void *old = mmap((void *)0x3e0000000000UL, PAGE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (old == MAP_FAILED)
            _exit(1);
        *(volatile char *)old = 1;
        signal(SIGTERM, SIG_IGN);
        signal(SIGUSR1, sigusr1_handler);
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR2);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);

        char fd_arg[16], addr_arg[32];
        snprintf(fd_arg, sizeof fd_arg, "%d", cx[1]);
        snprintf(addr_arg, sizeof addr_arg, "%lx", (unsigned long)(uintptr_t)old);
        char *args[] = { "test_exec-argv0", "--exec-child", fd_arg, addr_arg, NULL };
        char *env[] = { "KEEL_EXEC_ENV=fresh", NULL };
        execve(path("/bin/test_exec"), args, env);
        printf("execve failed: errno %d (%s)\n", errno, strerror(errno));
        fflush(stdout);
        _exit(2);
    }
    close(out[1]);
    close(cx[1]);
    char line[256] = "";
    size_t len = 0;
    ssize_t n;
    while (len < sizeof line - 1 && (n = read(out[0], line + len, sizeof line - 1 - len)) > 0)
        len += (size_t)n;
    line[len] = '\0';
    close(out[0]);
    close(cx[0]);
    int code = exit_code(pid);

    ok(code == CHILD_EXIT, "the exec'd image's exit code (42) reaches the parent",
       "exit code %d, output \"%s\"", code, line);
    int got_pid = 0, got_ppid = 0;
    char letters[CHECKS + 2] = "";
    int fields = sscanf(line, "exec-child pid %d ppid %d checks %10s", &got_pid, &got_ppid, letters);
    if (!ok(fields == 3 && strlen(letters) == CHECKS, "the exec'd image prints through the inherited stdout",
            "got \"%s\"", line))
        return;
    ok(got_pid == pid, "execve keeps the pid", "image says %d, fork said %d", got_pid, pid);
    ok(got_ppid == parent, "execve keeps the parent", "image's getppid %d, parent %d", got_ppid, parent);
    char name[128];
    for (int i = 0; i < CHECKS; i++) {
        snprintf(name, sizeof name, "after execve: %s", image_checks[i]);
        ok(letters[i] == 'Y', name, "the new image says no");
    }
}

/* Runs execve(file) in a child; returns the child's exit code: the errno
 * execve failed with, or 250 if the image was damaged by the failed call. */
static int failed_exec(const char *file)
{
    pid_t pid = fork();
    if (pid == 0) {
        data_marker = 0x600d;
        char *args[] = { "x", NULL };
        char *env[] = { NULL };
        execve(file, args, env);
        int e = errno;
        _exit(data_marker == 0x600d ? e : 250);
    }
    return exit_code(pid);
}

static void expect_exec_errno(const char *file, int want, const char *name)
{
    int got = failed_exec(file);
    ok(got == want, name, "got %d (%s), want %d (%s)", got, got > 0 && got < 200 ? strerror(got) : "",
       want, strerror(want));
}

static void test_exec_errors(void)
{
    expect_exec_errno(path("/bin/no-such-program"), ENOENT, "execve of a missing file: ENOENT");
    expect_exec_errno(path("/no-such-dir/prog"), ENOENT, "execve through a missing directory: ENOENT");
    expect_exec_errno("", ENOENT, "execve of \"\": ENOENT");
    expect_exec_errno(path("/bin/not-elf"), ENOEXEC, "execve of a 0755 non-ELF text file: ENOEXEC");
    expect_exec_errno(path("/etc/keel-test.txt"), EACCES, "execve of a 0644 file: EACCES");
    expect_exec_errno(path("/bin"), EACCES, "execve of a directory: EACCES");
    expect_exec_errno(path("/etc/keel-test.txt/x"), ENOTDIR,
                      "execve through a file used as a directory: ENOTDIR");
    expect_exec_errno((const char *)1, EFAULT, "execve of a bad pointer: EFAULT");
    ok(data_marker == MARKER, "the parent's image is untouched", "%#x", data_marker);
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--exec-child") == 0)
        return exec_child_main(argc, argv);

    const char *r = getenv("KEEL_TEST_ROOT");
    snprintf(root, sizeof root, "%s", r && strcmp(r, "/") != 0 ? r : "");
    size_t len = strlen(root);
    if (len > 0 && root[len - 1] == '/')
        root[len - 1] = '\0';

    test_exec_self();
    test_exec_errors();
    return ktest_done();
}
