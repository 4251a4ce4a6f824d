/*
 * test_interp: execve of a dynamically linked program (PT_INTERP), with no C
 * library involved: the test writes two tiny ELF files itself, a "program"
 * whose PT_INTERP names a "loader", and the loader, an ET_DYN whose code
 * writes the stack it was started with (argc, argv, envp, the auxiliary
 * vector) to stdout and exits. The parent reads that and checks what Linux's
 * load_elf_binary() promises a loader: AT_BASE is where the loader itself
 * was mapped, AT_ENTRY, AT_PHDR and AT_PHNUM describe the program, the PIE
 * program is relocated by one bias. Then the ways a loader can be wrong, with
 * the errno Linux gives (or the SIGSEGV it kills with past the point of no
 * return).
 */
#include "ktest.h"
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

/* The loader's code: push its own address, write 1024 bytes from the stack
 * pointer to fd 1, exit_group(0). */
static const unsigned char loader_code[] = {
    0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00,   /* lea rax, [rip]      */
    0x50,                                       /* push rax            */
    0xbf, 0x01, 0x00, 0x00, 0x00,               /* mov edi, 1          */
    0x48, 0x89, 0xe6,                           /* mov rsi, rsp        */
    0xba, 0x00, 0x04, 0x00, 0x00,               /* mov edx, 1024       */
    0xb8, 0x01, 0x00, 0x00, 0x00,               /* mov eax, 1 (write)  */
    0x0f, 0x05,                                 /* syscall             */
    0x31, 0xff,                                 /* xor edi, edi        */
    0xb8, 0xe7, 0x00, 0x00, 0x00,               /* mov eax, 231        */
    0x0f, 0x05,                                 /* syscall             */
};
#define CODE_OFFSET (sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr))
#define LEA_END (CODE_OFFSET + 7)              /* what the lea loads, from the base */

static void header(Elf64_Ehdr *e, uint16_t type, uint16_t phnum, uint64_t entry)
{
    memset(e, 0, sizeof *e);
    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS64;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_type = type;
    e->e_machine = EM_X86_64;
    e->e_version = EV_CURRENT;
    e->e_entry = entry;
    e->e_phoff = sizeof *e;
    e->e_ehsize = sizeof *e;
    e->e_phentsize = sizeof(Elf64_Phdr);
    e->e_phnum = phnum;
}

static bool write_file(const char *path, const void *bytes, size_t n, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return false;
    bool done = write(fd, bytes, n) == (ssize_t)n;
    close(fd);
    return done && chmod(path, mode) == 0;
}

/* The loader: one R+X PT_LOAD of the whole file at vaddr 0, entry at the code.
 * `type` and `machine` may be made wrong on purpose. */
static bool write_loader(const char *path, uint16_t type, uint16_t machine, mode_t mode)
{
    unsigned char image[CODE_OFFSET + sizeof loader_code];
    Elf64_Ehdr *e = (Elf64_Ehdr *)image;
    header(e, type, 1, CODE_OFFSET);
    e->e_machine = machine;
    Elf64_Phdr *ph = (Elf64_Phdr *)(image + sizeof *e);
    memset(ph, 0, sizeof *ph);
    ph->p_type = PT_LOAD;
    ph->p_flags = PF_R | PF_X;
    ph->p_filesz = ph->p_memsz = sizeof image;
    ph->p_align = 4096;
    memcpy(image + CODE_OFFSET, loader_code, sizeof loader_code);
    return write_file(path, image, sizeof image, mode);
}

/* The program: PT_INTERP (path bytes `interp`, `interp_len` of them, at the
 * end of the file) and one R PT_LOAD of the whole file; its entry is never run. */
#define PROGRAM_BASE_EXEC 0x400000
#define PROGRAM_ENTRY 0x10
static bool write_program(const char *path, uint16_t type, const char *interp, size_t interp_len)
{
    unsigned char image[sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr) + 256];
    size_t at = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
    uint64_t base = type == ET_EXEC ? PROGRAM_BASE_EXEC : 0;
    Elf64_Ehdr *e = (Elf64_Ehdr *)image;
    header(e, type, 2, base + PROGRAM_ENTRY);
    Elf64_Phdr *ph = (Elf64_Phdr *)(image + sizeof *e);
    memset(ph, 0, 2 * sizeof *ph);
    ph[0].p_type = PT_INTERP;
    ph[0].p_flags = PF_R;
    ph[0].p_offset = at;
    ph[0].p_vaddr = base + at;
    ph[0].p_filesz = ph[0].p_memsz = interp_len;
    ph[0].p_align = 1;
    ph[1].p_type = PT_LOAD;
    ph[1].p_flags = PF_R;
    ph[1].p_vaddr = base;
    ph[1].p_filesz = ph[1].p_memsz = at + interp_len;
    ph[1].p_align = 4096;
    memcpy(image + at, interp, interp_len);
    return write_file(path, image, at + interp_len, 0755);
}

static char *path_in(const char *name)
{
    static char paths[8][96];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

/* Runs `program` with a large environment string (so the stack above the
 * loader's sp holds its 1024 bytes); reads what the loader writes. Returns the
 * wait status; *err gets execve's errno when it failed (the child exits 100). */
static int run(const char *program, unsigned char *out, size_t *out_len, int *err)
{
    int fds[2], errpipe[2];
    if (pipe(fds) != 0 || pipe(errpipe) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        static char big[2048];
        memset(big, 'x', sizeof big - 1);
        memcpy(big, "PAD=", 4);
        char *argv[] = { (char *)program, NULL };
        char *envp[] = { big, NULL };
        close(fds[0]);
        close(errpipe[0]);
        dup2(fds[1], 1);
        fcntl(errpipe[1], F_SETFD, FD_CLOEXEC);
        execve(program, argv, envp);
        int e = errno;
        ssize_t w = write(errpipe[1], &e, sizeof e);
        _exit(w == sizeof e ? 100 : 101);
    }
    close(fds[1]);
    close(errpipe[1]);
    size_t n = 0;
    ssize_t r;
    while (n < *out_len && (r = read(fds[0], out + n, *out_len - n)) > 0) n += r;
    *out_len = n;
    *err = 0;
    if (read(errpipe[0], err, sizeof *err) != sizeof *err) *err = 0;
    close(fds[0]);
    close(errpipe[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static uint64_t aux(const uint64_t *auxv, size_t words, uint64_t key, bool *found)
{
    for (size_t i = 0; i + 1 < words && auxv[i] != AT_NULL; i += 2)
        if (auxv[i] == key) { *found = true; return auxv[i + 1]; }
    *found = false;
    return 0;
}

static void check_start(uint16_t type, const char *label)
{
    char name[96];
    const char *loader = path_in("ld.so");
    const char *program = path_in(type == ET_DYN ? "pie" : "exec");
    if (!ok(write_loader(loader, ET_DYN, EM_X86_64, 0755), label, "cannot write %s: %s", loader, strerror(errno)))
        return;
    write_program(program, type, loader, strlen(loader) + 1);
    unsigned char out[1024];
    size_t n = sizeof out;
    int err;
    int status = run(program, out, &n, &err);
    snprintf(name, sizeof name, "%s: the loader runs and exits 0", label);
    if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == sizeof out, name,
            "status %#x, execve errno %d, %zu bytes", status, err, n))
        return;
    uint64_t w[128];
    memcpy(w, out, sizeof w);
    uint64_t base = w[0] - LEA_END;
    snprintf(name, sizeof name, "%s: argc 1, argv and envp as given", label);
    ok(w[1] == 1 && w[2] != 0 && w[3] == 0 && w[4] != 0 && w[5] == 0, name,
       "argc %llu argv %#llx,%#llx envp %#llx,%#llx", (unsigned long long)w[1], (unsigned long long)w[2],
       (unsigned long long)w[3], (unsigned long long)w[4], (unsigned long long)w[5]);
    const uint64_t *auxv = w + 6;
    size_t words = 128 - 6;
    bool f1, f2, f3, f4, f5, f6;
    uint64_t at_base = aux(auxv, words, AT_BASE, &f1), at_entry = aux(auxv, words, AT_ENTRY, &f2);
    uint64_t at_phdr = aux(auxv, words, AT_PHDR, &f3), at_phnum = aux(auxv, words, AT_PHNUM, &f4);
    uint64_t at_phent = aux(auxv, words, AT_PHENT, &f5), at_pagesz = aux(auxv, words, AT_PAGESZ, &f6);
    snprintf(name, sizeof name, "%s: AT_BASE is where the loader runs", label);
    ok(f1 && at_base == base && base % 4096 == 0 && base != 0, name, "AT_BASE %#llx, loader code at base %#llx",
       (unsigned long long)at_base, (unsigned long long)base);
    uint64_t bias = type == ET_EXEC ? 0 : at_phdr - sizeof(Elf64_Ehdr);
    uint64_t program_base = type == ET_EXEC ? PROGRAM_BASE_EXEC : bias;
    snprintf(name, sizeof name, "%s: AT_PHDR, AT_PHENT, AT_PHNUM describe the program", label);
    ok(f3 && f4 && f5 && at_phdr == program_base + sizeof(Elf64_Ehdr) && at_phnum == 2 && at_phent == sizeof(Elf64_Phdr),
       name, "AT_PHDR %#llx AT_PHNUM %llu AT_PHENT %llu", (unsigned long long)at_phdr, (unsigned long long)at_phnum,
       (unsigned long long)at_phent);
    snprintf(name, sizeof name, "%s: AT_ENTRY is the program's entry, biased alike", label);
    ok(f2 && at_entry == program_base + PROGRAM_ENTRY && program_base % 4096 == 0, name, "AT_ENTRY %#llx, base %#llx",
       (unsigned long long)at_entry, (unsigned long long)program_base);
    snprintf(name, sizeof name, "%s: the loader lies apart from the program", label);
    ok(base + 4096 <= program_base || base >= program_base + 4096, name, "loader %#llx program %#llx",
       (unsigned long long)base, (unsigned long long)program_base);
    bool fr, fe, fp, fu, fs, fg;
    uint64_t random = aux(auxv, words, AT_RANDOM, &fr), execfn = aux(auxv, words, AT_EXECFN, &fe);
    uint64_t platform = aux(auxv, words, AT_PLATFORM, &fp), uid = aux(auxv, words, AT_UID, &fu);
    uint64_t secure = aux(auxv, words, AT_SECURE, &fs);
    aux(auxv, words, AT_HWCAP, &fg);
    snprintf(name, sizeof name, "%s: the rest of Linux's auxv", label);
    ok(f6 && at_pagesz == 4096 && fr && random && fe && execfn && fp && platform && fu && uid == (uint64_t)getuid() &&
       fs && secure == 0 && fg, name, "AT_PAGESZ %llu, a key missing", (unsigned long long)at_pagesz);
    if (type == ET_DYN && on_keel()) {
        /* Keel places a PIE where Linux does without randomization. */
        ok(program_base == 0x555555554000ULL, "Keel: the PIE at ELF_ET_DYN_BASE", "at %#llx",
           (unsigned long long)program_base);
    }
}

/* execve of a program whose loader is `loader_bytes` (or a loader made by
 * write_loader when NULL) must fail with `want`. */
static void check_error(const char *label, const char *interp, size_t interp_len, int want)
{
    const char *program = path_in("broken");
    write_program(program, ET_EXEC, interp, interp_len);
    unsigned char out[16];
    size_t n = sizeof out;
    int err;
    int status = run(program, out, &n, &err);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 100 && err == want, label,
       "status %#x, errno %d (%s), want %d (%s)", status, err, strerror(err), want, strerror(want));
}

int main(void)
{
    /* The initramfs (a tmpfs) has no /tmp; Linux has one. */
    if (mkdir("/tmp", 01777) != 0 && errno != EEXIST) { printf("no /tmp: errno %d\n", errno); return 1; }
    snprintf(dir, sizeof dir, "/tmp/test_interp.XXXXXX");
    if (!ok(mkdtemp(dir) != NULL && chmod(dir, 0755) == 0, "make a work directory", "%s: %s", dir, strerror(errno)))
        return ktest_done();

    check_start(ET_EXEC, "ET_EXEC program");
    check_start(ET_DYN, "PIE program");

    /* Errors found before the point of no return: execve returns them. */
    const char *loader = path_in("ld.so");
    const char *missing = path_in("no-such-loader");
    check_error("a missing loader is ENOENT", missing, strlen(missing) + 1, ENOENT);
    check_error("PT_INTERP without its NUL is ENOEXEC", loader, strlen(loader), ENOEXEC);
    check_error("a 1-byte PT_INTERP is ENOEXEC", "", 1, ENOEXEC);
    check_error("a directory as loader is EACCES", dir, strlen(dir) + 1, EACCES);
    const char *plain = path_in("ld-plain");
    write_loader(plain, ET_DYN, EM_X86_64, 0644);
    check_error("a loader without execute permission is EACCES", plain, strlen(plain) + 1, EACCES);
    const char *text = path_in("ld-text");
    char words[200];
    memset(words, 'a', sizeof words);
    write_file(text, words, sizeof words, 0755);
    check_error("a loader that is not ELF is ELIBBAD", text, strlen(text) + 1, ELIBBAD);
    const char *arm = path_in("ld-arm");
    write_loader(arm, ET_DYN, EM_AARCH64, 0755);
    check_error("a loader for another machine is ELIBBAD", arm, strlen(arm) + 1, ELIBBAD);
    const char *tiny = path_in("ld-tiny");
    write_file(tiny, "\177ELF", 4, 0755);
    check_error("a loader shorter than an ELF header is EIO", tiny, strlen(tiny) + 1, EIO);

    /* A relocatable object as loader is found while mapping it: the process dies. */
    const char *rel = path_in("ld-rel");
    write_loader(rel, ET_REL, EM_X86_64, 0755);
    const char *program = path_in("rel");
    write_program(program, ET_EXEC, rel, strlen(rel) + 1);
    unsigned char out[16];
    size_t n = sizeof out;
    int err;
    int status = run(program, out, &n, &err);
    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "an ET_REL loader kills the process with SIGSEGV",
       "status %#x, errno %d", status, err);

    const char *names[] = { "ld.so", "exec", "pie", "broken", "ld-plain", "ld-text", "ld-arm", "ld-tiny", "ld-rel", "rel" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(path_in(names[i]));
    rmdir(dir);
    return ktest_done();
}
