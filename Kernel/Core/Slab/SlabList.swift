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
