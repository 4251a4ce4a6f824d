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
        state.pointee.largeBlocks += 1
        return object
    }

    /// Linux: free_large_kmalloc()
    @usableFromInline
    func freeLarge(_ header: KmallocLargeHeader) {
        var dead = header
        dead.magic = 0   // a second kfree() of the pointer no longer finds a large block
        (header.object - SlabLayout.pageBytes).storeBytes(of: dead, as: KmallocLargeHeader.self)
        state.pointee.largeBlocks -= 1
        backend.pointee.freePages(header.block, order: header.order)
    }
}
