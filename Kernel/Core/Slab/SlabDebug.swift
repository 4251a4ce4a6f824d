// What the slab allocator checks and how it reports what it refuses: the O(1)
// checks made on every allocation and free, the debug options (red zones and
// poisoning, `slab.debug`), the errors and their console reports.
// Linux: mm/slub.c (SLUB_DEBUG: check_object, slab_err, object_err)

// MARK: - checks on every call
//
// The O(1) checks of every allocation and free, fast path or slow: the pointer must
// be the start of an object of the slab, and the slab's bitmap must agree that the
// object is free (allocation) or live (free). They refuse a double free and an
// interior pointer in every mode, and, on allocation, a free pointer overwritten by a
// use after free. (Linux checks this much only under slub_debug; its fast path only
// compares a freed object with the free-list head.)

extension KmemCache {
    /// Index of `object`, just taken off a free list of `slab`. Linux: check_valid_pointer()
    @inlinable @inline(__always)
    func freeIndex(of object: UnsafeMutableRawPointer, in slab: UnsafeMutablePointer<SlabHeader>)
        throws(SlabError) -> Int
    {
        guard let index = layout.index(of: object, slabBase: slab), !SlabBitmap(slab).isSet(index) else {
            throw Self.corruption(in: slab, object, .freelist)
        }
        return index
    }

    /// Index of `object`, about to be freed into `slab`. Linux: free_consistency_checks()
    @inlinable @inline(__always)
    func liveIndex(of object: UnsafeMutableRawPointer, in slab: UnsafeMutablePointer<SlabHeader>)
        throws(SlabError) -> Int
    {
        guard let index = layout.index(of: object, slabBase: slab) else {
            throw Self.invalidFree(in: slab, object, .notObjectStart)
        }
        guard SlabBitmap(slab).isSet(index) else { throw Self.invalidFree(in: slab, object, .doubleFree) }
        return index
    }

    /// The errors, built out of line to keep the inlined fast paths short. They take the
    /// slab, not `self`: a method would copy the whole descriptor, and the name would
    /// be loaded on the fast path.
    @usableFromInline @inline(never)
    static func corruption(in slab: UnsafeMutablePointer<SlabHeader>, _ object: UnsafeMutableRawPointer,
                           _ check: SlabCorruption) -> SlabError {
        .corruption(cache: SlabCacheName(slab.pointee.cache.pointee.name), object: object, check: check)
    }

    @usableFromInline @inline(never)
    static func invalidFree(in slab: UnsafeMutablePointer<SlabHeader>, _ object: UnsafeMutableRawPointer,
                            _ reason: SlabInvalidFree) -> SlabError {
        invalidFree(slab.pointee.cache.pointee.name, object, reason)
    }

    @usableFromInline @inline(never)
    static func invalidFree(_ cache: StaticString, _ object: UnsafeMutableRawPointer, _ reason: SlabInvalidFree)
        -> SlabError
    {
        .invalidFree(cache: SlabCacheName(cache), object: object, reason: reason)
    }
}

// MARK: - red zones and poisoning
//
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

// MARK: - errors
//
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

// MARK: - error reports
//
// One line per SlabError for the console, worded after Linux's slab_err() and
// object_err() reports. Written in pieces (static text and short numbers, which fit
// Swift's inline small strings) because it may run when kmalloc itself is broken.

extension SlabError {
    /// Writes "slab error: <cache>: <what happened>\n". Linux: slab_err() / object_err()
    public func report<Sink: TextSink>(to sink: inout Sink) {
        sink.write("slab error: ")
        switch self {
        case .outOfMemory(let cache):
            sink.write(cache.text)
            sink.write(": out of memory")
        case .invalidCache(let name):
            sink.write(name.text)
            sink.write(": unusable object size or alignment")
        case .invalidRequest(let size, let alignment):
            sink.write("kmalloc: invalid request of ")
            sink.write(Fmt.dec(size))
            sink.write(" bytes aligned to ")
            sink.write(Fmt.dec(alignment))
        case .cacheBusy(let cache, let liveObjects):
            sink.write(cache.text)
            sink.write(": ")
            sink.write(Fmt.dec(liveObjects))
            sink.write(" objects remaining on destroy")
        case .permanentCache(let cache):
            sink.write(cache.text)
            sink.write(": cache cannot be destroyed")
        case .invalidFree(let cache, let object, let reason):
            sink.write(cache.text)
            sink.write(": invalid free of 0x")
            sink.write(Fmt.hex(UInt(bitPattern: object)))
            switch reason {
            case .notSlabMemory: sink.write(": not slab memory")
            case .wrongCache(let owner):
                sink.write(": object belongs to ")
                sink.write(owner.text)
            case .notObjectStart: sink.write(": not the start of an object")
            case .doubleFree: sink.write(": object already free")
            }
        case .corruption(let cache, let object, let check):
            sink.write(cache.text)
            sink.write(": object 0x")
            sink.write(Fmt.hex(UInt(bitPattern: object)))
            switch check {
            case .leftRedZone: sink.write(": Left Redzone overwritten")
            case .rightRedZone: sink.write(": Right Redzone overwritten")
            case .poison: sink.write(": Poison overwritten (use after free)")
            case .freelist: sink.write(": Freepointer corrupt")
            }
        }
        sink.write("\n")
    }
}
