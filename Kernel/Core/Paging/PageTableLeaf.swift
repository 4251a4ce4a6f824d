// What the walkers hand back: one mapped page, wherever in the tree it was found.

/// A present leaf entry together with the virtual page it maps.
public struct PageTableLeaf: Hashable {
    /// First virtual address of the page (aligned to `size`).
    public var virt: VirtAddr
    /// The leaf entry: frame and flags.
    public var entry: PageTableEntry
    public var size: PageSize

    @inlinable public init(virt: VirtAddr, entry: PageTableEntry, size: PageSize) {
        self.virt = virt
        self.entry = entry
        self.size = size
    }
}
