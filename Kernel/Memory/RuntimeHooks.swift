// The allocation entry points of the Embedded Swift runtime (class instances,
// arrays, strings). Kernel/Memory/runtime_hooks.c gives them their C names
// (posix_memalign, free), which Swift code may not define itself. Before the
// slab allocator exists they are served by the early heap, and again while a
// panic report is printed or the lock validator runs (the CPU may hold the slab
// lock: that is what the validator may be reporting on).

@_cdecl("keel_runtime_alloc")
func runtimeAllocate(_ size: Int, _ alignment: Int) -> UnsafeMutableRawPointer? {
    let alignment = max(alignment, 16)
    if Slab.allocator != nil && !Panic.inProgress && !Lockdep.allocatesEarly {
        if let p = Slab.kmalloc(size, alignment: alignment) { return p }
    } else if let p = EarlyHeap.allocate(size: size, alignment: alignment) {
        return p
    }
    Panic.now("out of memory: the Swift runtime asked for \(size) bytes")
}

@_cdecl("keel_runtime_free")
func runtimeFree(_ p: UnsafeMutableRawPointer?) {
    guard let p, !EarlyHeap.owns(p) else { return }   // early-heap memory is never reused
    Slab.kfree(p)
}

/// Random bytes for Swift's hashing seed: RDRAND when the CPU has it, else the TSC.
@_cdecl("arc4random_buf")
func arc4random_buf(_ buf: UnsafeMutableRawPointer, _ n: Int) {
    var i = 0
    while i < n {
        let r = CPU.hardwareRandom() ?? CPU.timestamp() &* 0x9e37_79b9_7f4a_7c15
        for b in 0..<8 where i < n {
            buf.storeBytes(of: UInt8(truncatingIfNeeded: r >> (8 * UInt64(b))), toByteOffset: i, as: UInt8.self)
            i += 1
        }
    }
}
