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

    /// Adds one unless the value is 0; true if it added. Linux: atomic_inc_not_zero()
    @inline(__always)
    static func incrementUnlessZero(_ field: UnsafeMutablePointer<Int32>) -> Bool {
        var value = atomic_read_i32(field)
        while value > 0 {
            if atomic_cmpxchg_i32(field, value, value &+ 1) { return true }
            value = atomic_read_i32(field)
        }
        return false
    }

    /// Stores `value` and returns what was there, in one locked instruction
    /// (xchg): a page-table entry swapped this way cannot lose a dirty bit the
    /// MMU sets meanwhile. Linux: xchg() in ptep_get_and_clear()
    @inline(__always)
    static func exchange(_ field: UnsafeMutablePointer<UInt64>, _ value: UInt64) -> UInt64 {
        atomic_xchg_u64(field, value)
    }

    /// Sets `mask`'s bits and returns the old value (lock or). Linux: set_bit(), test_and_set_bit()
    @inline(__always)
    static func setBits(_ field: UnsafeMutablePointer<UInt32>, _ mask: UInt32) -> UInt32 {
        atomic_fetch_or_u32(field, mask)
    }

    /// Clears `mask`'s bits and returns the old value. Linux: clear_bit(), test_and_clear_bit()
    @inline(__always)
    static func clearBits(_ field: UnsafeMutablePointer<UInt32>, _ mask: UInt32) -> UInt32 {
        atomic_fetch_and_u32(field, ~mask)
    }

    /// Clears `mask`'s bits and returns the old value (lock and). Linux: clear_bit()
    @inline(__always)
    static func clearBits(_ field: UnsafeMutablePointer<UInt64>, _ mask: UInt64) -> UInt64 {
        atomic_fetch_and_u64(field, ~mask)
    }
}
