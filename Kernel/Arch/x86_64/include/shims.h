/*
 * The only C Keel has: one-line inline-assembly shims for instructions Swift
 * cannot express (port I/O, control registers, MSRs, descriptor tables, TLB).
 * Swift imports this header as a bridging header; every function is
 * static inline and always inlined (KEEL_INLINE), so each shim compiles to the
 * single instruction it names: -Osize would otherwise emit many of them out of
 * line, a call and return around one instruction.
 */
#ifndef KEEL_SHIMS_H
#define KEEL_SHIMS_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define KEEL_INLINE static inline __attribute__((always_inline))

/* ---- Kernel/Arch/x86_64/string.c ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void clear_page(void *page);
void copy_page(void *dst, const void *src);

/* ---- port I/O ---- */
KEEL_INLINE void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
KEEL_INLINE void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
KEEL_INLINE void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
KEEL_INLINE uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
KEEL_INLINE uint16_t inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
KEEL_INLINE uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* ---- control registers ---- */
KEEL_INLINE uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
KEEL_INLINE uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
KEEL_INLINE uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
KEEL_INLINE uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
KEEL_INLINE void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" :: "r"(v) : "memory"); }
KEEL_INLINE void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" :: "r"(v) : "memory"); }
KEEL_INLINE void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" :: "r"(v) : "memory"); }

/* ---- model-specific registers, CPUID, time stamp, random ---- */
KEEL_INLINE uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return ((uint64_t)hi << 32) | lo;
}
KEEL_INLINE void wrmsr(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
struct cpuid_regs { uint32_t eax, ebx, ecx, edx; };
KEEL_INLINE struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf) {
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}
KEEL_INLINE uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }
/* Returns 1 and stores a hardware random number, or 0 if the DRNG was not ready. */
KEEL_INLINE int rdrand64(uint64_t *out) { unsigned char ok; __asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok)); return ok; }

/* ---- atomic arithmetic on a 32-bit word inside a shared structure (mem_map) ---- */
KEEL_INLINE int32_t atomic_add_return_i32(int32_t *p, int32_t v) { return __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL); }
KEEL_INLINE int32_t atomic_read_i32(const int32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
KEEL_INLINE void atomic_set_i32(int32_t *p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
KEEL_INLINE bool atomic_cmpxchg_i32(int32_t *p, int32_t expected, int32_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
KEEL_INLINE uint64_t atomic_xchg_u64(uint64_t *p, uint64_t v) { return __atomic_exchange_n(p, v, __ATOMIC_ACQ_REL); }
KEEL_INLINE uint32_t atomic_fetch_or_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_or(p, v, __ATOMIC_ACQ_REL); }
KEEL_INLINE uint32_t atomic_fetch_and_u32(uint32_t *p, uint32_t v) { return __atomic_fetch_and(p, v, __ATOMIC_ACQ_REL); }
KEEL_INLINE uint64_t atomic_fetch_and_u64(uint64_t *p, uint64_t v) { return __atomic_fetch_and(p, v, __ATOMIC_ACQ_REL); }

/* ---- descriptor tables ---- */
struct __attribute__((packed)) descriptor_pointer { uint16_t limit; uint64_t base; };
KEEL_INLINE void lidt(const struct descriptor_pointer *p) { __asm__ volatile("lidt %0" :: "m"(*p)); }
KEEL_INLINE void lgdt(const struct descriptor_pointer *p) { __asm__ volatile("lgdt %0" :: "m"(*p)); }
KEEL_INLINE void ltr(uint16_t selector) { __asm__ volatile("ltr %0" :: "r"(selector)); }

/* ---- TLB, interrupts, halting ---- */
KEEL_INLINE void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
KEEL_INLINE void cpu_cli(void) { __asm__ volatile("cli" ::: "memory"); }
KEEL_INLINE void cpu_sti(void) { __asm__ volatile("sti" ::: "memory"); }
KEEL_INLINE void cpu_hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/* Enable interrupts and halt until the next one, with no gap between (sti shadow). */
KEEL_INLINE void cpu_idle(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
KEEL_INLINE void cpu_pause(void) { __asm__ volatile("pause"); }
/* No instruction: the compiler may not move memory accesses across it. Linux: barrier() */
KEEL_INLINE void compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }
KEEL_INLINE uint64_t read_rflags(void) { uint64_t v; __asm__ volatile("pushfq; popq %0" : "=r"(v)); return v; }
/* Supervisor-mode access prevention: open and close the window for user copies. */
KEEL_INLINE void cpu_stac(void) { __asm__ volatile("stac" ::: "memory"); }
KEEL_INLINE void cpu_clac(void) { __asm__ volatile("clac" ::: "memory"); }

/* ---- x87/SSE state ---- */
KEEL_INLINE void cpu_fxsave(void *area) { __asm__ volatile("fxsave64 (%0)" :: "r"(area) : "memory"); }
KEEL_INLINE void cpu_fxrstor(const void *area) { __asm__ volatile("fxrstor64 (%0)" :: "r"(area) : "memory"); }

/* ---- the running frame, for call traces ---- */
KEEL_INLINE uint64_t read_rbp(void) { uint64_t v; __asm__ volatile("mov %%rbp, %0" : "=r"(v)); return v; }
KEEL_INLINE uint64_t read_rsp(void) { uint64_t v; __asm__ volatile("mov %%rsp, %0" : "=r"(v)); return v; }

/* ---- Boot/stack.S ---- */
void call_on_stack(uint64_t top, void (*fn)(void));

/* ---- Boot/switch.S, Boot/syscall.S ---- */
void switch_to(uint64_t *prev_sp, uint64_t next_sp);

/* ---- per-CPU data through GS (Kernel/Arch/x86_64/PerCPU.swift) ---- */
KEEL_INLINE uint64_t percpu_read(uint64_t offset) {
    uint64_t v; __asm__ volatile("mov %%gs:(%1), %0" : "=r"(v) : "r"(offset)); return v;
}
KEEL_INLINE void percpu_write(uint64_t offset, uint64_t v) {
    __asm__ volatile("mov %0, %%gs:(%1)" :: "r"(v), "r"(offset) : "memory");
}
KEEL_INLINE void cpu_swapgs(void) { __asm__ volatile("swapgs" ::: "memory"); }

/* ---- Boot/usercopy.S ---- */
uint64_t copy_user(void *dst, const void *src, uint64_t n);
extern uint8_t smap_enabled;
KEEL_INLINE void set_smap_enabled(uint8_t on) { smap_enabled = on; }

/* ---- symbols from linker.ld and Boot/ ----
 * Swift cannot import C arrays of unknown size, so each symbol gets an
 * accessor returning its address. */
#define KEEL_SYMBOL(name) \
    extern char name[]; \
    KEEL_INLINE uint64_t symbol_##name(void) { return (uint64_t)name; }
KEEL_SYMBOL(__kernel_phys_start)
KEEL_SYMBOL(__kernel_phys_end)
KEEL_SYMBOL(__text_start)
KEEL_SYMBOL(__text_end)
KEEL_SYMBOL(__rodata_start)
KEEL_SYMBOL(__rodata_end)
KEEL_SYMBOL(__data_start)
KEEL_SYMBOL(__data_end)
KEEL_SYMBOL(__kernel_end)
KEEL_SYMBOL(__ksymtab_start)
KEEL_SYMBOL(__ksymtab_end)
KEEL_SYMBOL(boot_stack_bottom)
KEEL_SYMBOL(multiboot1_block)
KEEL_SYMBOL(boot_stack_top)
KEEL_SYMBOL(isr_stub_table)
KEEL_SYMBOL(early_heap_start)
KEEL_SYMBOL(early_heap_end)
KEEL_SYMBOL(copy_user_words)
KEEL_SYMBOL(copy_user_words_fixup)
KEEL_SYMBOL(copy_user_insn)
KEEL_SYMBOL(copy_user_fixup)
KEEL_SYMBOL(isr_exit)
KEEL_SYMBOL(ret_from_fork)
KEEL_SYMBOL(syscall_entry)
/* Boot/trampoline.S: the AP start-up code, copied below 1 MiB */
KEEL_SYMBOL(trampoline_start)
KEEL_SYMBOL(trampoline_end)
KEEL_SYMBOL(trampoline_header)

#endif
