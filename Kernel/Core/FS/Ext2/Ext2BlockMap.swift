// Where a file's bytes are: the block map. An inode's i_block holds 15 block
// numbers: 12 point at the file's first 12 data blocks; the 13th at an
// indirect block full of data-block numbers; the 14th at a block of indirect
// blocks (double indirect); the 15th one level deeper (triple). With 1 KiB
// blocks (256 numbers per block) that reaches 12 + 256 + 256^2 + 256^3 blocks.
// A 0 anywhere is a hole: the bytes there read as zeros and take no space
// until written. i_blocks counts every block a file owns, indirect ones too,
// in 512-byte units.
//
// This file also holds what goes through the map: read, write (allocating
// data and indirect blocks near the file's previous block) and truncate
// (freeing the blocks past the new end, and indirect blocks left empty).

/// Where a logical block is found: the i_block slot, then an index into each
/// of `depth` indirect blocks on the way down (none for a direct block).
/// Linux: ext2_block_to_path()
struct Ext2BlockPath {
    var slot: Int
    var depth: Int
    var indices = InlineArray<3, Int>(repeating: 0)
}

extension Ext2FileSystem {
    /// The path to logical block `index`, nil past the triple-indirect tree.
    func blockPath(_ index: UInt64) -> Ext2BlockPath? {
        let perBlock = UInt64(addressesPerBlock)
        var rest = index
        if rest < UInt64(Ext2Inode.directBlocks) { return Ext2BlockPath(slot: Int(rest), depth: 0) }
        rest -= UInt64(Ext2Inode.directBlocks)
        var span = perBlock
        for depth in 1...3 {
            if rest < span {
                var path = Ext2BlockPath(slot: Ext2Inode.indirectSlot + depth - 1, depth: depth)
                for level in stride(from: depth - 1, through: 0, by: -1) {
                    path.indices[level] = Int(rest % perBlock)
                    rest /= perBlock
                }
                return path
            }
            rest -= span
            span *= perBlock
        }
        return nil
    }

    /// The largest file the map, i_blocks and the features allow.
    /// Linux: ext2_max_size()
    var maxFileSize: UInt64 {
        let perBlock = UInt64(addressesPerBlock)
        let mapped = UInt64(Ext2Inode.directBlocks) + perBlock + perBlock * perBlock + perBlock * perBlock * perBlock
        // i_blocks is 32 bits of 512-byte units, and must also count the
        // indirect blocks (about one per `perBlock` data blocks).
        let countable = UInt64(UInt32.max) / UInt64(sectorsPerBlock)
        let byBlocksField = countable - countable / perBlock - 3
        let bytes = Swift.min(mapped, byBlocksField) * UInt64(blockSize)
        if superBlock.featureRoCompat & Ext2Feature.roCompatLargeFile == 0 && superBlock.revLevel == 0 {
            return Swift.min(bytes, UInt64(Int32.max))
        }
        return bytes
    }

    /// Whether i_block is a block map (a fast symlink keeps its text there, a
    /// device node its number). Linux: ext2_inode_is_fast_symlink() and friends
    func hasBlockMap(_ inode: Ext2Inode) -> Bool {
        switch inode.fileType {
        case .regular, .directory: return true
        case .symlink:
            let attributeSectors = inode.fileACL != 0 ? sectorsPerBlock : 0
            return inode.sectors != attributeSectors
        default: return false
        }
    }

    /// Reads entry `index` of indirect block `block`.
    private func indirectEntry(_ block: UInt32, _ index: Int, ino: UInt32) throws(Errno) -> UInt32 {
        try checkBlock(block, "inode \(ino) indirect block")
        let buffer = try cache.bread(device, UInt64(block))
        defer { cache.brelse(buffer) }
        return LittleEndianBytes(bytes: UnsafeRawBufferPointer(buffer.data)).u32(index * 4)
    }

    /// The physical block of logical block `index`, 0 for a hole.
    /// Linux: ext2_get_block() without create
    func mapBlock(_ inode: Ext2Inode, ino: UInt32, _ index: UInt64) throws(Errno) -> UInt32 {
        guard let path = blockPath(index) else { return 0 }
        var block = inode.block[path.slot]
        for level in 0..<path.depth {
            if block == 0 { return 0 }
            block = try indirectEntry(block, path.indices[level], ino: ino)
        }
        if block != 0 { try checkBlock(block, "inode \(ino) data block") }
        return block
    }

    /// The physical block of logical block `index`, allocating it and any
    /// missing indirect blocks on the way (indirect blocks zeroed). `isNew` says
    /// the data block was just allocated and holds garbage. What was allocated
    /// before a failure stays in the map, counted in `inode.sectors`, so the
    /// caller must write the inode either way. Linux: ext2_get_block() with create
    func mapOrAllocateBlock(_ inode: inout Ext2Inode, ino: UInt32, _ index: UInt64) throws(Errno) -> (block: UInt32, isNew: Bool) {
        guard let path = blockPath(index) else { throw .EFBIG }
        var goal = try allocationGoal(inode, ino: ino, index)
        var block = inode.block[path.slot]
        var isNew = false
        if block == 0 {
            block = try allocateBlock(near: goal)
            inode.block[path.slot] = block
            inode.sectors &+= sectorsPerBlock
            isNew = true
            if path.depth > 0 { try zeroBlock(block) }
        }
        goal = block &+ 1
        for level in 0..<path.depth {
            let entry = path.indices[level]
            try checkBlock(block, "inode \(ino) indirect block")
            let parent = try cache.bread(device, UInt64(block))
            defer { cache.brelse(parent) }
            let child = LittleEndianBytes(bytes: UnsafeRawBufferPointer(parent.data)).u32(entry * 4)
            if child != 0 {
                block = child
                isNew = false
                goal = block &+ 1
                continue
            }
            block = try allocateBlock(near: goal)
            inode.sectors &+= sectorsPerBlock
            isNew = true
            if level < path.depth - 1 { try zeroBlock(block) }
            LittleEndianMutableBytes(bytes: parent.data).setU32(entry * 4, block)
            cache.markDirty(parent)
            goal = block &+ 1
        }
        try checkBlock(block, "inode \(ino) data block")
        return (block, isNew)
    }

    /// Where a new block of logical block `index` should go: after the
    /// previous logical block if it is mapped, else at the start of the inode's
    /// group. Linux: ext2_find_goal()
    private func allocationGoal(_ inode: Ext2Inode, ino: UInt32, _ index: UInt64) throws(Errno) -> UInt32 {
        if index > 0 {
            let previous = try mapBlock(inode, ino: ino, index - 1)
            if previous != 0 { return previous &+ 1 }
        }
        return groupFirstBlock(Int((ino &- 1) / superBlock.inodesPerGroup) % groupCount)
    }

    /// Fills a block with zeros through the cache (no read needed).
    func zeroBlock(_ block: UInt32) throws(Errno) {
        let buffer = try cache.getblk(device, UInt64(block))
        buffer.data.initializeMemory(as: UInt8.self, repeating: 0)
        cache.markDirty(buffer)
        cache.brelse(buffer)
    }

    // MARK: - Freeing

    /// Frees every data block at logical index `first` and beyond, and every
    /// indirect block left without entries, updating `inode.block` and
    /// `inode.sectors`. Linux: ext2_truncate_blocks() / ext2_free_branches()
    func freeBlocks(of inode: inout Ext2Inode, from first: UInt64) throws(Errno) {
        for slot in 0..<Ext2Inode.directBlocks where UInt64(slot) >= first && inode.block[slot] != 0 {
            try freeBlock(inode.block[slot])
            inode.block[slot] = 0
            inode.sectors = dropSectors(inode.sectors)
        }
        let perBlock = UInt64(addressesPerBlock)
        var base = UInt64(Ext2Inode.directBlocks)
        var span = perBlock
        for depth in 1...3 {
            let slot = Ext2Inode.indirectSlot + depth - 1
            if inode.block[slot] != 0 && first < base + span {
                let from = first > base ? first - base : 0
                if try freeBranch(inode.block[slot], depth: depth, from: from, sectors: &inode.sectors) {
                    try freeBlock(inode.block[slot])
                    inode.block[slot] = 0
                    inode.sectors = dropSectors(inode.sectors)
                }
            }
            base += span
            span *= perBlock
        }
    }

    /// Frees what indirect block `block` (at `depth`: 1 points at data blocks)
    /// maps from its relative index `from` on; returns whether the block is now
    /// empty, so the caller can free it too.
    private func freeBranch(_ block: UInt32, depth: Int, from: UInt64, sectors: inout UInt32) throws(Errno) -> Bool {
        try checkBlock(block, "indirect block")
        let buffer = try cache.bread(device, UInt64(block))
        defer { cache.brelse(buffer) }
        let entries = LittleEndianBytes(bytes: UnsafeRawBufferPointer(buffer.data))
        var childSpan: UInt64 = 1
        for _ in 1..<depth { childSpan *= UInt64(addressesPerBlock) }
        let firstChild = Int(from / childSpan)
        for index in firstChild..<addressesPerBlock {
            let child = entries.u32(index * 4)
            if child == 0 { continue }
            let childFrom = index == firstChild ? from - UInt64(index) * childSpan : 0
            if depth > 1 {
                guard try freeBranch(child, depth: depth - 1, from: childFrom, sectors: &sectors) else { continue }
            }
            try freeBlock(child)
            sectors = dropSectors(sectors)
            LittleEndianMutableBytes(bytes: buffer.data).setU32(index * 4, 0)
            cache.markDirty(buffer)
        }
        for index in 0..<addressesPerBlock where entries.u32(index * 4) != 0 { return false }
        return true
    }

    /// i_blocks less one block (never below zero, whatever the disk said).
    private func dropSectors(_ sectors: UInt32) -> UInt32 {
        sectors >= sectorsPerBlock ? sectors - sectorsPerBlock : 0
    }

    // MARK: - Reading, writing, truncating

    /// Copies file bytes from `offset` into `buffer`; returns how many (0 at or
    /// past the end). Holes read as zeros. Works for regular files and for
    /// symlinks kept in a block. Linux: generic_file_read_iter() over ext2_get_block()
    public func read(_ ino: UInt32, at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        let inode = try readInode(ino)
        if inode.isDirectory { throw .EISDIR }
        guard hasBlockMap(inode) else { throw .EINVAL }
        guard offset < inode.size, buffer.count > 0 else { return 0 }
        let count = Int(Swift.min(UInt64(buffer.count), inode.size - offset))
        let blockSize = UInt64(blockSize)
        // Read the request's blocks in runs (one device request per run of
        // consecutive blocks); reading on from where the last read of this
        // file stopped also reads a window (128 KiB) beyond the request.
        let first = offset / blockSize, end = (offset + UInt64(count) - 1) / blockSize + 1
        let sequential = lastRead?.ino == ino && lastRead?.next == first
        let aheadEnd = Swift.min(sequential ? end + 128 * 1024 / blockSize : end, inode.size / blockSize + 1)
        var aheadDone = first
        var done = 0
        while done < count {
            let position = offset + UInt64(done)
            let within = Int(position % blockSize)
            let chunk = Swift.min(Int(blockSize) - within, count - done)
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<done + chunk])
            let logical = position / blockSize
            if logical >= aheadDone { aheadDone = try readAheadRun(inode, ino: ino, from: logical, until: aheadEnd) }
            let block = try mapBlock(inode, ino: ino, logical)
            if block == 0 {
                target.initializeMemory(as: UInt8.self, repeating: 0)
            } else {
                let source = try cache.bread(device, UInt64(block))
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source.data[within..<within + chunk]))
                cache.brelse(source)
            }
            done += chunk
        }
        lastRead = (ino, end)
        return done
    }

    /// Reads ahead the logical blocks from `first` on whose physical blocks
    /// follow each other, up to `end`; returns the logical block after them.
    /// Nothing happens while `first` is cached: a sequential reader reads a
    /// whole window when it reaches the window's end, not a few blocks at every
    /// call. Linux: the readahead marker of page_cache_async_readahead()
    private func readAheadRun(_ inode: Ext2Inode, ino: UInt32, from first: UInt64, until end: UInt64) throws(Errno) -> UInt64 {
        let start = try mapBlock(inode, ino: ino, first)
        guard start != 0, !cache.isCached(device, UInt64(start)) else { return first + 1 }   // a hole, or read already
        var next = first + 1
        while next < end, next - first < UInt64(cache.maxMergedBlocks),
              try mapBlock(inode, ino: ino, next) == start &+ UInt32(next - first) {
            next += 1
        }
        if next - first > 1 { try cache.readAhead(device, UInt64(start), count: Int(next - first)) }
        return next
    }

    /// Writes `bytes` at `offset` of regular file `ino`, allocating blocks for
    /// holes and the end; returns how many bytes were written. When the disk
    /// fills up part way, the bytes written so far count (a short write);
    /// ENOSPC only if none could be. Linux: generic_perform_write() over ext2_get_block()
    public func write(_ ino: UInt32, at offset: UInt64, from bytes: UnsafeRawBufferPointer,
                      touchingTimes: Bool = true) throws(Errno) -> Int {
        try requireWritable()
        var inode = try readInode(ino)
        if inode.isDirectory { throw .EISDIR }
        guard inode.fileType == .regular else { throw .EINVAL }
        let limit = maxFileSize
        guard bytes.count > 0 else { return 0 }
        guard offset < limit else { throw .EFBIG }
        let count = Int(Swift.min(UInt64(bytes.count), limit - offset))
        if offset > inode.size { try zeroPastEnd(inode, ino: ino, from: inode.size) }
        var done = 0
        var failure: Errno?
        while done < count {
            let position = offset + UInt64(done)
            let within = Int(position % UInt64(blockSize))
            let chunk = Swift.min(blockSize - within, count - done)
            do throws(Errno) {
                let (block, isNew) = try mapOrAllocateBlock(&inode, ino: ino, position / UInt64(blockSize))
                let buffer: Buffer
                if chunk == blockSize {
                    buffer = try cache.getblk(device, UInt64(block))   // overwritten whole: no read
                } else if isNew {
                    buffer = try newZeroedBuffer(block)
                } else {
                    buffer = try cache.bread(device, UInt64(block))
                }
                UnsafeMutableRawBufferPointer(rebasing: buffer.data[within..<within + chunk])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[done..<done + chunk]))
                cache.markDirty(buffer)
                cache.brelse(buffer)
            } catch {
                failure = error
                break
            }
            done += chunk
        }
        let end = offset + UInt64(done)
        if end > inode.size { try growSize(&inode, to: end) }
        if done > 0 && touchingTimes {
            inode.modifyTime = clock()
            inode.changeTime = inode.modifyTime
        }
        try writeInode(ino, inode)
        if let failure, done == 0 { throw failure }
        return done
    }

    /// Gives bytes `offset..<offset+count` of regular file `ino` their blocks
    /// before the page cache dirties them, so writing the page back later
    /// cannot fail for space, and makes the file at least as long as the
    /// bytes that got blocks. A new block's buffer is zeroed (and dirty), so
    /// nothing the disk held before can be read through it. Returns how many
    /// bytes from `offset` have blocks: short when the disk filled part way,
    /// ENOSPC when none. Linux: block_write_begin() / block_page_mkwrite()
    /// → ext2_get_block(create: 1) with BH_New zeroing, and write_end()'s i_size
    public func reserve(_ ino: UInt32, at offset: UInt64, count requested: Int) throws(Errno) -> Int {
        try requireWritable()
        var inode = try readInode(ino)
        guard inode.fileType == .regular else { throw inode.isDirectory ? .EISDIR : .EINVAL }
        guard requested > 0 else { return 0 }
        guard offset < maxFileSize else { throw .EFBIG }
        let count = Int(Swift.min(UInt64(requested), maxFileSize - offset))
        if offset > inode.size { try zeroPastEnd(inode, ino: ino, from: inode.size) }
        let blockSize = UInt64(blockSize)
        var covered = 0
        var failure: Errno?
        var logical = offset / blockSize
        while covered < count {
            do throws(Errno) {
                let (block, isNew) = try mapOrAllocateBlock(&inode, ino: ino, logical)
                if isNew {
                    let buffer = try newZeroedBuffer(block)
                    cache.markDirty(buffer)
                    cache.brelse(buffer)
                }
            } catch {
                failure = error
                break
            }
            logical += 1
            covered = Swift.min(count, Int((logical * blockSize) - offset))
        }
        let end = offset + UInt64(covered)
        if end > inode.size { try growSize(&inode, to: end) }
        try writeInode(ino, inode)
        if let failure, covered == 0 { throw failure }
        return covered
    }

    /// Zeroes the bytes of the block holding offset `end` from there to the
    /// block's end, so a file growing past `end` (by truncate or a write
    /// beyond it) reads zeros there, whatever the disk held past the old end.
    /// Linux: the EOF zeroing of block_truncate_page() and block_write_full_folio()
    private func zeroPastEnd(_ inode: Ext2Inode, ino: UInt32, from end: UInt64) throws(Errno) {
        let tail = Int(end % UInt64(blockSize))
        guard tail != 0 else { return }
        let block = try mapBlock(inode, ino: ino, end / UInt64(blockSize))
        guard block != 0 else { return }
        let buffer = try cache.bread(device, UInt64(block))
        UnsafeMutableRawBufferPointer(rebasing: buffer.data[tail...]).initializeMemory(as: UInt8.self, repeating: 0)
        cache.markDirty(buffer)
        cache.brelse(buffer)
    }

    /// A buffer for a block just allocated: zeroed, not read.
    private func newZeroedBuffer(_ block: UInt32) throws(Errno) -> Buffer {
        let buffer = try cache.getblk(device, UInt64(block))
        buffer.data.initializeMemory(as: UInt8.self, repeating: 0)
        return buffer
    }

    /// Sets a regular file's size, turning on LARGE_FILE the first time a file
    /// passes 2 GiB. Linux: ext2_update_dynamic_rev() + EXT2_SET_RO_COMPAT_FEATURE
    private func growSize(_ inode: inout Ext2Inode, to size: UInt64) throws(Errno) {
        if size > UInt64(Int32.max) && superBlock.featureRoCompat & Ext2Feature.roCompatLargeFile == 0 {
            guard superBlock.revLevel >= 1 else { throw .EFBIG }
            superBlock.featureRoCompat |= Ext2Feature.roCompatLargeFile
        }
        inode.size = size
    }

    /// Sets regular file `ino`'s size: shrinking frees the blocks past the end
    /// and zeroes the rest of the last block; growing leaves a hole.
    /// Linux: ext2_setsize()
    public func truncate(_ ino: UInt32, to size: UInt64) throws(Errno) {
        try requireWritable()
        var inode = try readInode(ino)
        if inode.isDirectory { throw .EISDIR }
        guard inode.fileType == .regular else { throw .EINVAL }
        guard size <= maxFileSize else { throw .EFBIG }
        if size < inode.size {
            let blockSize = UInt64(blockSize)
            do throws(Errno) {
                try freeBlocks(of: &inode, from: (size + blockSize - 1) / blockSize)
            } catch {
                try writeInode(ino, inode)    // keep the map in step with the bitmaps freed so far
                throw error
            }
            try zeroPastEnd(inode, ino: ino, from: size)
            inode.size = size
        } else if size > inode.size {
            try zeroPastEnd(inode, ino: ino, from: inode.size)
            try growSize(&inode, to: size)
        }
        inode.modifyTime = clock()
        inode.changeTime = inode.modifyTime
        try writeInode(ino, inode)
    }
}
