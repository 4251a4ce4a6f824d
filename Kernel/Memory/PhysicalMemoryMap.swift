// What the kernel knows about physical memory after boot: how far the direct
// map reaches. Linux: max_pfn, and the direct map's extent
enum PhysicalMemoryMap {
    /// Bytes of physical memory the direct map covers (4 GiB with the boot tables).
    nonisolated(unsafe) static var directMapEnd: UInt64 = 4 << 30
}
