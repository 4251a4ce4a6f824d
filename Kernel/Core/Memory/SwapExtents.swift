// Where the pages of a swap file lie on its disk. At swapon the file's block
// map is read once and cut into extents, runs of file blocks that are
// consecutive on the disk; swap I/O then goes straight to the disk's sectors,
// never through the file system (which might need memory to find a block,
// while swap writes exactly when memory is short). A file with a hole cannot
// be swap: a hole has no block to write to. The extents are a copy of the
// block map, so the file must not change while it is swap (swapon denies
// writes to it). Linux: mm/swapfile.c generic_swapfile_activate(),
// add_swap_extent(), map_swap_entry() (Linux also requires each page's blocks
// to be contiguous and page-aligned and skips pages that are not; Keel reads
// and writes a page in as many pieces as its blocks need)

public struct SwapExtents: Equatable, Sendable {
    /// File blocks [fileBlock, fileBlock + blocks) are disk blocks
    /// [diskBlock, diskBlock + blocks). Linux: struct swap_extent
    public struct Extent: Equatable, Sendable {
        public var fileBlock: UInt64
        public var diskBlock: UInt64
        public var blocks: UInt64
    }

    public let blockSize: Int
    /// In file-block order, covering blocks [0, pages × blocks per page).
    public private(set) var extents: [Extent] = []

    /// The extents of the first `pages` pages of a file of `blockSize`-byte
    /// blocks (a power of two, at most a page), `diskBlock(i)` giving the disk
    /// block of file block i, 0 for a hole; nil if there is a hole.
    public static func map<E: Error>(pages: Int, blockSize: Int,
                                     diskBlock: (UInt64) throws(E) -> UInt64) throws(E) -> SwapExtents? {
        precondition(blockSize > 0 && blockSize <= Int(pageSize) && Int(pageSize) % blockSize == 0)
        var result = SwapExtents(blockSize: blockSize)
        let blocks = UInt64(pages) * (pageSize / UInt64(blockSize))
        var block: UInt64 = 0
        while block < blocks {
            let disk = try diskBlock(block)
            guard disk != 0 else { return nil }
            if let last = result.extents.last, last.diskBlock + last.blocks == disk {
                result.extents[result.extents.count - 1].blocks += 1
            } else {
                result.extents.append(Extent(fileBlock: block, diskBlock: disk, blocks: 1))
            }
            block += 1
        }
        return result
    }

    private init(blockSize: Int) { self.blockSize = blockSize }

    /// Calls `body` with the pieces of page `page` on the disk, in order:
    /// (first 512-byte sector, bytes), one per extent the page touches. No
    /// allocation: swap I/O runs when memory is short. Linux: map_swap_entry()
    /// (a search over the extents)
    public func forEachPiece<E: Error>(ofPage page: UInt64, _ body: (UInt64, Int) throws(E) -> Void) throws(E) {
        let perPage = pageSize / UInt64(blockSize)
        var block = page * perPage
        let end = block + perPage
        var low = 0, high = extents.count
        while high - low > 1 {
            let mid = (low + high) / 2
            if extents[mid].fileBlock <= block { low = mid } else { high = mid }
        }
        var index = low
        while block < end {
            let extent = extents[index]
            let count = min(end, extent.fileBlock + extent.blocks) - block
            let disk = extent.diskBlock + (block - extent.fileBlock)
            try body(disk * UInt64(blockSize) / 512, Int(count) * blockSize)
            block += count
            index += 1
        }
    }

    /// Pages the extents cover.
    public var pages: Int {
        guard let last = extents.last else { return 0 }
        return Int((last.fileBlock + last.blocks) * UInt64(blockSize) / pageSize)
    }
}
