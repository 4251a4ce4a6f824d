#!/usr/bin/env python3
"""mkelf32.py KERNEL.elf OUT.elf: the same kernel in an ELF32 wrapper, for QEMU's
own loader (`qemu-system-x86_64 -kernel OUT.elf`), which starts Multiboot (v1)
kernels but reads only ELF32 files.

Each PT_LOAD segment of the 64-bit image is copied with its physical address
(p_paddr) as both its addresses: the loader places bytes by physical address
and jumps to the entry point, _start, which is 32-bit code at a physical
address (Boot/entry32.S). What the kernel sees in memory is exactly what GRUB
loads from the ELF64 file.
"""
import struct
import sys

PT_LOAD = 1


def main():
    src, dst = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        sys.exit("mkelf32: %s is not an ELF64 file" % src)
    entry, phoff = struct.unpack_from("<QQ", data, 24)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    segments = []
    for i in range(phnum):
        p_type, _flags, offset, _vaddr, paddr, filesz, memsz, _align = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type != PT_LOAD or memsz == 0:
            continue
        if paddr + memsz > 1 << 32:
            sys.exit("mkelf32: segment at physical 0x%x does not fit 32 bits" % paddr)
        segments.append((paddr, data[offset:offset + filesz], memsz, _flags))
    if entry >= 1 << 32:
        sys.exit("mkelf32: entry point 0x%x is not a 32-bit address" % entry)
    segments.sort()

    header_size = 52 + 32 * len(segments)
    # Segment data at page-aligned offsets after the headers: the first one (the
    # multiboot headers) starts at 4 KiB, inside the first 8 KiB v1 loaders search.
    offset = (header_size + 4095) & ~4095
    phdrs, body = b"", b""
    for paddr, bytes_, memsz, flags in segments:
        phdrs += struct.pack("<IIIIIIII", PT_LOAD, offset, paddr, paddr, len(bytes_), memsz, flags, 4096)
        body += bytes_ + b"\0" * (-len(bytes_) % 4096)
        offset += len(bytes_) + (-len(bytes_) % 4096)
    ident = b"\x7fELF" + bytes([1, 1, 1]) + b"\0" * 9        # ELFCLASS32, little endian, version 1
    ehdr = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, 52, 0, 0, 52, 32, len(segments), 0, 0, 0)
    out = ehdr + phdrs
    out += b"\0" * (((len(out) + 4095) & ~4095) - len(out))
    with open(dst, "wb") as f:
        f.write(out + body)


if __name__ == "__main__":
    main()
