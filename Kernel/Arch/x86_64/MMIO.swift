// Device registers mapped into kernel memory (memory-mapped I/O). Every access
// is volatile and exactly as wide as asked: a device register is not memory,
// and reading it twice, merging two writes or splitting one changes what the
// device sees. Linux: ioremap() + ioread8/16/32(), iowrite8/16/32()

import _Volatile

struct MMIORegion {
    let base: UnsafeMutableRawPointer
    let length: Int

    /// Maps `bytes` at `phys` uncached; nil if there is no virtual space left.
    static func map(_ phys: PhysAddr, bytes: Int) -> MMIORegion? {
        guard let mapped = Vmalloc.ioremap(phys, bytes: Int(phys.value % pageSize) + bytes) else { return nil }
        return MMIORegion(base: mapped, length: bytes)
    }

    private func address(_ offset: Int, _ width: Int) -> UInt {
        precondition(offset >= 0 && offset + width <= length, "MMIO access outside the mapped registers")
        return UInt(bitPattern: base) + UInt(offset)
    }

    func read8(_ offset: Int) -> UInt8 { VolatileMappedRegister<UInt8>(unsafeBitPattern: address(offset, 1)).load() }
    func read16(_ offset: Int) -> UInt16 { VolatileMappedRegister<UInt16>(unsafeBitPattern: address(offset, 2)).load() }
    func read32(_ offset: Int) -> UInt32 { VolatileMappedRegister<UInt32>(unsafeBitPattern: address(offset, 4)).load() }
    func write8(_ offset: Int, _ value: UInt8) { VolatileMappedRegister<UInt8>(unsafeBitPattern: address(offset, 1)).store(value) }
    func write16(_ offset: Int, _ value: UInt16) { VolatileMappedRegister<UInt16>(unsafeBitPattern: address(offset, 2)).store(value) }
    func write32(_ offset: Int, _ value: UInt32) { VolatileMappedRegister<UInt32>(unsafeBitPattern: address(offset, 4)).store(value) }
    /// Two 32-bit writes, low half first, as the virtio spec allows for 64-bit fields.
    /// Linux: vp_iowrite64_twopart()
    func write64(_ offset: Int, _ value: UInt64) {
        write32(offset, UInt32(truncatingIfNeeded: value))
        write32(offset + 4, UInt32(truncatingIfNeeded: value >> 32))
    }
}

/// Ordinary RAM the kernel shares with a device (a virtqueue): volatile
/// accesses by byte offset, so the compiler neither caches a value the device
/// may change nor drops a store it reads. x86 keeps stores in order and loads
/// in order, so a compiler barrier is all the ordering needed between them.
/// Linux: the READ_ONCE/WRITE_ONCE and virt_wmb() of virtio_ring.c
struct DMAMemory: VirtqueueMemory {
    let base: UnsafeMutableRawPointer

    private func at(_ offset: Int) -> UInt { UInt(bitPattern: base) + UInt(offset) }
    func load16(_ offset: Int) -> UInt16 { VolatileMappedRegister<UInt16>(unsafeBitPattern: at(offset)).load() }
    func load32(_ offset: Int) -> UInt32 { VolatileMappedRegister<UInt32>(unsafeBitPattern: at(offset)).load() }
    func store16(_ offset: Int, _ value: UInt16) { VolatileMappedRegister<UInt16>(unsafeBitPattern: at(offset)).store(value) }
    func store32(_ offset: Int, _ value: UInt32) { VolatileMappedRegister<UInt32>(unsafeBitPattern: at(offset)).store(value) }
    func store64(_ offset: Int, _ value: UInt64) { VolatileMappedRegister<UInt64>(unsafeBitPattern: at(offset)).store(value) }
    func barrier() { compiler_barrier() }
}
