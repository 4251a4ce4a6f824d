// The seam between pure memory-management logic and real hardware: in the kernel
// a PhysicalMemory is the direct map; in host tests it is a byte buffer. Code in
// Kernel/Core reads and writes "physical memory" only through this protocol.

/// Word-granular access to physical memory.
public protocol PhysicalMemory {
    func read64(_ address: PhysAddr) -> UInt64
    func write64(_ address: PhysAddr, _ value: UInt64)
    /// Fill one 4 KiB frame with zeros. Linux: clear_page()
    func zeroFrame(_ frame: PhysAddr)
}

/// Supplies and takes back single 4 KiB frames (page-table pages, for example).
public protocol FrameAllocator {
    /// Returns a frame, not necessarily zeroed, or nil when memory is exhausted.
    mutating func allocateFrame() -> PhysAddr?
    mutating func freeFrame(_ frame: PhysAddr)
}
