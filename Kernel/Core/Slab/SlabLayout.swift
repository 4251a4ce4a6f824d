// Geometry of one cache: where an object sits in its slot, how long a slot is, how
// many pages a slab spans and how many objects fit. Debug options lengthen the slot
// (red zones, a free pointer outside the object) as Linux's calculate_sizes() does.
//
// A slab of 2^order pages:
//   [SlabHeader][bitmap] pad | slot 0 | slot 1 | ... | leftover
// A slot:
//   [left red zone][object: objectSize][right red zone][free pointer?] pad to align
// The free pointer overlays the first word of the object unless the object must keep
// its bytes while free (constructed state, poison) or is smaller than a pointer.

@usableFromInline struct SlabLayout {
    static var word: Int { MemoryLayout<UnsafeRawPointer>.size }
    @inlinable static var pageBytes: Int { Int(truncatingIfNeeded: pageSize) }
    /// Largest slab: the buddy allocator's largest block (orders 0…10). Linux: MAX_PAGE_ORDER
    static let maxOrder = 10
    /// Orders tried first, to keep slabs small. Linux: slub_max_order
    static let preferredMaxOrder = 3
    /// Fewer objects per slab would mean too many slabs. Linux: slub_min_objects
    static let minObjects = 4
    /// Exponent of the fixed-point reciprocal of the stride (see `index(of:slabBase:)`).
    @inlinable static var reciprocalShift: UInt64 { 44 }

    /// Bytes the user may touch. Linux: kmem_cache->object_size
    @usableFromInline let objectSize: Int
    /// Distance between objects, metadata included. Linux: kmem_cache->size
    @usableFromInline let stride: Int
    /// Every object address is a multiple of this. Linux: kmem_cache->align
    let align: Int
    /// Left red zone width. Linux: kmem_cache->red_left_pad
    let redLeft: Int
    /// End of the right red zone, from the object start (objectSize without red zones).
    let redRightEnd: Int
    /// Where a free object keeps the next-free pointer, from the object start. Linux: kmem_cache->offset
    @usableFromInline let freePointerOffset: Int
    /// A slab spans 2^order pages. Linux: oo_order(s->oo)
    let order: Int
    @usableFromInline let slabBytes: Int
    /// Linux: oo_objects(s->oo)
    let objectsPerSlab: Int
    /// Offset of object 0 from the slab start.
    @usableFromInline let firstObject: Int
    /// objectsPerSlab × stride: every object starts less than this past object 0.
    @usableFromInline let objectsBytes: Int
    /// ⌊2^44 / stride⌋ + 1. Linux: kmem_cache->reciprocal_size
    @usableFromInline let reciprocalStride: UInt64

    /// Linux: calculate_sizes() and calculate_order(). Nil when the size or alignment is
    /// unusable or no slab up to maxOrder holds one object. `order` forces the slab size.
    init?(objectSize: Int, align requested: Int, flags: SlabFlags, hasConstructor: Bool, order fixedOrder: Int?) {
        guard objectSize > 0, objectSize <= Self.pageBytes << Self.maxOrder,
              requested > 0, requested & (requested - 1) == 0, requested <= Self.pageBytes << Self.maxOrder
        else { return nil }
        let word = Self.word
        let align = max(requested, flags.contains(.hwcacheAlign) ? 64 : word)
        let redLeft = flags.contains(.redZone) ? Self.alignUp(word, align) : 0
        let redRightEnd = flags.contains(.redZone) ? Self.alignUp(objectSize, word) + word : objectSize
        let freePointerOutside = flags.contains(.poison) || hasConstructor || objectSize < word
        let freePointerOffset = freePointerOutside ? Self.alignUp(redRightEnd, word) : 0
        let slotEnd = freePointerOutside ? freePointerOffset + word : redRightEnd
        let stride = Self.alignUp(redLeft + slotEnd, align)
        guard let order = fixedOrder ?? Self.calculateOrder(stride: stride, align: align) else { return nil }
        let fit = Self.fit(order: order, stride: stride, align: align)
        guard fit.objects > 0 else { return nil }

        self.objectSize = objectSize
        self.stride = stride
        self.align = align
        self.redLeft = redLeft
        self.redRightEnd = redRightEnd
        self.freePointerOffset = freePointerOffset
        self.order = order
        self.slabBytes = Self.pageBytes << order
        self.objectsPerSlab = fit.objects
        self.firstObject = fit.firstSlot + redLeft
        self.objectsBytes = fit.objects * stride
        self.reciprocalStride = (1 << Self.reciprocalShift) / UInt64(stride) + 1
    }

    /// Index of the object starting at `address` in the slab at `slabBase`; nil unless
    /// `address` is exactly the start of one. A multiply by the reciprocal replaces the
    /// division; it is exact because offset × stride < 2^44 (slabs are at most 4 MiB).
    /// Both fast paths run this, so it is branch-light: one unsigned compare covers
    /// both ends of the slab. Linux: obj_to_index()
    @inlinable @inline(__always)
    func index(of address: UnsafeRawPointer, slabBase: UnsafeRawPointer) -> Int? {
        let offset = UInt(bitPattern: Int(bitPattern: address) &- Int(bitPattern: slabBase) &- firstObject)
        guard offset < UInt(bitPattern: objectsBytes) else { return nil }
        let index = UInt(truncatingIfNeeded: (UInt64(offset) &* reciprocalStride) &>> Self.reciprocalShift)
        guard index &* UInt(bitPattern: stride) == offset else { return nil }
        return Int(bitPattern: index)
    }

    /// The next free object after the free `object`. Linux: get_freepointer()
    @inlinable @inline(__always)
    func nextFree(_ object: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        object.load(fromByteOffset: freePointerOffset, as: UnsafeMutableRawPointer?.self)
    }

    /// Links the free `object` to `next`. Linux: set_freepointer()
    @inlinable @inline(__always)
    func setNextFree(_ object: UnsafeMutableRawPointer, _ next: UnsafeMutableRawPointer?) {
        object.storeBytes(of: next, toByteOffset: freePointerOffset, as: UnsafeMutableRawPointer?.self)
    }

    /// Linux: index_to_obj()
    func object(_ index: Int, slabBase: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        slabBase + firstObject + index * stride
    }

    /// How many objects a slab of `order` holds after its header and bitmap, and where slot 0 starts.
    static func fit(order: Int, stride: Int, align: Int) -> (objects: Int, firstSlot: Int) {
        let bytes = pageBytes << order
        let most = (bytes - MemoryLayout<SlabHeader>.stride) / stride   // sizes the bitmap
        let firstSlot = alignUp(SlabHeader.bytes(objects: most), align)
        return (firstSlot < bytes ? (bytes - firstSlot) / stride : 0, firstSlot)
    }

    /// The smallest order, up to preferredMaxOrder, that holds minObjects and leaves at most
    /// 1/16 of the slab unused (then 1/8, then 1/4); failing that, the smallest order
    /// that holds one object. Linux: calculate_order() / calc_slab_order()
    static func calculateOrder(stride: Int, align: Int) -> Int? {
        var fraction = 16
        while fraction >= 4 {
            for order in 0...preferredMaxOrder {
                let objects = fit(order: order, stride: stride, align: align).objects
                let unused = (pageBytes << order) - objects * stride
                if objects >= minObjects && unused * fraction <= pageBytes << order { return order }
            }
            fraction /= 2
        }
        for order in 0...maxOrder where fit(order: order, stride: stride, align: align).objects > 0 {
            return order
        }
        return nil
    }

    static func alignUp(_ x: Int, _ alignment: Int) -> Int { (x + alignment - 1) & ~(alignment - 1) }
}
