#!/usr/bin/env python3
"""console-cpio.py OUT: a newc cpio archive holding only /dev and the character
device /dev/console (5:1), which Linux's initramfs needs for init's stdio.
Written directly, so no mknod (root) is needed."""
import sys

def entry(name, mode, rdev=(0, 0), ino=1):
    name_bytes = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, 0, 0, 0, rdev[0], rdev[1], len(name_bytes), 0]
    header = b"070701" + b"".join(b"%08x" % f for f in fields)
    out = header + name_bytes
    out += b"\0" * (-len(out) % 4)
    return out

archive = entry("dev", 0o40755, ino=1) + entry("dev/console", 0o20600, (5, 1), ino=2) + entry("TRAILER!!!", 0, ino=0)
archive += b"\0" * (-len(archive) % 512)
open(sys.argv[1], "wb").write(archive)
