// Physical memory as the kernel sees it: through the direct map at PAGE_OFFSET.
// This is the kernel's implementation of Kernel/Core's PhysicalMemory seam.

/// Linux: __va() / phys_to_virt() plus clear_page()
struct DirectMap: PhysicalMemory {
    @inline(__always)
    static func pointer<T>(_ address: PhysAddr, as _: T.Type = T.self) -> UnsafeMutablePointer<T> {
        UnsafeMutablePointer(bitPattern: UInt(address.directMapped.value))!
    }

    func read64(_ address: PhysAddr) -> UInt64 { Self.pointer(address, as: UInt64.self).pointee }
    func write64(_ address: PhysAddr, _ value: UInt64) { Self.pointer(address, as: UInt64.self).pointee = value }
    func exchange64(_ address: PhysAddr, _ value: UInt64) -> UInt64 {
        AtomicField.exchange(Self.pointer(address, as: UInt64.self), value)
    }
    func clearBits64(_ address: PhysAddr, _ mask: UInt64) -> UInt64 {
        AtomicField.clearBits(Self.pointer(address, as: UInt64.self), mask)
    }
    func zeroFrame(_ frame: PhysAddr) {
        PageBytes.clear(UnsafeMutableRawPointer(Self.pointer(frame, as: UInt8.self)))
    }
}
