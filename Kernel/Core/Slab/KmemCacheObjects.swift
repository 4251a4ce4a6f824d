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
                                       inuse: 0, prev: nil, next: nil))
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
