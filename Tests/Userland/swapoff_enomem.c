/*
 * swapoff_enomem: swapoff that cannot bring every page back into memory
 * fails with ENOMEM (Linux's try_to_unuse), and the area stays on, whole:
 * /proc/swaps still lists it, and every page of the process still holds its
 * data, read back through faults. For a boot test with little RAM and a
 * swap area larger than it.
 *
 *   swapoff_enomem DEV MB    (MB well over the RAM)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ktest.h"
#include "procfs.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        printf("usage: swapoff_enomem DEV MB\n0 passed, 1 failed\n");
        return 2;
    }
    size_t size = strtoul(argv[2], NULL, 10) << 20, pages = size / 4096;
    uint64_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 1;
    for (size_t p = 0; p < pages; p++)
        mem[p * 512] = p * 0x9e3779b97f4a7c15ULL + 1;
    ok_errno(syscall(SYS_swapoff, argv[1]), ENOMEM, "swapoff with more in swap than memory can hold: ENOMEM");
    static char text[4096];
    read_whole("/proc/swaps", text, sizeof text);
    ok(strstr(text, argv[1]) != NULL, "the area is still on", "%s", text);
    size_t bad = 0;
    for (size_t p = 0; p < pages; p++)
        bad += mem[p * 512] != p * 0x9e3779b97f4a7c15ULL + 1;
    ok(bad == 0, "every page still holds its data", "%zu of %zu wrong", bad, pages);
    munmap(mem, size);
    ok(syscall(SYS_swapoff, argv[1]) == 0, "swapoff once the memory is gone", "%s", strerror(errno));
    return ktest_done();
}
