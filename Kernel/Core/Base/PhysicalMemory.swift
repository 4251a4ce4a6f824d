// The seam between pure memory-management logic and real hardware: in the kernel
// a PhysicalMemory is the direct map; in host tests it is a byte buffer. Code in
// Kernel/Core reads and writes "physical memory" only through this protocol.

/// Word-granular access to physical memory.
public protocol PhysicalMemory {
    func read64(_ address: PhysAddr) -> UInt64
    func write64(_ address: PhysAddr, _ value: UInt64)
    /// Writes `value` and returns the old word as one atomic step, so that a
    /// page-table entry the MMU may be setting accessed or dirty bits in is
    /// not torn. Linux: xchg() (ptep_get_and_clear())
    func exchange64(_ address: PhysAddr, _ value: UInt64) -> UInt64
    /// Clears the bits of `mask` in one atomic step and returns the old word.
    /// Linux: clear_bit() (ptep_test_and_clear_young())
    func clearBits64(_ address: PhysAddr, _ mask: UInt64) -> UInt64
    /// Fill one 4 KiB frame with zeros. Linux: clear_page()
    func zeroFrame(_ frame: PhysAddr)
}

/// Supplies and takes back single 4 KiB frames (page-table pages, for example).
public protocol FrameAllocator {
    /// Returns a frame, not necessarily zeroed, or nil when memory is exhausted.
    mutating func allocateFrame() -> PhysAddr?
    mutating func freeFrame(_ frame: PhysAddr)
}
