// Zeroing and copying whole 4 KiB frames, through the direct map. Swift code
// must come here rather than call memset or memcpy with the page size: LLVM
// expands a constant-size call inline as `rep stosb` / `rep movsb`, which
// QEMU's TCG runs one byte per trip through its translated code (a page copy
// took about 9 us that way; string.c's loop takes about 1 us).
// Linux: clear_page(), copy_page()

enum PageBytes {
    /// Linux: clear_page()
    @inline(__always) static func clear(_ page: UnsafeMutableRawPointer) { clear_page(page) }

    /// Linux: copy_page()
    @inline(__always) static func copy(to destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer) {
        copy_page(destination, source)
    }
}
