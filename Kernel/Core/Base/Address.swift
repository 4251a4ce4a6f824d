// Physical and virtual addresses as distinct types, so the compiler refuses to
// hand a virtual address to code that programs page tables, and vice versa.

/// Bytes in a base page (4 KiB). Linux: PAGE_SIZE
public let pageSize: UInt64 = 4096
/// log2(pageSize). Linux: PAGE_SHIFT
public let pageShift: UInt64 = 12

/// A physical (bus) address. Linux: phys_addr_t
public struct PhysAddr: Hashable, Comparable, Sendable {
    public var value: UInt64
    @inlinable public init(_ value: UInt64) { self.value = value }
    /// Page frame number of the frame holding this address. Linux: PHYS_PFN()
    @inlinable public var pfn: UInt64 { value >> pageShift }
    @inlinable public init(pfn: UInt64) { self.value = pfn << pageShift }
    @inlinable public var isPageAligned: Bool { value & (pageSize - 1) == 0 }
    @inlinable public func alignedDown(_ a: UInt64 = pageSize) -> PhysAddr { PhysAddr(value & ~(a - 1)) }
    @inlinable public func alignedUp(_ a: UInt64 = pageSize) -> PhysAddr { PhysAddr((value &+ a &- 1) & ~(a - 1)) }
    @inlinable public static func + (l: PhysAddr, r: UInt64) -> PhysAddr { PhysAddr(l.value + r) }
    @inlinable public static func - (l: PhysAddr, r: PhysAddr) -> UInt64 { l.value - r.value }
    @inlinable public static func < (l: PhysAddr, r: PhysAddr) -> Bool { l.value < r.value }
}

/// A virtual address in some address space. Linux: unsigned long addr
public struct VirtAddr: Hashable, Comparable, Sendable {
    public var value: UInt64
    @inlinable public init(_ value: UInt64) { self.value = value }
    /// Virtual page number. Linux: addr >> PAGE_SHIFT
    @inlinable public var pageNumber: UInt64 { value >> pageShift }
    @inlinable public var pageOffset: UInt64 { value & (pageSize - 1) }
    @inlinable public var isPageAligned: Bool { value & (pageSize - 1) == 0 }
    @inlinable public func alignedDown(_ a: UInt64 = pageSize) -> VirtAddr { VirtAddr(value & ~(a - 1)) }
    @inlinable public func alignedUp(_ a: UInt64 = pageSize) -> VirtAddr { VirtAddr((value &+ a &- 1) & ~(a - 1)) }
    /// True for addresses the CPU accepts (bits 63..47 all equal).
    @inlinable public var isCanonical: Bool {
        let top = value >> 47
        return top == 0 || top == 0x1_ffff
    }
    @inlinable public static func + (l: VirtAddr, r: UInt64) -> VirtAddr { VirtAddr(l.value + r) }
    @inlinable public static func - (l: VirtAddr, r: VirtAddr) -> UInt64 { l.value - r.value }
    @inlinable public static func < (l: VirtAddr, r: VirtAddr) -> Bool { l.value < r.value }
}
