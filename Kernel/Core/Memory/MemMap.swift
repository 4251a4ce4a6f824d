// The array of page descriptors. It does not own its storage: the kernel puts
// it in RAM it reserved at boot, host tests allocate it. Copies of a MemMap are
// handles to the same descriptors, like an UnsafeMutableBufferPointer.

/// Descriptors for the frames [basePFN, basePFN + frameCount). Linux: mem_map (FLATMEM)
public struct MemMap {
    @usableFromInline let base: UnsafeMutablePointer<Page>
    /// Frame number described by the first descriptor. Linux: ARCH_PFN_OFFSET
    public let basePFN: UInt64
    public let frameCount: Int

    /// Bytes of storage needed to describe `frames` frames.
    @inlinable public static func bytesNeeded(frames: Int) -> Int {
        frames * MemoryLayout<Page>.stride
    }

    /// Takes over `storage` (room for `frames` descriptors, possibly uninitialized)
    /// and marks every frame reserved until the buddy allocator is handed it.
    /// Linux: memmap_init() + SetPageReserved()
    public init(storage: UnsafeMutablePointer<Page>, basePFN: UInt64, frames: Int) {
        // Lists link frames by 32-bit frame number, with UInt32.max as the end mark.
        precondition(frames >= 0 && basePFN + UInt64(frames) < UInt64(Page.noFrame))
        base = storage
        self.basePFN = basePFN
        frameCount = frames
        storage.initialize(repeating: Page(flags: .reserved), count: frames)
    }

    /// The descriptors of frames [startPFN, endPFN) of this mem_map, shared
    /// with it (nothing is copied or reinitialized): one node's part.
    /// Linux: NODE_DATA(nid)->node_mem_map under FLATMEM
    public func view(_ startPFN: UInt64, _ endPFN: UInt64) -> MemMap {
        precondition(startPFN <= endPFN && (startPFN == endPFN || contains(pfn: startPFN) && endPFN <= self.endPFN),
                     "a mem_map view outside the mem_map")
        return MemMap(viewing: base + Int(startPFN &- basePFN), basePFN: startPFN, frames: Int(endPFN - startPFN))
    }

    private init(viewing storage: UnsafeMutablePointer<Page>, basePFN: UInt64, frames: Int) {
        base = storage
        self.basePFN = basePFN
        frameCount = frames
    }

    /// One past the last described frame.
    @inlinable public var endPFN: UInt64 { basePFN &+ UInt64(frameCount) }

    /// Linux: pfn_valid()
    @inlinable public func contains(pfn: UInt64) -> Bool {
        pfn &- basePFN < UInt64(frameCount)
    }

    /// The descriptor of frame `pfn`. Linux: pfn_to_page()
    @inlinable public func page(_ pfn: UInt64) -> UnsafeMutablePointer<Page> {
        precondition(contains(pfn: pfn))
        return base + Int(pfn &- basePFN)
    }

    /// Like `page(_:)` for frames the allocator already knows are described.
    @inlinable func uncheckedPage(_ pfn: UInt64) -> UnsafeMutablePointer<Page> {
        base + Int(truncatingIfNeeded: pfn &- basePFN)
    }

    /// Linux: page_to_pfn()
    @inlinable public func pfn(of page: UnsafeMutablePointer<Page>) -> UInt64 {
        basePFN &+ UInt64(page - base)
    }

    /// The descriptor of the frame holding `address`. Linux: phys_to_page()
    @inlinable public func page(at address: PhysAddr) -> UnsafeMutablePointer<Page> {
        page(address.pfn)
    }

    /// Linux: page_to_phys()
    @inlinable public func physAddr(of page: UnsafeMutablePointer<Page>) -> PhysAddr {
        PhysAddr(pfn: pfn(of: page))
    }
}
