// Boot modules (tag type 3): files the boot loader placed in memory next to the
// kernel, such as the initramfs. There may be several, so they are read lazily
// by re-walking the already validated tag list instead of being copied to a heap.

/// A file loaded by the boot loader. Its frames must be reserved before the
/// allocator is set up (Linux: memblock_reserve() of the initrd).
public struct MultibootModule {
    /// First byte of the file (mod_start).
    public let start: PhysAddr
    /// First byte after the file (mod_end, exclusive as GRUB writes it).
    public let end: PhysAddr
    /// The module's string: the arguments given to it on the boot loader's module line.
    public let string: MultibootString

    public var size: UInt64 { end - start }

    /// Tag layout: type, size, mod_start u32, mod_end u32, NUL-terminated string.
    init(_ tag: MultibootTag) throws(MultibootError) {
        try tag.require(size: 16)
        let start = tag.u32(at: 8), end = tag.u32(at: 12)
        if end < start { throw .badModuleRange(offset: tag.offset, start: start, end: end) }
        self.start = PhysAddr(UInt64(start))
        self.end = PhysAddr(UInt64(end))
        self.string = try tag.string(at: 16)
    }
}

/// The modules of a validated boot-information block, in boot-loader order.
public struct MultibootModules: Sequence {
    let block: UnsafeRawBufferPointer
    let totalSize: Int

    public struct Iterator: IteratorProtocol {
        var walker: MultibootTagWalker

        public mutating func next() -> MultibootModule? {
            // The block was validated when it was parsed, so neither step can fail here.
            while let tag = try? walker.next() {
                if tag.type == MultibootTagType.module, let module = try? MultibootModule(tag) {
                    return module
                }
            }
            return nil
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(walker: MultibootTagWalker(block: block, limit: totalSize))
    }
}
