// Allocating and freeing blocks and inodes with the bitmaps: each group has a
// block bitmap (bit i: block groupFirstBlock + i in use) and an inode bitmap
// (bit i: inode group * inodesPerGroup + i + 1 in use). Every change to a bit
// changes the group's free count with it; the superblock's totals are summed
// from the groups when it is written (Ext2FileSystem.sync).
//
// Placement, as Linux's ext2 does it in simpler form: a block goes as close to
// a "goal" as possible (the block after the file's previous one, so files stay
// contiguous); a file's inode goes in its directory's group; a new directory
// goes to a group with more free inodes than average and the most free blocks,
// spreading directories across the disk.

extension Ext2FileSystem {
    /// Allocates a block as near `goal` as possible. ENOSPC if none is free (or
    /// only root's reserve is, and the caller may not use it).
    /// The block's contents are whatever the disk held. Linux: ext2_new_blocks()
    func allocateBlock(near goal: UInt32) throws(Errno) -> UInt32 {
        try requireWritable()
        // The last s_r_blocks_count free blocks are root's. Linux: ext2_has_free_blocks()
        var free = 0
        for group in groups { free += Int(group.freeBlocksCount) }
        if free <= Int(superBlock.reservedBlocksCount) && !mayUseReservedBlocks() { throw .ENOSPC }
        let start = goal >= superBlock.firstDataBlock && goal < superBlock.blocksCount ? goal : superBlock.firstDataBlock
        let startGroup = Int((start - superBlock.firstDataBlock) / superBlock.blocksPerGroup)
        let startBit = Int((start - superBlock.firstDataBlock) % superBlock.blocksPerGroup)
        for step in 0...groupCount {
            let group = (startGroup + step) % groupCount
            guard groups[group].freeBlocksCount > 0 else { continue }
            // The goal's group is searched from the goal first, and again from
            // its start after every other group (step == groupCount).
            let from = step == 0 ? startBit : 0
            let limit = blocksInGroup(group)
            let bitmap = try cache.bread(device, UInt64(groups[group].blockBitmap))
            defer { cache.brelse(bitmap) }
            guard let bit = firstClearBit(bitmap.data, from: from, limit: limit) else {
                if from == 0 { note("group \(group): free blocks count says \(groups[group].freeBlocksCount), bitmap is full") }
                continue
            }
            let block = groupFirstBlock(group) + UInt32(bit)
            try checkNotMetadata(block, group: group)
            setBit(bitmap.data, bit, true)
            cache.markDirty(bitmap)
            groups[group].freeBlocksCount -= 1
            return block
        }
        throw .ENOSPC
    }

    /// Frees `block`. A block already free is reported and left alone.
    /// Clears `bit` of the bitmap in block `bitmapBlock`; false (and a note)
    /// if it was clear already, a double free the counts must not follow.
    /// Linux: the ext2_clear_bit() and "bit already cleared" check shared by
    /// ext2_free_blocks() and ext2_free_inode()
    private func clearBit(_ bit: Int, inBitmap bitmapBlock: UInt32, _ what: String) throws(Errno) -> Bool {
        let bitmap = try cache.bread(device, UInt64(bitmapBlock))
        defer { cache.brelse(bitmap) }
        guard testBit(bitmap.data, bit) else {
            note("freeing \(what) already free")
            return false
        }
        setBit(bitmap.data, bit, false)
        cache.markDirty(bitmap)
        return true
    }

    /// Linux: ext2_free_blocks()
    func freeBlock(_ block: UInt32) throws(Errno) {
        try checkBlock(block, "freeing")
        let group = Int((block - superBlock.firstDataBlock) / superBlock.blocksPerGroup)
        let bit = Int((block - superBlock.firstDataBlock) % superBlock.blocksPerGroup)
        try checkNotMetadata(block, group: group)
        guard try clearBit(bit, inBitmap: groups[group].blockBitmap, "block \(block)") else { return }
        if Int(groups[group].freeBlocksCount) < blocksInGroup(group) { groups[group].freeBlocksCount += 1 }
        cache.forget(device, UInt64(block))
    }

    /// A data block must not be a group's bitmap or inode table (the bitmap
    /// says it is free or in use; only damage makes it one of those).
    private func checkNotMetadata(_ block: UInt32, group: Int) throws(Errno) {
        let descriptor = groups[group]
        let table = descriptor.inodeTable
        if block == descriptor.blockBitmap || block == descriptor.inodeBitmap
            || (block >= table && UInt64(block) < UInt64(table) + UInt64(inodeTableBlocks)) {
            throw corrupt("block \(block) of group \(group) is metadata, the bitmap says it is free")
        }
    }

    /// Allocates an inode for a new file (`directory` false) or directory in
    /// directory `parent`. ENOSPC if none is free. Linux: ext2_new_inode()
    func allocateInode(parent: UInt32, directory: Bool) throws(Errno) -> UInt32 {
        try requireWritable()
        let parentGroup = Int((parent &- 1) / superBlock.inodesPerGroup) % groupCount
        while let group = inodeGroup(parentGroup: parentGroup, directory: directory) {
            let bitmap = try cache.bread(device, UInt64(groups[group].inodeBitmap))
            defer { cache.brelse(bitmap) }
            // Inodes below s_first_ino are reserved (root, journal, resize inode...).
            let groupBase = UInt32(group) * superBlock.inodesPerGroup
            let from = superBlock.firstIno > groupBase + 1 ? Int(superBlock.firstIno - groupBase - 1) : 0
            guard let bit = firstClearBit(bitmap.data, from: from, limit: Int(superBlock.inodesPerGroup)) else {
                // Believe the bitmap, so the search moves on to another group.
                note("group \(group): free inodes count says \(groups[group].freeInodesCount), bitmap is full")
                groups[group].freeInodesCount = 0
                continue
            }
            setBit(bitmap.data, bit, true)
            cache.markDirty(bitmap)
            groups[group].freeInodesCount -= 1
            if directory { groups[group].usedDirsCount &+= 1 }
            return groupBase + UInt32(bit) + 1
        }
        throw .ENOSPC
    }

    /// The group for a new inode, nil if no group has a free inode.
    /// Linux: find_group_dir() and find_group_other()
    private func inodeGroup(parentGroup: Int, directory: Bool) -> Int? {
        func hasRoom(_ group: Int) -> Bool { groups[group].freeInodesCount > 0 && groups[group].freeBlocksCount > 0 }
        if directory {
            // The group with at least average free inodes and the most free blocks.
            var totalFree = 0
            for group in groups { totalFree += Int(group.freeInodesCount) }
            let average = Swift.max(totalFree / groupCount, 1)
            var best: Int?
            for group in 0..<groupCount where Int(groups[group].freeInodesCount) >= average {
                if best.map({ groups[group].freeBlocksCount > groups[$0].freeBlocksCount }) ?? true { best = group }
            }
            if let best { return best }
        } else {
            // The parent's group if it has room for data too, then a quadratic
            // walk (parent + 1, + 2, + 4, ...).
            if hasRoom(parentGroup) { return parentGroup }
            var step = 1
            while step < groupCount {
                if hasRoom((parentGroup + step) % groupCount) { return (parentGroup + step) % groupCount }
                step *= 2
            }
        }
        // Then any group with a free inode, from the parent's on.
        for step in 0..<groupCount where groups[(parentGroup + step) % groupCount].freeInodesCount > 0 {
            return (parentGroup + step) % groupCount
        }
        return nil
    }

    /// Frees inode `ino`'s bit. Linux: ext2_free_inode()
    func freeInode(_ ino: UInt32, wasDirectory: Bool) throws(Errno) {
        guard ino >= superBlock.firstIno, ino <= superBlock.inodesCount else {
            throw corrupt("freeing reserved or bad inode \(ino)")
        }
        let group = Int((ino - 1) / superBlock.inodesPerGroup)
        let bit = Int((ino - 1) % superBlock.inodesPerGroup)
        guard try clearBit(bit, inBitmap: groups[group].inodeBitmap, "inode \(ino)") else { return }
        if UInt32(groups[group].freeInodesCount) < superBlock.inodesPerGroup { groups[group].freeInodesCount += 1 }
        if wasDirectory && groups[group].usedDirsCount > 0 { groups[group].usedDirsCount -= 1 }
    }

    // MARK: - Bitmaps

    /// The first clear bit in [from, limit) of a bitmap block, nil if none.
    /// Whole bytes of ones are skipped at once. Linux: find_next_zero_bit_le()
    func firstClearBit(_ bitmap: UnsafeMutableRawBufferPointer, from: Int, limit: Int) -> Int? {
        let limit = Swift.min(limit, bitmap.count * 8)
        var bit = from
        while bit < limit {
            if bit & 7 == 0 && bitmap[bit >> 3] == 0xff {
                bit += 8
                continue
            }
            if bitmap[bit >> 3] & (1 << UInt8(bit & 7)) == 0 { return bit }
            bit += 1
        }
        return nil
    }

    func testBit(_ bitmap: UnsafeMutableRawBufferPointer, _ bit: Int) -> Bool {
        bitmap[bit >> 3] & (1 << UInt8(bit & 7)) != 0
    }

    func setBit(_ bitmap: UnsafeMutableRawBufferPointer, _ bit: Int, _ value: Bool) {
        let mask: UInt8 = 1 << UInt8(bit & 7)
        if value { bitmap[bit >> 3] |= mask } else { bitmap[bit >> 3] &= ~mask }
    }
}
