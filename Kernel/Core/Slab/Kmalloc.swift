// kmalloc and kfree: byte-sized kernel allocations from the size-class caches
// kmalloc-8 ... kmalloc-8192, and whole pages above that. Every Swift object,
// array and string the kernel creates comes from here.
// Linux: mm/slab_common.c (kmalloc_caches, kmalloc_index), mm/slub.c (kmalloc_large)

// MARK: - kmalloc and kfree
//
// kmalloc: byte-sized kernel allocations from the size-class caches, whole pages
// above 8192 bytes. kfree() gets no size, so the owner is found from the pointer
// alone, in O(1), without Linux's page descriptors:
// - a page-aligned pointer may be a large block: its header is in the page before;
// - otherwise (or if that header is absent) the pointer is in a kmalloc slab, and
//   since all kmalloc slabs are 64 KiB blocks aligned to their size, aligning the
//   pointer down to 64 KiB gives the slab header, which names the cache (SlabLookup).

extension SlabAllocator {
    /// Linux: kmalloc(); with `.zero`, kzalloc(). A size of 0 is served as 1 byte.
    @inlinable @inline(__always)
    public func kmalloc(_ size: Int, flags: SlabAllocFlags = [], cpu: Int = 0) throws(SlabError)
        -> UnsafeMutableRawPointer
    {
        // One unsigned compare sends both negative and large sizes off the fast path.
        guard UInt(bitPattern: size) <= UInt(KmallocSizes.maxCacheSize) else {
            guard size >= 0 else { throw .invalidRequest(size: size, alignment: 1) }
            return try kmallocLarge(size, alignment: 1, flags: flags)
        }
        return try alloc(kmallocCache(index: KmallocSizes.index(size)), flags: flags, cpu: cpu)
    }

    /// `size` bytes at a multiple of `alignment` (a power of two), as posix_memalign()
    /// needs. A power-of-two cache of at least `alignment` bytes is aligned to it;
    /// beyond 8192 bytes whole pages serve. Linux: kmalloc() and the natural alignment
    /// of kmalloc-2^n objects
    public func kmalloc(size: Int, alignment: Int, flags: SlabAllocFlags = [], cpu: Int = 0) throws(SlabError)
        -> UnsafeMutableRawPointer
    {
        guard size >= 0, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw .invalidRequest(size: size, alignment: alignment)
        }
        let needed = max(size, alignment)
        guard needed <= KmallocSizes.maxCacheSize else {
            return try kmallocLarge(size, alignment: alignment, flags: flags)
        }
        var index = KmallocSizes.index(needed)
        if alignment > SlabLayout.word { index = KmallocSizes.naturallyAligned(index) }
        return try alloc(kmallocCache(index: index), flags: flags, cpu: cpu)
    }

    /// Linux: kfree(); nil is ignored. Refuses pointers that are not live kmalloc memory.
    @inlinable @inline(__always)
    public func kfree(_ object: UnsafeMutableRawPointer?) throws(SlabError) {
        guard let object else { return }
        if let large = KmallocLargeHeader.of(object) { return freeLarge(large) }
        try free(object, from: KmemCache.kmallocSlab(of: object))
    }

    /// The cache that serves `size` bytes; nil above 8192 (whole pages). Linux: kmalloc_slab()
    public func kmallocCache(size: Int) -> KmemCacheRef? {
        guard size >= 0, size <= KmallocSizes.maxCacheSize else { return nil }
        return kmallocCache(index: KmallocSizes.index(size))
    }

    /// Linux: kmalloc_caches[index]
    @inlinable
    func kmallocCache(index: Int) -> KmemCacheRef {
        KmemCacheRef(kmallocCaches[index].unsafelyUnwrapped)
    }

    /// Bytes usable at `object`, at least what was asked for. Linux: ksize()
    public func ksize(_ object: UnsafeMutableRawPointer) throws(SlabError) -> Int {
        if let large = KmallocLargeHeader.of(object) { return large.usableBytes }
        return try KmemCache.kmallocSlab(of: object).pointee.cache.pointee.layout.objectSize
    }
}

// MARK: - size classes
//
// kmalloc's size classes: Linux's kmalloc-8 … kmalloc-8192, with 96 and 192 filling
// the widest gaps (64→128, 128→256). Indices follow Linux's kmalloc_index():
// 1 = 96, 2 = 192, and k = 2^k bytes for k = 3…13; index 0 is unused.

/// Linux: kmalloc_index(), kmalloc_info[], KMALLOC_MAX_CACHE_SIZE
public enum KmallocSizes {
    /// Largest request a cache serves; larger ones get whole pages. Linux: KMALLOC_MAX_CACHE_SIZE
    /// (Computed and inlinable: kmalloc's inlined fast path reads it on every call.)
    @inlinable public static var maxCacheSize: Int { 8192 }
    /// Every kmalloc slab spans 2^4 pages (64 KiB), so kfree() finds any kmalloc slab
    /// by aligning down to 64 KiB. At this size the header and bitmap cost at most one
    /// object: 1/16 of a kmalloc-4096 slab, 1/8 of a kmalloc-8192 slab.
    /// (Computed and inlinable, as kfree()'s inlined fast path aligns by it.)
    @inlinable public static var slabOrder: Int { 4 }
    @inlinable static var slabBytes: Int { SlabLayout.pageBytes << slabOrder }
    static let firstPowerIndex = 3
    static let lastIndex = 13
    static let tableCount = lastIndex + 1

    /// The cache index serving `size` (0…8192) bytes, in O(1) and without branches, as
    /// every kmalloc() computes it. Linux: kmalloc_index()
    @inlinable public static func index(_ size: Int) -> Int {
        let last = max(size, 1) &- 1                                    // last byte's offset
        let log2 = Int.bitWidth &- (last | 7).leadingZeroBitCount       // ⌈log2 size⌉, at least 3
        // 65…96 and 129…192 bytes: the two top bits of `last` are 10, and 96 or 192 serves.
        let third = (log2 == 7 || log2 == 8) && last &>> (log2 &- 2) == 2
        return third ? log2 &- 6 : log2
    }

    /// Object size of the cache at `index`. Linux: kmalloc_info[index].size
    public static func size(ofIndex index: Int) -> Int {
        switch index {
        case 1: 96
        case 2: 192
        default: 1 << index
        }
    }

    /// The smallest power-of-two index at least as large: 96 and 192 are only
    /// word-aligned, every other kmalloc cache is aligned to its size.
    static func naturallyAligned(_ index: Int) -> Int {
        switch index {
        case 1: 7
        case 2: 8
        default: index
        }
    }

    /// Linux: kmalloc_info[index].name
    static func name(ofIndex index: Int) -> StaticString {
        switch index {
        case 1: "kmalloc-96"
        case 2: "kmalloc-192"
        case 3: "kmalloc-8"
        case 4: "kmalloc-16"
        case 5: "kmalloc-32"
        case 6: "kmalloc-64"
        case 7: "kmalloc-128"
        case 8: "kmalloc-256"
        case 9: "kmalloc-512"
        case 10: "kmalloc-1024"
        case 11: "kmalloc-2048"
        case 12: "kmalloc-4096"
        default: "kmalloc-8192"
        }
    }
}

// MARK: - large blocks
//
// kmalloc requests above 8192 bytes (or aligned beyond it) take whole pages. kfree()
// must recognise them without a size, so the page just before the returned pointer
// holds a header with the block's order. (Linux reads the order from the compound
// page's descriptor instead.) The header page costs one page per large block and
// keeps the pointer page aligned, as posix_memalign callers may need.

/// Linux: the folio behind a kmalloc_large() allocation
@usableFromInline struct KmallocLargeHeader {
    /// (Computed and inlinable: kfree()'s inlined fast path compares it.)
    @inlinable static var magic: UInt64 { 0x4c41_5247_4b45_454c }   // "LARGKEEL"

    @usableFromInline var magic: UInt64
    /// The pointer handed out: a copy of a header elsewhere does not match it.
    @usableFromInline var object: UnsafeMutableRawPointer
    var block: UnsafeMutableRawPointer
    var order: Int

    var usableBytes: Int {
        (SlabLayout.pageBytes << order) - (Int(bitPattern: object) - Int(bitPattern: block))
    }

    /// The header of the large block at `object`, if it is one. Only page-aligned
    /// pointers can be, and for every live page-aligned kmalloc pointer the page before
    /// is readable: it is this header or, for a slab object, earlier bytes of the same
    /// slab (no object starts at offset 0, where the slab header is).
    @inlinable @inline(__always)
    static func of(_ object: UnsafeMutableRawPointer) -> KmallocLargeHeader? {
        guard Int(bitPattern: object) & (SlabLayout.pageBytes - 1) == 0 else { return nil }
        let page = object - SlabLayout.pageBytes
        // `magic`, then `object`, read as integers: the bytes may be anything.
        guard page.load(as: UInt64.self) == magic,
              page.load(fromByteOffset: MemoryLayout<UInt64>.size, as: UInt.self) == UInt(bitPattern: object)
        else { return nil }
        return page.load(as: KmallocLargeHeader.self)
    }

    /// Smallest order whose block holds `bytes`. Linux: get_order()
    static func order(for bytes: Int) -> Int {
        let pages = (bytes + SlabLayout.pageBytes - 1) / SlabLayout.pageBytes
        return pages <= 1 ? 0 : Int.bitWidth - (pages - 1).leadingZeroBitCount
    }
}

extension SlabAllocator {
    /// Linux: kmalloc_large()
    @usableFromInline
    func kmallocLarge(_ size: Int, alignment: Int, flags: SlabAllocFlags) throws(SlabError) -> UnsafeMutableRawPointer {
        let size = max(size, 1)
        let offset = max(SlabLayout.pageBytes, alignment)
        guard size <= (SlabLayout.pageBytes << SlabLayout.maxOrder) - offset else {
            throw .outOfMemory(cache: "kmalloc")
        }
        let order = KmallocLargeHeader.order(for: offset + size)
        guard let block = backend.pointee.allocatePages(order: order) else { throw .outOfMemory(cache: "kmalloc") }
        let object = block + offset
        (object - SlabLayout.pageBytes).storeBytes(
            of: KmallocLargeHeader(magic: KmallocLargeHeader.magic, object: object, block: block, order: order),
            as: KmallocLargeHeader.self)
        if flags.contains(.zero) { object.initializeMemory(as: UInt8.self, repeating: 0, count: size) }
        backend.pointee.lockLists()
        state.pointee.largeBlocks += 1
        backend.pointee.unlockLists()
        return object
    }

    /// Linux: free_large_kmalloc()
    @usableFromInline
    func freeLarge(_ header: KmallocLargeHeader) {
        var dead = header
        dead.magic = 0   // a second kfree() of the pointer no longer finds a large block
        (header.object - SlabLayout.pageBytes).storeBytes(of: dead, as: KmallocLargeHeader.self)
        backend.pointee.lockLists()
        state.pointee.largeBlocks -= 1
        backend.pointee.unlockLists()
        backend.pointee.freePages(header.block, order: header.order)
    }
}
