// Atomic arithmetic on a word that lives inside a larger shared structure, such
// as a page descriptor in mem_map: Swift's Atomic type must own its storage, and
// mem_map is plain memory laid out by Kernel/Core. A locked x86 instruction per
// operation (lock xadd). Linux: atomic_t (atomic_add_return(), atomic_read())

enum AtomicField {
    /// Adds `delta` and returns the new value. Linux: atomic_add_return()
    @inline(__always)
    static func add(_ field: UnsafeMutablePointer<Int32>, _ delta: Int32) -> Int32 {
        atomic_add_return_i32(field, delta)
    }

    /// Linux: atomic_read()
    @inline(__always)
    static func load(_ field: UnsafeMutablePointer<Int32>) -> Int32 { atomic_read_i32(field) }

    /// Linux: atomic_set()
    @inline(__always)
    static func store(_ field: UnsafeMutablePointer<Int32>, _ value: Int32) { atomic_set_i32(field, value) }
}
