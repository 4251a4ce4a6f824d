// Linux's slab debugging (SLUB_DEBUG): red zones around every object and poison in
// free objects, so an overrun or a use after free is caught at the next alloc or
// free of that object instead of silently corrupting a neighbour or the free list.

/// Byte patterns. Linux: include/linux/poison.h
enum SlabPoison {
    /// Red zone of a free object. Linux: SLUB_RED_INACTIVE
    static let redInactive: UInt8 = 0xbb
    /// Red zone of an allocated object. Linux: SLUB_RED_ACTIVE
    static let redActive: UInt8 = 0xcc
    /// Every byte of a free object but the last. Linux: POISON_FREE
    static let free: UInt8 = 0x6b
    /// Last byte of a free object. Linux: POISON_END
    static let end: UInt8 = 0xa5
}

extension KmemCache {
    /// Writes both red zones with `redZone` and, if `poison`, the free pattern into the
    /// object. Linux: init_object()
    func initObject(_ object: UnsafeMutableRawPointer, redZone: UInt8, poison: Bool) {
        if flags.contains(.redZone) {
            fill(object - layout.redLeft, layout.redLeft, redZone)
            fill(object + layout.objectSize, layout.redRightEnd - layout.objectSize, redZone)
        }
        if poison {
            fill(object, layout.objectSize - 1, SlabPoison.free)
            fill(object + layout.objectSize - 1, 1, SlabPoison.end)
        }
    }

    /// Verifies the red zones hold `redZone` and, if `poisoned`, that the object still
    /// holds the free pattern. Linux: check_object()
    func checkObject(_ object: UnsafeMutableRawPointer, redZone: UInt8, poisoned: Bool) throws(SlabError) {
        func fail(_ check: SlabCorruption) -> SlabError {
            .corruption(cache: SlabCacheName(name), object: object, check: check)
        }
        if flags.contains(.redZone) {
            guard holds(object - layout.redLeft, layout.redLeft, redZone) else { throw fail(.leftRedZone) }
            guard holds(object + layout.objectSize, layout.redRightEnd - layout.objectSize, redZone) else {
                throw fail(.rightRedZone)
            }
        }
        if poisoned {
            guard holds(object, layout.objectSize - 1, SlabPoison.free),
                  holds(object + layout.objectSize - 1, 1, SlabPoison.end) else { throw fail(.poison) }
        }
    }

    private func fill(_ start: UnsafeMutableRawPointer, _ count: Int, _ value: UInt8) {
        start.initializeMemory(as: UInt8.self, repeating: value, count: count)
    }

    private func holds(_ start: UnsafeRawPointer, _ count: Int, _ value: UInt8) -> Bool {
        for offset in 0..<count where start.load(fromByteOffset: offset, as: UInt8.self) != value {
            return false
        }
        return true
    }
}
