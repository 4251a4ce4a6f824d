// Handing objects out of slabs and taking them back, and the moves between the full,
// partial and empty lists that follow. No page allocation happens here: a cache
// that needs a new slab returns nil and the allocator grows it (SlabAllocator).

extension KmemCache {
    /// Takes a free object from a partial slab, else from an empty one (a partial slab
    /// first keeps the number of half-used slabs, and so fragmentation, down); nil
    /// means the cache must grow. On a thrown error nothing has changed.
    /// Linux: ____cache_alloc() / get_partial() + get_freepointer()
    @usableFromInline
    mutating func takeObject() throws(SlabError) -> UnsafeMutableRawPointer? {
        guard let slab = partial.head ?? empty.head, let object = slab.pointee.freelist else { return nil }
        let bitmap = SlabBitmap(slab)
        guard let index = layout.index(of: object, slabBase: slab.pointee.base), !bitmap.isSet(index) else {
            throw .corruption(cache: SlabCacheName(name), object: object, check: .freelist)
        }
        if isDebug {
            try checkObject(object, redZone: SlabPoison.redInactive, poisoned: flags.contains(.poison))
            initObject(object, redZone: SlabPoison.redActive, poison: false)
        }
        bitmap.set(index)
        slab.pointee.freelist = object.load(fromByteOffset: layout.freePointerOffset, as: UnsafeMutableRawPointer?.self)
        slab.pointee.inuse += 1
        activeObjects += 1
        let isFull = slab.pointee.inuse == layout.objectsPerSlab
        if slab.pointee.inuse == 1 {
            empty.remove(slab)
            if isFull { full.push(slab) } else { partial.push(slab) }
        } else if isFull {
            partial.remove(slab)
            full.push(slab)
        }
        return object
    }

    /// Puts `object` back on its slab's free list. Returns the slab if it became empty
    /// beyond `emptySlabLimit`: it is then on no list and the caller gives its pages back.
    /// On a thrown error nothing has changed. Linux: __slab_free() / free_block()
    @inline(__always)
    mutating func release(_ object: UnsafeMutableRawPointer, from slab: UnsafeMutablePointer<SlabHeader>)
        throws(SlabError) -> UnsafeMutablePointer<SlabHeader>?
    {
        guard let index = layout.index(of: object, slabBase: slab.pointee.base) else {
            throw .invalidFree(cache: SlabCacheName(name), object: object, reason: .notObjectStart)
        }
        let bitmap = SlabBitmap(slab)
        guard bitmap.isSet(index) else {
            throw .invalidFree(cache: SlabCacheName(name), object: object, reason: .doubleFree)
        }
        if isDebug {
            try checkObject(object, redZone: SlabPoison.redActive, poisoned: false)
            initObject(object, redZone: SlabPoison.redInactive, poison: flags.contains(.poison))
        }
        bitmap.clear(index)
        object.storeBytes(of: slab.pointee.freelist, toByteOffset: layout.freePointerOffset,
                          as: UnsafeMutableRawPointer?.self)
        slab.pointee.freelist = object
        slab.pointee.inuse -= 1
        activeObjects -= 1
        let wasFull = slab.pointee.inuse + 1 == layout.objectsPerSlab
        if wasFull { full.remove(slab) } else if slab.pointee.inuse == 0 { partial.remove(slab) }
        if slab.pointee.inuse == 0 {
            if empty.count >= emptySlabLimit { return slab }
            empty.push(slab)
        } else if wasFull {
            partial.push(slab)
        }
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
            object.storeBytes(of: next, toByteOffset: layout.freePointerOffset, as: UnsafeMutableRawPointer?.self)
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
