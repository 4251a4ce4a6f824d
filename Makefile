# Keel: every user-facing command (README "Commands").
#   make run    build and boot in QEMU (SMP=, MEM=, NUMA=, CMDLINE=, ROOTFS_EXTRA=, TIMEOUT=, LOADER=, DISK=, SWAP=)
#   make test   host unit tests, then QEMU boot tests; ends with "N passed, N failed"
#   make check  multiboot2 header present, no red-zone use in the kernel
#   make gdb    QEMU halted with a gdb stub, gdb attached with symbols
#   make fuzz   a system-call fuzzing campaign (SECONDS=, SEED=, SMP=, FUZZ_ARGS=)
#   make bench  host allocator benches, then Keel against Linux in the same QEMU (BOOTS=)
#   make stress Tests/Userland/test_smp_stress.c on 4 CPUs for STRESS_SECONDS (default 60)
#   make disk   an ext2 image of the userland (DISK=, DISK_SIZE=, ROOTFS_EXTRA=)
#   make viz    boot Tests/Userland/viz_tour.c, draw build/viz/index.html (SMP=, MEM=)
#   make reclaim-tour  Tests/Userland/reclaim_tour.c on an ext2 root, MEM=64M SWAP=128M unless given
#   make iso    build/keel.iso;  make clean
#   make wrr-report  WRR shares and per-CPU weights on 1, 2, 4 CPUs, plotted (WRR_SECONDS=)

SMP      ?= 1
MEM      ?= 256M
CMDLINE  ?=
TIMEOUT  ?= 120
# qemu: QEMU's own Multiboot v1 loader (-kernel); grub: GRUB from an ISO (Multiboot2)
LOADER   ?= qemu
ROOTFS_EXTRA ?=
# make run: a raw disk image attached read-write as the first virtio disk (/dev/vda)
DISK     ?=
# make run: a fresh swap area of this size (e.g. 256M) on the next virtio disk, swapped on at boot
SWAP     ?=
# make fuzz: campaign length, master seed, extra fuzzer options (e.g. skip=318)
SECONDS  ?= 600
SEED     ?= 1
FUZZ_ARGS ?=
# make bench: boots per kernel (the table shows medians and the spread)
BOOTS    ?= 3
# make disk: the image to write and its size
DISK_SIZE ?= 256M
# make stress: how long the 4-CPU stress round runs
STRESS_SECONDS ?= 60
# make wrr-report: seconds the WRR tasks are measured on one CPU (n CPUs: WRR_SECONDS/n)
WRR_SECONDS ?= 42

BUILD    := build
SWIFTC   ?= swiftc
CLANG    ?= clang
LD       := ld.lld
EMBEDDED := $(dir $(shell command -v $(SWIFTC)))../lib/swift/embedded/x86_64-unknown-none-elf

SWIFT_SOURCES := $(shell find Kernel -name "*.swift" | sort)
C_SOURCES     := $(shell find Kernel -name '*.c' | sort)
ASM_SOURCES   := $(sort $(wildcard Boot/*.S))
SHIMS_HEADER  := Kernel/Arch/x86_64/include/shims.h

SWIFT_FLAGS := -target x86_64-unknown-none-elf -enable-experimental-feature Embedded -wmo \
  -swift-version 6 -parse-as-library -Osize -Xfrontend -disable-stack-protector \
  -Xcc -mno-red-zone -Xcc -ffreestanding -Xcc -mno-sse -Xcc -mno-sse2 -Xcc -mno-mmx -Xcc -mno-avx -Xfrontend -function-sections -g \
  -module-name Keel -import-bridging-header $(SHIMS_HEADER)
C_FLAGS := -target x86_64-unknown-none-elf -fPIE -mno-red-zone -mgeneral-regs-only -fno-stack-protector -ffreestanding \
  -fno-omit-frame-pointer -O2 -g -Wall -Werror -nostdinc -isystem $(shell $(CLANG) -print-resource-dir)/include
ASM_FLAGS := -target x86_64-unknown-none-elf -g
LD_FLAGS  := -T linker.ld -nostdlib -static --gc-sections -z max-page-size=4096

ASM_OBJECTS := $(patsubst %.S,$(BUILD)/%.o,$(ASM_SOURCES))
C_OBJECTS   := $(patsubst %.c,$(BUILD)/%.o,$(C_SOURCES))
KERNEL_OBJECTS := $(ASM_OBJECTS) $(C_OBJECTS) $(BUILD)/kernel-swift.o
UNICODE_LIB := $(EMBEDDED)/libswiftUnicodeDataTables.a

.PHONY: all run iso test check gdb bench clean deps host-test initramfs disk
all: $(BUILD)/keel.elf

$(BUILD)/%.o: %.S Boot/frame.h
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CLANG) $(ASM_FLAGS) -c $< -o $@

$(BUILD)/%.o: %.c $(SHIMS_HEADER)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CLANG) $(C_FLAGS) -c $< -o $@

$(BUILD)/kernel-swift.o: $(SWIFT_SOURCES) $(SHIMS_HEADER)
	@mkdir -p $(BUILD)
	@echo "  SWIFTC  Kernel/ ($(words $(SWIFT_SOURCES)) files, Embedded)"
	@$(SWIFTC) $(SWIFT_FLAGS) -c $(SWIFT_SOURCES) -o $@

# Two links: the first finds where every function lands, tools/gensyms.py turns
# that into a symbol table, and the second link adds the table at the end of
# .rodata, where it moves no code (the build checks that it did not).
$(BUILD)/keel.pass1.elf: $(KERNEL_OBJECTS) $(BUILD)/ksymtab-empty.o linker.ld
	@echo "  LD      $@"
	@$(LD) $(LD_FLAGS) $(KERNEL_OBJECTS) $(BUILD)/ksymtab-empty.o $(UNICODE_LIB) -o $@

$(BUILD)/ksymtab-empty.o:
	@mkdir -p $(BUILD)
	@printf '' | $(CLANG) $(ASM_FLAGS) -x assembler -c - -o $@

$(BUILD)/ksymtab.S: $(BUILD)/keel.pass1.elf tools/gensyms.py
	@echo "  KSYMS   $@"
	@python3 tools/gensyms.py $< $@

$(BUILD)/keel.elf: $(BUILD)/keel.pass1.elf $(BUILD)/ksymtab.o
	@echo "  LD      $@"
	@$(LD) $(LD_FLAGS) $(KERNEL_OBJECTS) $(BUILD)/ksymtab.o $(UNICODE_LIB) -o $@
	@tools/check-symbols-stable.sh $(BUILD)/keel.pass1.elf $@

$(BUILD)/ksymtab.o: $(BUILD)/ksymtab.S
	@$(CLANG) $(ASM_FLAGS) -c $< -o $@

deps:
	@tools/ensure-deps.sh

# The initramfs: every Tests/Userland program (musl-gcc -static) plus ROOTFS_EXTRA.
# The script rebuilds only what changed, so it runs every time.
initramfs: deps
	@tools/build-initramfs.sh $(BUILD)/initramfs.cpio $(ROOTFS_EXTRA)

disk: deps
	@test -n "$(DISK)" || { echo "make disk: say where, e.g. make disk DISK=build/disk.img" >&2; exit 2; }
	@tools/make-disk.sh $(DISK) $(DISK_SIZE) $(ROOTFS_EXTRA)

iso: $(BUILD)/keel.elf initramfs
	tools/make-iso.sh $(BUILD)/keel.elf $(BUILD)/keel.iso "$(CMDLINE)" $(BUILD)/initramfs.cpio

run: $(BUILD)/keel.elf initramfs
	@tools/run-qemu.sh --kernel $(BUILD)/keel.elf --initramfs $(BUILD)/initramfs.cpio \
	    --smp $(SMP) --mem $(MEM) $(if $(NUMA),--numa $(NUMA)) --timeout $(TIMEOUT) --loader $(LOADER) $(if $(DISK),--disk $(DISK)) $(if $(SWAP),--swap $(SWAP)) -- $(CMDLINE)

gdb: $(BUILD)/keel.elf initramfs
	@tools/gdb.sh $(BUILD)/keel.elf "$(CMDLINE)" $(MEM) $(SMP) $(BUILD)/initramfs.cpio

check: $(BUILD)/keel.elf
	@tools/check-kernel.sh $(BUILD)/keel.elf
	@tools/check-layers.sh

host-test:
	swift test --disable-swift-testing

test: $(BUILD)/keel.elf initramfs
	@tools/test-all.sh

# Tests/Fuzz/fuzz.c as init for SECONDS; on a panic, hang or unkillable task it
# prints a reproducer (tools/fuzz.py). Exit 0 only if the campaign ran clean.
# Every kind of kernel path at once on 4 CPUs (mm threads, fork+exec, futexes,
# pipes) for STRESS_SECONDS; fails on a failed check, a hang or a lock-validator
# report. make test runs the same program for 6 s.
.PHONY: stress
stress: $(BUILD)/keel.elf initramfs
	@KEEL_LOG=$(BUILD)/stress.log tools/run-qemu.sh --kernel $(BUILD)/keel.elf --initramfs $(BUILD)/initramfs.cpio \
	    --smp 4 --timeout $$(( $(STRESS_SECONDS) * 3 + 120 )) -- init=/bin/test_smp_stress -- $(STRESS_SECONDS)
	@! grep -a -E '^(WARNING: (possible|inconsistent|bad unlock)|BUG: )' $(BUILD)/stress.log

# tools/wrr-report.py boots Keel once per CPU count with /bin/wrr_report as init
# and writes build/wrr-report/index.html. Debian's /usr/bin/python3, not the
# first python3 on PATH (a pyenv or venv one does not see python3-matplotlib).
.PHONY: wrr-report
wrr-report: $(BUILD)/keel.elf initramfs
	@/usr/bin/python3 tools/wrr-report.py --seconds $(WRR_SECONDS) --out $(BUILD)/wrr-report

# kswapd, the LRU lists and swap at work: a file and then anonymous memory
# past RAM (Tests/Userland/reclaim_tour.c), on an ext2 root so that file pages
# can be dropped and read again. MEM= and SWAP= on the command line win.
.PHONY: reclaim-tour
reclaim-tour: MEM = 64M
reclaim-tour: SWAP = 128M
reclaim-tour: $(BUILD)/keel.elf initramfs
	@tools/make-disk.sh $(BUILD)/reclaim-tour.img 128M > /dev/null
	@tools/run-qemu.sh --kernel $(BUILD)/keel.elf --initramfs $(BUILD)/initramfs.cpio --smp $(SMP) --mem $(MEM) \
	    --swap $(SWAP) --disk $(BUILD)/reclaim-tour.img --timeout 900 -- root=/dev/vda init=/bin/reclaim_tour -- /tmp 32 96

# Pictures of physical memory, an address space and the page faults of a
# booted scenario, for a browser (tools/viz.py, with Debian's matplotlib).
.PHONY: viz
viz: $(BUILD)/keel.elf initramfs
	@/usr/bin/python3 tools/viz.py --smp $(SMP) --mem $(MEM)

.PHONY: fuzz
fuzz: $(BUILD)/keel.elf initramfs
	@tools/fuzz.py --seconds $(SECONDS) --seed $(SEED) --smp $(SMP) --mem $(MEM) -- $(FUZZ_ARGS)

clean:
	rm -rf $(BUILD) .build

bench: $(BUILD)/keel.elf initramfs
	swift build -c release --product KeelBench
	.build/release/KeelBench
	@python3 tools/bench.py --boots $(BOOTS) --readme
