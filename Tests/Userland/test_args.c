/*
 * test_args: what execve leaves on the new stack (Linux: create_elf_tables()).
 *
 * The runner starts it as
 *     test_args alpha beta-gamma 42      with KEEL_ARGS_ENV=keel-env-value
 * on Linux by exec and on Keel from the kernel command line
 *     init=/bin/test_args KEEL_ARGS_ENV=keel-env-value -- alpha beta-gamma 42
 *
 * Linux's initial stack, from the stack pointer upwards:
 *     argc | argv[0..argc-1] | NULL | envp[...] | NULL | auxv pairs | AT_NULL
 *     ... padding, AT_RANDOM's 16 bytes ... argv strings | envp strings | execfn
 * with the stack pointer 16-byte aligned at process entry.
 */
#include "ktest.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern const Elf64_Ehdr __ehdr_start; /* the linker's name for our own ELF header */
extern char _start[];                 /* musl's crt1 entry point */

static const char *const expected_args[] = { "alpha", "beta-gamma", "42" };
static const char expected_env[] = "KEEL_ARGS_ENV=keel-env-value";

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void check_argv(int argc, char **argv)
{
    int want = 1 + (int)(sizeof expected_args / sizeof expected_args[0]);
    ok(argc == want, "argc", "argc is %d, want %d", argc, want);
    ok(argv[0] && strcmp(base_name(argv[0]), "test_args") == 0, "argv[0] names the program",
       "argv[0] is \"%s\"", argv[0] ? argv[0] : "(null)");
    for (int i = 1; i < want && i < argc; i++) {
        char name[32];
        snprintf(name, sizeof name, "argv[%d]", i);
        ok(strcmp(argv[i], expected_args[i - 1]) == 0, name, "\"%s\", want \"%s\"",
           argv[i], expected_args[i - 1]);
    }
    ok(argv[argc] == NULL, "argv[argc] is NULL", "argv[argc] = %p", (void *)argv[argc]);
    ok((long)(intptr_t)argv[-1] == argc, "argc sits just below argv", "argv[-1] = %ld",
       (long)(intptr_t)argv[-1]);
    ok((uintptr_t)(argv - 1) % 16 == 0, "initial stack pointer 16-byte aligned",
       "argc at %p", (void *)(argv - 1));

    /* copy_strings() packs the argument strings back to back, then the environment's. */
    bool packed = true;
    for (int i = 0; i + 1 < argc; i++)
        packed &= argv[i + 1] == argv[i] + strlen(argv[i]) + 1;
    ok(packed, "argv strings contiguous", "argv strings are not back to back");
    char *after_args = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    ok(environ[0] == NULL || environ[0] == after_args, "envp strings follow argv strings",
       "envp[0] at %p, last argv string ends at %p", (void *)environ[0], (void *)after_args);
    ok((uintptr_t)argv[0] > (uintptr_t)&argv[argc], "strings above the pointer arrays",
       "argv[0] at %p, argv array at %p", (void *)argv[0], (void *)argv);
}

static void check_env(int argc, char **argv, char **envp)
{
    ok(envp == argv + argc + 1, "envp follows argv's NULL", "envp %p, argv %p argc %d",
       (void *)envp, (void *)argv, argc);
    ok(environ == envp, "environ is envp", "environ %p, envp %p", (void *)environ, (void *)envp);
    bool found = false;
    for (char **e = envp; *e; e++)
        found |= strcmp(*e, expected_env) == 0;
    ok(found, "envp holds the runner's variable", "no \"%s\" in envp", expected_env);
    const char *v = getenv("KEEL_ARGS_ENV");
    ok(v && strcmp(v, "keel-env-value") == 0, "getenv", "getenv gave %s", v ? v : "(null)");
}

/* The auxiliary vector as found on the stack, after envp's NULL. */
static Elf64_auxv_t *stack_auxv(char **envp)
{
    while (*envp)
        envp++;
    return (Elf64_auxv_t *)(envp + 1);
}

static void check_auxv(char **envp)
{
    Elf64_auxv_t *auxv = stack_auxv(envp);
    Elf64_auxv_t *end = auxv;
    while (end->a_type != AT_NULL)
        end++;
    ok(end > auxv, "auxv follows envp's NULL", "empty auxv at %p", (void *)auxv);
    bool agree = true;
    for (Elf64_auxv_t *a = auxv; a < end; a++)
        if (a->a_type == AT_PAGESZ || a->a_type == AT_ENTRY || a->a_type == AT_PHDR)
            agree &= getauxval(a->a_type) == a->a_un.a_val;
    ok(agree, "auxv on the stack is getauxval's", "stack auxv and getauxval disagree");

    unsigned long pagesz = getauxval(AT_PAGESZ);
    ok(pagesz == 4096, "AT_PAGESZ", "%lu", pagesz);
    ok(sysconf(_SC_PAGESIZE) == 4096, "sysconf(_SC_PAGESIZE)", "%ld", sysconf(_SC_PAGESIZE));

    const Elf64_Phdr *phdr = (const Elf64_Phdr *)((const char *)&__ehdr_start + __ehdr_start.e_phoff);
    ok(getauxval(AT_PHDR) == (uintptr_t)phdr, "AT_PHDR is our program headers",
       "AT_PHDR %#lx, headers at %p", getauxval(AT_PHDR), (const void *)phdr);
    ok(getauxval(AT_PHNUM) == __ehdr_start.e_phnum, "AT_PHNUM", "%lu, e_phnum %u",
       getauxval(AT_PHNUM), __ehdr_start.e_phnum);
    ok(getauxval(AT_PHENT) == sizeof(Elf64_Phdr), "AT_PHENT", "%lu", getauxval(AT_PHENT));
    ok(getauxval(AT_ENTRY) == (uintptr_t)_start, "AT_ENTRY is _start", "AT_ENTRY %#lx, _start %p",
       getauxval(AT_ENTRY), (void *)_start);

    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    unsigned any = 0;
    if (rnd)
        for (int i = 0; i < 16; i++)
            any |= rnd[i];
    ok(rnd && any != 0, "AT_RANDOM: 16 readable bytes, not all zero", "AT_RANDOM %p", (void *)rnd);
    ok((uintptr_t)rnd > (uintptr_t)(end + 1), "AT_RANDOM bytes above the auxv",
       "AT_RANDOM %p, auxv ends %p", (void *)rnd, (void *)(end + 1));

    ok(getauxval(AT_UID) == getuid(), "AT_UID", "%lu, getuid %u", getauxval(AT_UID), getuid());
    ok(getauxval(AT_EUID) == geteuid(), "AT_EUID", "%lu, geteuid %u", getauxval(AT_EUID), geteuid());
    ok(getauxval(AT_GID) == getgid(), "AT_GID", "%lu, getgid %u", getauxval(AT_GID), getgid());
    ok(getauxval(AT_EGID) == getegid(), "AT_EGID", "%lu, getegid %u", getauxval(AT_EGID), getegid());

    errno = 0;
    unsigned long secure = getauxval(AT_SECURE);
    ok(secure == 0 && errno == 0, "AT_SECURE present and 0", "%lu, errno %d", secure, errno);
    ok(getauxval(AT_CLKTCK) == 100, "AT_CLKTCK is USER_HZ", "%lu", getauxval(AT_CLKTCK));
    ok(getauxval(AT_HWCAP) & 1, "AT_HWCAP has FPU (CPUID.1:EDX bit 0)", "%#lx", getauxval(AT_HWCAP));
}

/* With the caller's stack aligned, the return address and the saved frame pointer leave this
 * function's frame pointer on a 16-byte boundary (the ABI's rule at every call). */
__attribute__((noinline)) static uintptr_t frame_address(void)
{
    return (uintptr_t)__builtin_frame_address(0);
}

int main(int argc, char **argv, char **envp)
{
    check_argv(argc, argv);
    check_env(argc, argv, envp);
    check_auxv(envp);
    uintptr_t fp = frame_address();
    ok(fp % 16 == 0, "stack 16-byte aligned in calls from main", "frame at %#lx", (unsigned long)fp);
    return ktest_done();
}
