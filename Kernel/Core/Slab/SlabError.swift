// Everything the slab layer refuses to do, with enough payload to name the cache and
// the object. A failed call changes nothing, so the kernel can report and carry on.

/// A cache's name inside an error, compared by its text. Linux: kmem_cache->name
public struct SlabCacheName: Equatable, ExpressibleByStringLiteral, Sendable {
    public let text: StaticString
    public init(_ text: StaticString) { self.text = text }
    public init(stringLiteral value: StaticString) { self.text = value }
    public static func == (l: SlabCacheName, r: SlabCacheName) -> Bool {
        l.text.withUTF8Buffer { a in r.text.withUTF8Buffer { b in a.elementsEqual(b) } }
    }
}

/// Why a free was refused. Linux: the "Invalid object pointer" / "Object already free"
/// / "Wrong slab cache" reports of free_consistency_checks()
public enum SlabInvalidFree: Equatable, Sendable {
    /// No slab header where the object's slab should start (foreign memory).
    case notSlabMemory
    /// The object lives in a slab of another cache.
    case wrongCache(owner: SlabCacheName)
    /// Inside a slab but not at the start of an object.
    case notObjectStart
    /// The object is already free.
    case doubleFree
}

/// Which debug check found damage. Linux: check_object() / check_bytes_and_report()
public enum SlabCorruption: Equatable, Sendable {
    /// Bytes just before the object were written (buffer underrun). Linux: "Left Redzone overwritten"
    case leftRedZone
    /// Bytes just after the object were written (buffer overrun). Linux: "Right Redzone overwritten"
    case rightRedZone
    /// A free object was written (use after free). Linux: "Poison overwritten"
    case poison
    /// The free-object chain points outside the slab or at a live object. Linux: "Freepointer corrupt"
    case freelist
}

/// Linux: the NULL returns, WARNs and slab_err() reports of mm/slub.c
/// (Sendable is unchecked because the object pointers are only addresses to report.)
public enum SlabError: Error, Equatable, @unchecked Sendable {
    /// The page backend had nothing left (or the request exceeds the largest block).
    case outOfMemory(cache: SlabCacheName)
    /// Size or alignment unusable: zero size, alignment not a power of two, or no slab
    /// up to the largest order holds one object. Linux: kmem_cache_create() returning NULL
    case invalidCache(name: SlabCacheName)
    /// kmalloc alignment that is not a power of two, or a negative size.
    case invalidRequest(size: Int, alignment: Int)
    /// kmem_cache_destroy() while objects are live. Linux: "Objects remaining in %s on __kmem_cache_shutdown()"
    case cacheBusy(cache: SlabCacheName, liveObjects: Int)
    /// kmem_cache and the kmalloc caches live as long as the allocator.
    case permanentCache(SlabCacheName)
    /// A free that would corrupt the allocator was refused.
    case invalidFree(cache: SlabCacheName, object: UnsafeMutableRawPointer, reason: SlabInvalidFree)
    /// A debug check found a damaged object.
    case corruption(cache: SlabCacheName, object: UnsafeMutableRawPointer, check: SlabCorruption)
}
