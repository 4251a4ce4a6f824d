// One slab cache from the inside: objects of one size packed into slabs
// (naturally aligned blocks of 2^order pages), each slab on one of three lists
// (full, partial, empty) by how many objects are live, and a SLUB-like fast
// path that pops and pushes objects of the cache's current slab.
//
// Per CPU, as in Linux: every CPU has its own slot in each cache (its current
// slab and that slab's free objects), so CPUs allocating from one cache do not
// contend. What protects what (the locks are the backend's: the kernel's
// spinlocks, nothing on a single-threaded host):
//   - CPU c's slot, and the bitmap and free objects of the slab frozen in it:
//     c's slot lock (SlabPageBackend.lockCPUSlab);
//   - the full, partial and empty lists, `listedObjects`, the slabs on them,
//     the list of caches and the large-kmalloc count: the list lock (lockLists);
//   - which slab is frozen in which slot (`SlabHeader.frozenCPU`): both.
// Order: a slot lock, then the list lock, then the page allocator.
// Linux: mm/slub.c (struct kmem_cache, struct kmem_cache_cpu, struct slab,
// kmem_cache_node->list_lock)

// MARK: - the cache
//
// A cache of equally sized objects: its geometry, its CPU slab and its three slab
// lists. Descriptors never move (they are kmem_cache objects, or sit in the
// allocator's boot page) because every slab header points back at its cache.

/// Runs once per object when its slab is created, not on every allocation: a freed
/// object keeps its constructed state for the next user. Linux: the ctor of kmem_cache_create()
public typealias SlabConstructor = @convention(c) (UnsafeMutableRawPointer) -> Void

/// Linux: struct kmem_cache
@usableFromInline struct KmemCache {
    /// One slot per CPU: the slab that CPU allocates from, and its free objects.
    /// They sit right after the descriptor (see `descriptorBytes`), so they never
    /// move. Linux: kmem_cache->cpu_slab (a __percpu pointer)
    @usableFromInline var cpuSlabs: UnsafeMutablePointer<KmemCacheCPU>
    @usableFromInline let cpuCount: Int
    /// Empty slabs are kept for the next burst of allocations up to this many bytes (but
    /// at least one slab); further ones go back to the page allocator at once.
    /// Linux: kmem_cache_node->free_limit (SLAB, counted in objects), min_partial (SLUB)
    static let emptyBytesLimit = 64 * 1024

    @usableFromInline let name: StaticString
    /// The flags actually in force (poisoning is dropped for caches with a constructor).
    @usableFromInline let flags: SlabFlags
    @usableFromInline let layout: SlabLayout
    let constructor: SlabConstructor?
    let emptySlabLimit: Int
    /// Slabs with no free object, some free objects, only free objects; the CPU slab is
    /// on none of them. Linux (SLAB): slabs_full, slabs_partial, slabs_free
    var full = SlabList()
    var partial = SlabList()
    var empty = SlabList()
    /// Objects handed out from the slabs on the lists (the sum of their `inuse`).
    private var listedObjects = 0
    /// Next cache on the allocator's list of all caches. Linux: kmem_cache->list
    var next: UnsafeMutablePointer<KmemCache>? = nil

    /// Nil when the geometry is impossible. Linux: __kmem_cache_create()
    /// Bytes of a descriptor with `cpus` CPU slots after it.
    static func descriptorBytes(cpus: Int) -> Int {
        SlabLayout.alignUp(MemoryLayout<KmemCache>.stride, MemoryLayout<KmemCacheCPU>.alignment)
            + cpus * MemoryLayout<KmemCacheCPU>.stride
    }

    /// The descriptor at `place`, with `cpus` empty CPU slots after it (the
    /// caller provides `descriptorBytes(cpus:)` bytes). Nil when the geometry is
    /// impossible. Linux: __kmem_cache_create() + alloc_kmem_cache_cpus()
    static func create(at place: UnsafeMutableRawPointer, cpus: Int, name: StaticString, objectSize: Int,
                       align: Int, flags: SlabFlags, constructor: SlabConstructor?, order: Int?)
        -> UnsafeMutablePointer<KmemCache>?
    {
        let slots = (place + SlabLayout.alignUp(MemoryLayout<KmemCache>.stride, MemoryLayout<KmemCacheCPU>.alignment))
            .bindMemory(to: KmemCacheCPU.self, capacity: cpus)
        guard let cache = KmemCache(name: name, objectSize: objectSize, align: align, flags: flags,
                                    constructor: constructor, order: order, cpuSlabs: slots, cpuCount: cpus)
        else { return nil }
        slots.initialize(repeating: KmemCacheCPU(), count: cpus)
        let descriptor = place.bindMemory(to: KmemCache.self, capacity: 1)
        descriptor.initialize(to: cache)
        return descriptor
    }

    /// Nil when the geometry is impossible. Linux: __kmem_cache_create()
    private init?(name: StaticString, objectSize: Int, align: Int, flags: SlabFlags,
                  constructor: SlabConstructor?, order: Int?,
                  cpuSlabs: UnsafeMutablePointer<KmemCacheCPU>, cpuCount: Int) {
        // Poison would overwrite the constructed state. Linux: calculate_sizes() skips __OBJECT_POISON with a ctor
        let flags = constructor == nil ? flags : flags.subtracting(.poison)
        guard let layout = SlabLayout(objectSize: objectSize, align: align, flags: flags,
                                      hasConstructor: constructor != nil, order: order) else { return nil }
        self.name = name
        self.flags = flags
        self.layout = layout
        self.constructor = constructor
        self.emptySlabLimit = max(1, Self.emptyBytesLimit / layout.slabBytes)
        self.cpuSlabs = cpuSlabs
        self.cpuCount = cpuCount
    }

    var isDebug: Bool { !flags.isDisjoint(with: .debug) }

    /// The list of slabs of `kind`.
    subscript(kind: SlabListKind) -> SlabList {
        get {
            switch kind {
            case .full: full
            case .partial: partial
            case .empty: empty
            }
        }
        set {
            switch kind {
            case .full: full = newValue
            case .partial: partial = newValue
            case .empty: empty = newValue
            }
        }
    }

    /// Live objects of CPU `cpu`'s slab, counted from its bitmap: the fast paths
    /// keep no count.
    private func cpuObjects(_ cpu: Int) -> Int {
        cpuSlabs[cpu].slab.map { SlabBitmap($0).count(objects: layout.objectsPerSlab) } ?? 0
    }

    /// Objects handed out and not yet freed. With other CPUs allocating, a
    /// snapshot (the list lock keeps the slabs in their slots, not their bitmaps).
    var activeObjects: Int {
        var sum = listedObjects
        for cpu in 0..<cpuCount { sum += cpuObjects(cpu) }
        return sum
    }

    /// The counters of one slabinfo line. A CPU slab counts as full, partial or empty
    /// by its live objects, so the numbers are exact on a quiet system (SLUB counts
    /// it as full instead). Linux: get_slabinfo()
    var info: SlabCacheInfo {
        var lists = (full: full.count, partial: partial.count, empty: empty.count)
        var active = listedObjects
        for cpu in 0..<cpuCount where cpuSlabs[cpu].slab != nil {
            let live = cpuObjects(cpu)
            active += live
            switch SlabListKind(inuse: live, objects: layout.objectsPerSlab) {
            case .full: lists.full += 1
            case .partial: lists.partial += 1
            case .empty: lists.empty += 1
            }
        }
        let slabs = lists.full + lists.partial + lists.empty
        return SlabCacheInfo(
            activeObjects: active, totalObjects: slabs * layout.objectsPerSlab,
            objectSize: layout.objectSize, slotSize: layout.stride,
            objectsPerSlab: layout.objectsPerSlab, pagesPerSlab: 1 << layout.order,
            fullSlabs: lists.full, partialSlabs: lists.partial, emptySlabs: lists.empty)
    }
}

// MARK: - layout
//
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
    private static func calculateOrder(stride: Int, align: Int) -> Int? {
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

// MARK: - the slab header
//
// The header at the start of every slab, followed by a bitmap of live objects.
// Slabs are naturally aligned blocks, so aligning any object address down to the
// slab size lands on this header in O(1): Keel's stand-in for Linux's lookup of
// page->slab_cache through the page descriptor, which Keel's slab layer avoids so
// that it needs nothing from mem_map.

/// One slab: 2^order pages holding objects of one cache. Linux: struct slab
@usableFromInline struct SlabHeader {
    /// Marks memory as a slab header. Linux marks the page descriptor (PG_slab) instead.
    /// (Computed and inlinable: kfree()'s inlined fast path compares it.)
    @inlinable static var magic: UInt64 { 0x534c_4142_4b45_454c }   // "SLABKEEL"

    @usableFromInline var magic: UInt64
    /// The header's own address: a copy of a header elsewhere fails the lookup.
    @usableFromInline var base: UnsafeMutableRawPointer
    /// Linux: slab->slab_cache
    @usableFromInline var cache: UnsafeMutablePointer<KmemCache>
    /// First free object; each free object stores the next. Nil while this is the CPU
    /// slab, whose free objects are on the CPU's list. Linux: slab->freelist
    var freelist: UnsafeMutableRawPointer?
    /// Live objects. Stale while this is the CPU slab: its bitmap counts them then
    /// (SLUB sets inuse to all objects while frozen). 32 bits, beside `frozenOn`,
    /// so the header stays 56 bytes. Linux: slab->inuse
    var inuseCount: Int32
    /// The CPU whose slot holds this slab ("frozen"), -1 while it is on a list.
    /// Changed only with that CPU's slot lock and the list lock both held, so
    /// either one keeps it still. Linux: slab->frozen (plus the slot that has it)
    @usableFromInline var frozenOn: Int32
    /// Links on the cache's full, partial or empty list. Linux: slab->slab_list
    var prev: UnsafeMutablePointer<SlabHeader>?
    var next: UnsafeMutablePointer<SlabHeader>?

    var inuse: Int {
        get { Int(inuseCount) }
        set { inuseCount = Int32(truncatingIfNeeded: newValue) }
    }

    @inlinable var frozenCPU: Int {
        get { Int(frozenOn) }
        set { frozenOn = Int32(truncatingIfNeeded: newValue) }
    }

    /// Bytes taken by the header and its bitmap in a slab of `objects` objects.
    static func bytes(objects: Int) -> Int {
        MemoryLayout<SlabHeader>.stride + SlabBitmap.words(objects: objects) * 8
    }

    /// The slab of `slabBytes` that contains `address`, if a valid header is there.
    /// The caller guarantees the aligned-down address is readable. Linux: virt_to_slab()
    @inlinable @inline(__always)
    static func containing(_ address: UnsafeRawPointer, slabBytes: Int) -> UnsafeMutablePointer<SlabHeader>? {
        let base = UnsafeMutableRawPointer(bitPattern: Int(bitPattern: address) & ~(slabBytes &- 1)).unsafelyUnwrapped
        // `magic`, then `base`, read as integers: the bytes may be anything, even a null
        // where a pointer field is.
        guard base.load(as: UInt64.self) == magic,
              base.load(fromByteOffset: MemoryLayout<UInt64>.size, as: UInt.self) == UInt(bitPattern: base)
        else { return nil }
        return base.assumingMemoryBound(to: SlabHeader.self)
    }
}

/// One bit per object, set while the object is allocated. It lets every free refuse a
/// double free in O(1), debug mode or not. (Linux's old SLAB kept a similar per-object
/// array, kmem_bufctl_t, after its slab header.) It also counts the CPU slab's live
/// objects, which no counter follows.
@usableFromInline struct SlabBitmap {
    @usableFromInline let words: UnsafeMutablePointer<UInt64>

    @inlinable @inline(__always) init(_ slab: UnsafeMutablePointer<SlabHeader>) {
        words = UnsafeMutableRawPointer(slab + 1).assumingMemoryBound(to: UInt64.self)
    }
    static func words(objects: Int) -> Int { (objects + 63) / 64 }

    func clearAll(objects: Int) {
        words.initialize(repeating: 0, count: SlabBitmap.words(objects: objects))
    }
    /// Set bits, that is live objects. Linux: bitmap_weight()
    func count(objects: Int) -> Int {
        var live = 0
        for word in 0..<SlabBitmap.words(objects: objects) { live += words[word].nonzeroBitCount }
        return live
    }
    @inlinable @inline(__always) func isSet(_ i: Int) -> Bool { words[i &>> 6] & (1 &<< UInt64(i & 63)) != 0 }
    @inlinable @inline(__always) func set(_ i: Int) { words[i &>> 6] |= 1 &<< UInt64(i & 63) }
    @inlinable @inline(__always) func clear(_ i: Int) { words[i &>> 6] &= ~(1 &<< UInt64(i & 63)) }
}

// MARK: - slab lists
//
// The three slab lists of a cache are intrusive: the links live in the slab headers,
// so moving a slab between lists costs a few pointer writes and no memory.

/// A doubly linked list of slabs with its length. Linux: struct list_head plus the
/// nr_partial-style counters of struct kmem_cache_node
struct SlabList {
    var head: UnsafeMutablePointer<SlabHeader>? = nil
    var count = 0

    /// Linux: list_add()
    @inline(__always) mutating func push(_ slab: UnsafeMutablePointer<SlabHeader>) {
        slab.pointee.prev = nil
        slab.pointee.next = head
        head?.pointee.prev = slab
        head = slab
        count += 1
    }

    /// Linux: list_del(); `slab` must be on this list.
    @inline(__always) mutating func remove(_ slab: UnsafeMutablePointer<SlabHeader>) {
        if let prev = slab.pointee.prev { prev.pointee.next = slab.pointee.next } else { head = slab.pointee.next }
        slab.pointee.next?.pointee.prev = slab.pointee.prev
        slab.pointee.prev = nil
        slab.pointee.next = nil
        count -= 1
    }
}

/// The list a slab belongs on, by its live objects. Linux (SLAB): slabs_full,
/// slabs_partial, slabs_free
enum SlabListKind {
    case full, partial, empty

    init(inuse: Int, objects: Int) {
        self = inuse == objects ? .full : inuse == 0 ? .empty : .partial
    }
}

// MARK: - the fast path
//
// SLUB's per-CPU fast path. A cache lends one slab at a time to the CPU: the CPU slab
// ("frozen") is on no list, and its free objects sit on the CPU's own free list.
// Allocation pops that list; freeing an object of the CPU slab pushes onto it.
// Neither moves a slab between lists nor counts anything: the only extra work is the
// bitmap bit that refuses double frees (SlabObjectChecks). Everything else takes a
// slow path: a free into another slab (KmemCacheObjects), an exhausted CPU free list
// (SlabAllocator.allocateSlow), and every call on a debug cache, which never gets a
// CPU slab (Linux: kmem_cache_debug() caches skip the fast path too).
//
// A free pointer lives in freed memory, where a use after free can overwrite it, so
// an object reached through one is checked before it is handed out. An object that a
// free has just pushed was checked by that free, which also found its index: the
// CPU keeps that index, and the common free-then-alloc pair skips the second check.
// (Linux trusts the free pointer; CONFIG_SLAB_FREELIST_HARDENED only scrambles it.)
//
// Each CPU has its own KmemCacheCPU in every cache, under its own slot lock (see
// the top of this file). A free from another CPU into a slab frozen in CPU c's
// slot takes c's slot lock and pushes onto c's free list (SlabAllocator.free);
// Linux pushes such remote frees onto the slab's own freelist with a cmpxchg.

/// Linux: struct kmem_cache_cpu
@usableFromInline struct KmemCacheCPU {
    /// The CPU slab's free objects, chained through their free pointers. Linux: freelist
    @usableFromInline var freelist: UnsafeMutableRawPointer? = nil
    /// The index of `freelist` in the slab when a free pushed it, else `unchecked`.
    /// (An Int, not an Optional: the tag byte would cost the fast path a load and a store.)
    @usableFromInline var freelistIndex = KmemCacheCPU.unchecked
    /// Nil until the first allocation, after a shrink, and always in a debug cache. Linux: slab
    @usableFromInline var slab: UnsafeMutablePointer<SlabHeader>? = nil

    /// `freelist` came from a free pointer (or a slab's free list) and must be checked.
    @inlinable static var unchecked: Int { -1 }
}

extension KmemCache {
    /// Pops a free object of CPU `cpu`'s slab (its slot lock held); nil when there
    /// is none. On a thrown error nothing has changed. Linux: slab_alloc_node() fast path
    @inlinable @inline(__always)
    func allocateFast(cpu: Int) throws(SlabError) -> UnsafeMutableRawPointer? {
        let slot = cpuSlabs + cpu
        guard let object = slot.pointee.freelist else { return nil }
        let slab = slot.pointee.slab.unsafelyUnwrapped
        var index = slot.pointee.freelistIndex
        if index == KmemCacheCPU.unchecked { index = try freeIndex(of: object, in: slab) }
        SlabBitmap(slab).set(index)
        slot.pointee.freelist = layout.nextFree(object)
        slot.pointee.freelistIndex = KmemCacheCPU.unchecked
        return object
    }

    /// Frees `object` of `slab`, frozen in CPU `cpu`'s slot (that slot's lock
    /// held), onto that slot's free list. On a thrown error nothing has changed.
    /// Linux: do_slab_free() fast path
    @inlinable @inline(__always)
    func freeToCPU(_ object: UnsafeMutableRawPointer, from slab: UnsafeMutablePointer<SlabHeader>, cpu: Int)
        throws(SlabError)
    {
        let slot = cpuSlabs + cpu
        let index = try liveIndex(of: object, in: slab)
        SlabBitmap(slab).clear(index)
        layout.setNextFree(object, slot.pointee.freelist)
        slot.pointee.freelist = object
        slot.pointee.freelistIndex = index
    }

    /// Makes the listed `slab` CPU `cpu`'s slab: it leaves its list, and its free
    /// objects move to the slot (slot lock and list lock held).
    /// Linux: get_partial() + acquire_slab(), or a new slab, frozen
    mutating func freeze(_ slab: UnsafeMutablePointer<SlabHeader>, cpu: Int) {
        unlink(slab)
        listedObjects -= slab.pointee.inuse
        cpuSlabs[cpu] = KmemCacheCPU(freelist: slab.pointee.freelist, slab: slab)
        slab.pointee.freelist = nil
        slab.pointee.frozenCPU = cpu
    }

    /// Hands CPU `cpu`'s slab back to the lists with its free objects, its live
    /// objects counted from the bitmap (slot lock and list lock held). Returns it
    /// instead if it is empty and surplus (see `place`). Linux: deactivate_slab()
    mutating func deactivateCPUSlab(cpu: Int) -> UnsafeMutablePointer<SlabHeader>? {
        guard let slab = cpuSlabs[cpu].slab else { return nil }
        slab.pointee.freelist = cpuSlabs[cpu].freelist
        slab.pointee.inuse = cpuObjects(cpu)
        slab.pointee.frozenCPU = -1
        listedObjects += slab.pointee.inuse
        cpuSlabs[cpu] = KmemCacheCPU()
        return place(slab)
    }
}

// MARK: - the slow paths
//
// The slow paths: objects out of and back into the slabs on the lists, and the moves
// between the full, partial and empty lists that follow. A debug cache takes every
// object this way (it never has a CPU slab); other caches come here only to free an
// object that is not in their CPU slab (KmemCacheCPU). No page allocation happens
// here: the allocator grows a cache whose `nextSlab` is nil (SlabAllocator).

extension KmemCache {
    /// The slab to allocate from next: a partial one, else an empty one (a partial slab
    /// first keeps the number of half-used slabs, and so fragmentation, down); nil
    /// means the cache must grow. Linux: get_partial()
    var nextSlab: UnsafeMutablePointer<SlabHeader>? { partial.head ?? empty.head }

    /// Takes a free object of the listed `slab` of a debug cache, checking its red zones
    /// and poison. On a thrown error nothing has changed.
    /// Linux: alloc_debug_processing() + get_freepointer()
    mutating func takeObject(from slab: UnsafeMutablePointer<SlabHeader>) throws(SlabError) -> UnsafeMutableRawPointer {
        let object = slab.pointee.freelist.unsafelyUnwrapped   // listed, not full: it has one
        let index = try freeIndex(of: object, in: slab)
        try checkObject(object, redZone: SlabPoison.redInactive, poisoned: flags.contains(.poison))
        initObject(object, redZone: SlabPoison.redActive, poison: false)
        SlabBitmap(slab).set(index)
        slab.pointee.freelist = layout.nextFree(object)
        let moves = slab.pointee.inuse == 0 || slab.pointee.inuse == layout.objectsPerSlab - 1
        if moves { unlink(slab) }
        slab.pointee.inuse += 1
        listedObjects += 1
        if moves { _ = place(slab) }
        return object
    }

    /// Puts `object` back on the free list of its listed `slab`. Returns the slab if it
    /// became empty and is surplus (see `place`): it is then on no list and the caller
    /// gives its pages back. On a thrown error nothing has changed.
    /// Linux: __slab_free() + free_debug_processing()
    @usableFromInline
    mutating func release(_ object: UnsafeMutableRawPointer, from slab: UnsafeMutablePointer<SlabHeader>)
        throws(SlabError) -> UnsafeMutablePointer<SlabHeader>?
    {
        let index = try liveIndex(of: object, in: slab)
        if isDebug {
            try checkObject(object, redZone: SlabPoison.redActive, poisoned: false)
            initObject(object, redZone: SlabPoison.redInactive, poison: flags.contains(.poison))
        }
        SlabBitmap(slab).clear(index)
        layout.setNextFree(object, slab.pointee.freelist)
        slab.pointee.freelist = object
        let moves = slab.pointee.inuse == layout.objectsPerSlab || slab.pointee.inuse == 1
        if moves { unlink(slab) }
        slab.pointee.inuse -= 1
        listedObjects -= 1
        return moves ? place(slab) : nil
    }

    /// Takes `slab` off the list its `inuse` has it on. Linux: list_del() / remove_partial()
    mutating func unlink(_ slab: UnsafeMutablePointer<SlabHeader>) {
        self[SlabListKind(inuse: slab.pointee.inuse, objects: layout.objectsPerSlab)].remove(slab)
    }

    /// Puts the unlinked `slab` on the list its `inuse` calls for. An empty slab is
    /// returned instead once `emptySlabLimit` empty slabs are kept, for the caller to
    /// give back. Linux: add_partial(), or discard_slab() beyond min_partial
    mutating func place(_ slab: UnsafeMutablePointer<SlabHeader>) -> UnsafeMutablePointer<SlabHeader>? {
        let kind = SlabListKind(inuse: slab.pointee.inuse, objects: layout.objectsPerSlab)
        if kind == .empty && empty.count >= emptySlabLimit { return slab }
        self[kind].push(slab)
        return nil
    }

    /// Formats fresh pages as an empty slab of this cache (`owner`): header, bitmap,
    /// every object on the free list in address order, debug patterns, and the
    /// constructor run once per object. Linux: allocate_slab() + setup_object()
    mutating func addSlab(at base: UnsafeMutableRawPointer, owner: UnsafeMutablePointer<KmemCache>) {
        let slab = base.bindMemory(to: SlabHeader.self, capacity: 1)
        slab.initialize(to: SlabHeader(magic: SlabHeader.magic, base: base, cache: owner, freelist: nil,
                                       inuseCount: 0, frozenOn: -1, prev: nil, next: nil))
        SlabBitmap(slab).clearAll(objects: layout.objectsPerSlab)
        var next: UnsafeMutableRawPointer? = nil
        var index = layout.objectsPerSlab
        while index > 0 {
            index -= 1
            let object = layout.object(index, slabBase: base)
            if isDebug { initObject(object, redZone: SlabPoison.redInactive, poison: flags.contains(.poison)) }
            constructor?(object)
            layout.setNextFree(object, next)
            next = object
        }
        slab.pointee.freelist = next
        empty.push(slab)
    }

    /// Unlinks one empty slab for the caller to give back. Linux: the loop over
    /// slabs_free in drain_freelist() / kmem_cache_shrink()
    mutating func takeEmptySlab() -> UnsafeMutablePointer<SlabHeader>? {
        guard let slab = empty.head else { return nil }
        empty.remove(slab)
        return slab
    }
}
