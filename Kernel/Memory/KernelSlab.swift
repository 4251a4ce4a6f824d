// The kernel's slab allocator: Kernel/Core/Slab over page blocks from the buddy
// allocator, seen through the direct map. Once it is up, every Swift object,
// array and string the kernel creates comes from kmalloc.
// Linux: mm/slub.c, kmem_cache_init(), kmalloc(), kfree()

/// Page blocks for the slab layer. A stateless handle: the slab allocator keeps a
/// copy of it in its first page.
///
/// The slab serves every Swift object, array and string, and the Embedded Swift
/// runtime cannot report a failed allocation (it traps), so slab pages may come
/// from the reserve below the min watermark. Taking one tells the OOM killer,
/// which then frees memory before the reserve is gone too.
struct BuddySlabBackend: SlabPageBackend {
    mutating func allocatePages(order: Int) -> UnsafeMutableRawPointer? {
        var block = PageAllocator.allocate(order: order)
        if block == nil {
            block = PageAllocator.allocate(order: order, flags: .memalloc)
            OOMKiller.reserveInUse = true
        }
        guard let block else { return nil }
        return UnsafeMutableRawPointer(DirectMap.pointer(block, as: UInt8.self))
    }

    mutating func freePages(_ block: UnsafeMutableRawPointer, order: Int) {
        PageAllocator.free(VirtAddr(UInt64(UInt(bitPattern: block))).directMapPhys, order: order)
    }
}

enum Slab {
    nonisolated(unsafe) static var allocator: SlabAllocator<BuddySlabBackend>? = nil

    /// Linux: kmem_cache_init()
    static func initialize(debug: Bool) {
        do {
            allocator = try SlabAllocator(backend: BuddySlabBackend(), flags: debug ? .debug : [])
        } catch {
            fail(error)
        }
        if debug { Log.notice("slab: debug mode: red zones and poisoning on every cache") }
    }

    /// Linux: kmalloc(); nil when memory is exhausted.
    static func kmalloc(_ size: Int, alignment: Int = 8) -> UnsafeMutableRawPointer? {
        do {
            return try allocator!.kmalloc(size: size, alignment: alignment)
        } catch .outOfMemory {
            return nil
        } catch {
            fail(error)
        }
    }

    /// Linux: kmem_cache_create(); nil when memory is exhausted.
    static func createCache(_ name: StaticString, size: Int, align: Int = 8) -> KmemCacheRef? {
        do {
            return try allocator!.createCache(name, size: size, align: align)
        } catch .outOfMemory {
            return nil
        } catch {
            fail(error)
        }
    }

    /// Linux: kmem_cache_alloc(); nil when memory is exhausted. Any other error
    /// (a corrupted free list) is a kernel bug.
    static func alloc(_ cache: KmemCacheRef) -> UnsafeMutableRawPointer? {
        do {
            return try allocator!.alloc(cache)
        } catch .outOfMemory {
            return nil
        } catch {
            fail(error)
        }
    }

    /// Linux: kfree(). A bad free is a kernel bug: the report names the cache.
    static func kfree(_ object: UnsafeMutableRawPointer?) {
        do {
            try allocator!.kfree(object)
        } catch {
            fail(error)
        }
    }

    static func fail(_ error: SlabError) -> Never {
        var message = ""
        error.report(to: &message)
        while message.hasSuffix("\n") { message.removeLast() }
        Panic.now(message)
    }
}
