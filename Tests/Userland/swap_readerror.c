/*
 * swap_readerror: a page whose swap slot cannot be read is SIGBUS
 * (BUS_ADRERR at the page), as Linux's do_swap_page answers VM_FAULT_SIGBUS;
 * every other page still comes back with its data, and the process lives on
 * to exit cleanly. For a boot test whose swap disk fails reads of some
 * sectors (QEMU's blkdebug).
 *
 *   swap_readerror KEEP_MB HOG_MB
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktest.h"

static sigjmp_buf recover;
static volatile uintptr_t bus_address;
static volatile int bus_code;

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    bus_address = (uintptr_t)info->si_addr;
    bus_code = info->si_code;
    siglongjmp(recover, 1);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        printf("usage: swap_readerror KEEP_MB HOG_MB\n0 passed, 1 failed\n");
        return 2;
    }
    size_t keep = strtoul(argv[1], NULL, 10) << 20, hog = strtoul(argv[2], NULL, 10) << 20;
    size_t pages = keep / 4096;
    /* The program's own stack, code and data stay in memory: a signal frame
     * that cannot be written (its stack page unreadable) would kill it. */
    char stack[64 << 10];
    memset(stack, 1, sizeof stack);
    ok(mlockall(MCL_CURRENT) == 0, "mlockall(MCL_CURRENT) before the test memory exists", "%s", strerror(errno));
    uint64_t *mem = mmap(NULL, keep, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    for (size_t p = 0; p < pages; p++)
        mem[p * 512] = p * 0x9e3779b97f4a7c15ULL;
    pid_t hogger = fork();
    if (hogger == 0) {
        char *h = mmap(NULL, hog, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (h == MAP_FAILED)
            _exit(1);
        for (size_t i = 0; i < hog; i += 4096)
            h[i] = 1;
        _exit(0);
    }
    int status;
    waitpid(hogger, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the hog pushed pages out to swap", "status %#x", status);

    struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
    sigaction(SIGBUS, &sa, NULL);
    size_t sigbus = 0, wrong = 0, right = 0;
    int code = 0;
    for (size_t p = 0; p < pages; p++) {
        volatile uint64_t *word = &mem[p * 512];
        if (sigsetjmp(recover, 1)) {
            if (bus_address == (uintptr_t)word)
                sigbus++;
            else
                wrong++;
            code = bus_code;
            continue;
        }
        if (*word == p * 0x9e3779b97f4a7c15ULL)
            right++;
        else
            wrong++;
    }
    note("%zu pages read back, %zu SIGBUS, %zu wrong", right, sigbus, wrong);
    ok(sigbus > 0, "a page whose slot cannot be read is SIGBUS at its address", "%zu SIGBUS", sigbus);
    ok(code == 2, "si_code BUS_ADRERR", "si_code %d", code);
    ok(wrong == 0, "no page came back with other data", "%zu wrong", wrong);
    ok(right + sigbus == pages, "every other page came back", "%zu + %zu of %zu", right, sigbus, pages);
    return ktest_done();
}
