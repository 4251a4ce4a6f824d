// A mounted ext2 file system: the superblock and group descriptors kept in
// memory, inodes read from and written to the inode tables, and the life of
// a mount (checks at mount, write-back at sync, the clean flag at unmount).
// The other concerns live beside this file: Ext2Allocation (bitmaps),
// Ext2BlockMap (file blocks, read, write, truncate), Ext2Directory (entries in
// directory blocks) and Ext2Namei (create, link, unlink, rename).
//
// Everything read from the disk is checked before it is used as a count, an
// index or a block number: a damaged image makes an operation fail with
// EUCLEAN (Linux's EFSCORRUPTED) and a message in `lastError`, never trap.
//
// Locking: none inside. The kernel's ext2 mount holds one lock around every
// call (the buffer cache it owns is protected by the same lock).

/// Linux: struct ext2_sb_info with its super_block (fs/ext2/super.c)
public final class Ext2FileSystem {
    /// Linux: EXT2_ROOT_INO
    public static let rootIno: UInt32 = 2
    /// Most links to one inode. Linux: EXT2_LINK_MAX
    public static let linkMax: UInt16 = 32000

    public let device: any BlockDevice
    /// The cache all metadata and file data go through (statistics for /proc).
    public let cache: BufferCache
    /// Linux: SB_RDONLY
    public let isReadOnly: Bool
    /// Linux: s_blocksize
    public let blockSize: Int
    /// The superblock as of the last change; written back by `sync`.
    public internal(set) var superBlock: Ext2SuperBlock
    /// Every group's descriptor; written back by `sync`. Linux: s_group_desc
    var groups: [Ext2GroupDescriptor]
    /// Linux: s_inode_size
    let inodeSize: Int
    /// Block numbers per indirect block. Linux: EXT2_ADDR_PER_BLOCK
    let addressesPerBlock: Int
    /// Inode-table blocks per group. Linux: s_itb_per_group
    let inodeTableBlocks: Int
    /// Directory entries carry a file type. Linux: EXT2_HAS_INCOMPAT_FEATURE(FILETYPE)
    let hasFileType: Bool
    /// The reason of the last EUCLEAN/EINVAL, for the kernel's console line.
    public private(set) var lastError = ""
    /// Called with each error text as it happens (the kernel prints
    /// "EXT2-fs (vda): error: ..."). Linux: ext2_error() / ext2_msg()
    private let report: (String) -> Void
    /// Seconds since the epoch, for inode and superblock times. Linux: ktime_get_real_seconds()
    public var clock: () -> UInt32 = { 0 }
    /// Whether the caller may take the blocks reserved for root; the kernel
    /// asks the current task's credentials. Linux: capable(CAP_SYS_RESOURCE)
    /// or s_resuid/s_resgid in ext2_has_free_blocks()
    public var mayUseReservedBlocks: () -> Bool = { true }
    /// The inode and block after the last read, to spot sequential reading and
    /// read ahead of it. Linux: file_ra_state (kept per open file there)
    var lastRead: (ino: UInt32, next: UInt64)?

    /// Mounts the ext2 file system on `device`: reads and checks the superblock
    /// and group descriptors, and marks the disk "not clean" if read-write.
    /// EUCLEAN for a damaged superblock, EINVAL for features Keel lacks, EIO if the
    /// device fails; `report` gets the reason either way. Linux: ext2_fill_super()
    public static func mount(device: any BlockDevice, readOnly: Bool, cacheCapacity: Int = 256,
                             memory: any BufferMemory = HeapBufferMemory(),
                             clock: @escaping () -> UInt32 = { 0 },
                             report: @escaping (String) -> Void = { _ in }) throws(Errno) -> Ext2FileSystem {
        func fail(_ error: Errno, _ text: String) -> Errno {
            report(text)
            return error
        }
        guard device.sectorCount >= 4 else { throw fail(.EINVAL, "device too small for an ext2 superblock") }
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: Ext2SuperBlock.size, alignment: 512)
        defer { raw.deallocate() }
        try device.read(sector: UInt64(Ext2SuperBlock.offset / 512), into: raw)
        let sb = Ext2SuperBlock(decoding: UnsafeRawBufferPointer(raw))
        guard sb.magic == Ext2SuperBlock.magicValue else {
            throw fail(.EUCLEAN, "can't find an ext2 filesystem (magic 0x\(String(sb.magic, radix: 16)))")
        }
        guard sb.revLevel <= 1 else { throw fail(.EINVAL, "revision level \(sb.revLevel) too high") }
        guard sb.logBlockSize <= 2 else { throw fail(.EINVAL, "unsupported block size 1024 << \(sb.logBlockSize)") }
        let unsupported = sb.featureIncompat & ~Ext2Feature.incompatSupported
        guard unsupported == 0 else {
            throw fail(.EINVAL, "couldn't mount because of unsupported optional features (0x\(String(unsupported, radix: 16)))")
        }
        let unsupportedRo = sb.featureRoCompat & ~Ext2Feature.roCompatSupported
        guard readOnly || unsupportedRo == 0 else {
            throw fail(.EINVAL, "couldn't mount RDWR because of unsupported optional features (0x\(String(unsupportedRo, radix: 16)))")
        }
        let blockSize = 1024 << Int(sb.logBlockSize)
        let inodeSize = Int(sb.inodeSize)
        guard inodeSize >= Ext2Inode.size, inodeSize <= blockSize, inodeSize & (inodeSize - 1) == 0 else {
            throw fail(.EUCLEAN, "unsupported inode size: \(inodeSize)")
        }
        let bitsPerBlock = UInt32(blockSize * 8)
        guard sb.blocksPerGroup > 0, sb.blocksPerGroup <= bitsPerBlock,
              sb.inodesPerGroup > 0, sb.inodesPerGroup <= bitsPerBlock else {
            throw fail(.EUCLEAN, "bad blocks or inodes per group: \(sb.blocksPerGroup), \(sb.inodesPerGroup)")
        }
        guard sb.firstDataBlock == (blockSize == 1024 ? 1 : 0), sb.firstDataBlock < sb.blocksCount else {
            throw fail(.EUCLEAN, "bad first data block \(sb.firstDataBlock)")
        }
        guard UInt64(sb.blocksCount) * UInt64(blockSize / 512) <= device.sectorCount else {
            throw fail(.EINVAL, "bad geometry: block count \(sb.blocksCount) exceeds size of device")
        }
        let groupCount = Int((sb.blocksCount - sb.firstDataBlock - 1) / sb.blocksPerGroup) + 1
        guard UInt64(groupCount) * UInt64(sb.inodesPerGroup) == UInt64(sb.inodesCount) else {
            throw fail(.EUCLEAN, "inodes count \(sb.inodesCount) does not match \(groupCount) groups")
        }
        guard sb.firstIno >= 11, sb.firstIno <= sb.inodesCount else {
            throw fail(.EUCLEAN, "bad first inode \(sb.firstIno)")
        }
        let fs = Ext2FileSystem(device: device, superBlock: sb, groupCount: groupCount, readOnly: readOnly,
                                cacheCapacity: cacheCapacity, memory: memory, report: report)
        fs.clock = clock
        try fs.readGroupDescriptors()
        let root = try fs.readInode(rootIno)
        guard root.isDirectory, root.linksCount > 0, root.size >= UInt64(blockSize) else {
            throw fs.corrupt("corrupt root inode")
        }
        if !readOnly {
            if fs.superBlock.state & Ext2SuperBlock.stateValid == 0 {
                fs.note("warning: mounting unchecked fs, running e2fsck is recommended")
            }
            fs.superBlock.state &= ~Ext2SuperBlock.stateValid
            fs.superBlock.mountCount &+= 1
            fs.superBlock.mountTime = fs.clock()
            try fs.sync()
        }
        return fs
    }

    private init(device: any BlockDevice, superBlock: Ext2SuperBlock, groupCount: Int, readOnly: Bool,
                 cacheCapacity: Int, memory: any BufferMemory, report: @escaping (String) -> Void) {
        self.device = device
        self.superBlock = superBlock
        blockSize = 1024 << Int(superBlock.logBlockSize)
        cache = BufferCache(blockSize: blockSize, capacity: cacheCapacity, memory: memory)
        isReadOnly = readOnly
        inodeSize = Int(superBlock.inodeSize)
        addressesPerBlock = blockSize / 4
        inodeTableBlocks = (Int(superBlock.inodesPerGroup) * inodeSize + blockSize - 1) / blockSize
        hasFileType = superBlock.featureIncompat & Ext2Feature.incompatFiletype != 0
        groups = []
        groups.reserveCapacity(groupCount)
        self.report = report
    }

    // MARK: - Errors

    /// Records a damaged structure and returns the error to throw. Linux: ext2_error()
    func corrupt(_ text: String) -> Errno {
        note(text)
        return .EUCLEAN
    }

    /// Records a message without failing. Linux: ext2_msg()
    func note(_ text: String) {
        lastError = text
        report(text)
    }

    /// EROFS unless mounted read-write.
    func requireWritable() throws(Errno) {
        if isReadOnly { throw .EROFS }
    }

    // MARK: - Geometry

    public var groupCount: Int { groups.count }

    /// The first block of group `group`.
    func groupFirstBlock(_ group: Int) -> UInt32 {
        superBlock.firstDataBlock + UInt32(group) * superBlock.blocksPerGroup
    }

    /// Blocks in group `group` (the last group may be short).
    func blocksInGroup(_ group: Int) -> Int {
        Int(Swift.min(superBlock.blocksPerGroup, superBlock.blocksCount - groupFirstBlock(group)))
    }

    /// Whether group `group` holds a superblock backup and descriptor table.
    /// Linux: ext2_bg_has_super()
    func groupHasSuper(_ group: Int) -> Bool {
        if superBlock.featureRoCompat & Ext2Feature.roCompatSparseSuper == 0 || group <= 1 { return true }
        for base in [3, 5, 7] {
            var power = base
            while power < group { power *= base }
            if power == group { return true }
        }
        return false
    }

    /// Blocks of the group descriptor table. Linux: s_gdb_count
    var descriptorBlocks: Int {
        (groupCount * Ext2GroupDescriptor.size + blockSize - 1) / blockSize
    }

    /// Checks that `block` is a block of the file system (not the boot area).
    func checkBlock(_ block: UInt32, _ what: @autoclosure () -> String) throws(Errno) {
        guard block >= superBlock.firstDataBlock, block < superBlock.blocksCount else {
            throw corrupt("\(what()): block \(block) outside the file system")
        }
    }

    // MARK: - Group descriptors and superblock

    /// Reads and checks the descriptor table. Linux: ext2_check_descriptors()
    private func readGroupDescriptors() throws(Errno) {
        let groupCount = Int((superBlock.blocksCount - superBlock.firstDataBlock - 1) / superBlock.blocksPerGroup) + 1
        let perBlock = blockSize / Ext2GroupDescriptor.size
        for group in 0..<groupCount {
            let block = try cache.bread(device, try descriptorBlock(group / perBlock))
            let offset = (group % perBlock) * Ext2GroupDescriptor.size
            let descriptor = Ext2GroupDescriptor(decoding: UnsafeRawBufferPointer(rebasing: block.data[offset..<offset + Ext2GroupDescriptor.size]))
            cache.brelse(block)
            let first = UInt64(groupFirstBlock(group))
            let last = first + UInt64(blocksInGroup(group)) - 1
            func inGroup(_ block: UInt32, _ count: Int) -> Bool {
                UInt64(block) >= first && UInt64(block) + UInt64(count) - 1 <= last
            }
            guard inGroup(descriptor.blockBitmap, 1) else {
                throw corrupt("group descriptor \(group): block bitmap not in group (block \(descriptor.blockBitmap))")
            }
            guard inGroup(descriptor.inodeBitmap, 1) else {
                throw corrupt("group descriptor \(group): inode bitmap not in group (block \(descriptor.inodeBitmap))")
            }
            guard inGroup(descriptor.inodeTable, inodeTableBlocks) else {
                throw corrupt("group descriptor \(group): inode table not in group (block \(descriptor.inodeTable))")
            }
            guard Int(descriptor.freeBlocksCount) <= blocksInGroup(group),
                  UInt32(descriptor.freeInodesCount) <= superBlock.inodesPerGroup,
                  UInt32(descriptor.usedDirsCount) <= superBlock.inodesPerGroup else {
                throw corrupt("group descriptor \(group): counts out of range")
            }
            groups.append(descriptor)
        }
    }

    /// Block `index` of the descriptor table, after checking it lies on the file system.
    private func descriptorBlock(_ index: Int) throws(Errno) -> UInt64 {
        let block = UInt64(superBlock.firstDataBlock) + 1 + UInt64(index)
        guard block < UInt64(superBlock.blocksCount) else { throw corrupt("group descriptor table past the end") }
        return block
    }

    /// Puts the in-memory superblock and descriptors into their buffers (dirty).
    private func writeSuperBlockAndDescriptors() throws(Errno) {
        var freeBlocks: UInt32 = 0, freeInodes: UInt32 = 0
        for group in groups {
            freeBlocks &+= UInt32(group.freeBlocksCount)
            freeInodes &+= UInt32(group.freeInodesCount)
        }
        superBlock.freeBlocksCount = freeBlocks
        superBlock.freeInodesCount = freeInodes
        let now = clock()
        if now != 0 { superBlock.writeTime = now }

        let sbBlock = try cache.bread(device, UInt64(Ext2SuperBlock.offset / blockSize))
        let sbOffset = Ext2SuperBlock.offset % blockSize
        superBlock.encode(into: UnsafeMutableRawBufferPointer(rebasing: sbBlock.data[sbOffset..<sbOffset + Ext2SuperBlock.size]))
        cache.markDirty(sbBlock)
        cache.brelse(sbBlock)

        let perBlock = blockSize / Ext2GroupDescriptor.size
        for index in 0..<descriptorBlocks {
            let block = try cache.bread(device, try descriptorBlock(index))
            for slot in 0..<perBlock {
                let group = index * perBlock + slot
                if group >= groups.count { break }
                let offset = slot * Ext2GroupDescriptor.size
                groups[group].encode(into: UnsafeMutableRawBufferPointer(rebasing: block.data[offset..<offset + Ext2GroupDescriptor.size]))
            }
            cache.markDirty(block)
            cache.brelse(block)
        }
    }

    /// Writes the superblock and descriptors (with the free counts summed from
    /// the groups), then every dirty buffer, then flushes the device.
    /// Linux: ext2_sync_fs() + sync_blockdev()
    public func sync() throws(Errno) {
        if isReadOnly { return }
        try writeSuperBlockAndDescriptors()
        try cache.writeDirtyBuffers(of: device)
        try device.flush()
    }

    /// Marks the file system clean, writes everything back and drops its
    /// buffers; the object must not be used afterwards. The VFS evicts every
    /// unlinked inode first, or e2fsck finds them as orphans. Linux: ext2_put_super()
    public func unmount() throws(Errno) {
        if !isReadOnly {
            if superBlock.state & Ext2SuperBlock.stateError == 0 {
                superBlock.state |= Ext2SuperBlock.stateValid
            }
            try sync()
        }
        try cache.invalidate(device)
    }

    // MARK: - Inodes

    /// Where inode `ino` sits: the inode-table block and the byte offset in it.
    private func inodeLocation(_ ino: UInt32) throws(Errno) -> (block: UInt64, offset: Int) {
        guard ino >= 1, ino <= superBlock.inodesCount else { throw corrupt("bad inode number: \(ino)") }
        let index = ino - 1
        let group = Int(index / superBlock.inodesPerGroup)
        let byteOffset = Int(index % superBlock.inodesPerGroup) * inodeSize
        return (UInt64(groups[group].inodeTable) + UInt64(byteOffset / blockSize), byteOffset % blockSize)
    }

    /// Reads inode `ino` as the disk has it, whatever its state. Linux: ext2_get_inode()
    func readRawInode(_ ino: UInt32) throws(Errno) -> Ext2Inode {
        let (blockNumber, offset) = try inodeLocation(ino)
        let block = try cache.bread(device, blockNumber)
        defer { cache.brelse(block) }
        return Ext2Inode(decoding: UnsafeRawBufferPointer(rebasing: block.data[offset..<offset + Ext2Inode.size]))
    }

    /// Reads inode `ino`, which must be in use with a valid type (EUCLEAN if a
    /// name leads to a free or damaged inode). Linux: ext2_iget()
    public func readInode(_ ino: UInt32) throws(Errno) -> Ext2Inode {
        let inode = try readRawInode(ino)
        guard inode.fileType != nil else {
            throw corrupt("inode \(ino): bad mode 0o\(String(inode.mode, radix: 8))")
        }
        guard inode.linksCount > 0 || inode.deleteTime == 0 else {
            throw corrupt("inode \(ino): deleted inode referenced")
        }
        return inode
    }

    /// Writes inode `ino`'s fields into its inode-table block (written back by
    /// sync). Linux: ext2_write_inode()
    public func writeInode(_ ino: UInt32, _ inode: Ext2Inode) throws(Errno) {
        try requireWritable()
        try storeInode(ino, inode, clearingRecord: false)
    }

    /// Writes a fresh inode, zeroing the whole record first as Linux does for a
    /// new inode (EXT2_STATE_NEW), so no bytes of a former inode survive.
    func writeNewInode(_ ino: UInt32, _ inode: Ext2Inode) throws(Errno) {
        try storeInode(ino, inode, clearingRecord: true)
    }

    private func storeInode(_ ino: UInt32, _ inode: Ext2Inode, clearingRecord: Bool) throws(Errno) {
        let (blockNumber, offset) = try inodeLocation(ino)
        let block = try cache.bread(device, blockNumber)
        defer { cache.brelse(block) }
        if clearingRecord {
            UnsafeMutableRawBufferPointer(rebasing: block.data[offset..<offset + inodeSize]).initializeMemory(as: UInt8.self, repeating: 0)
        }
        inode.encode(into: UnsafeMutableRawBufferPointer(rebasing: block.data[offset..<offset + Ext2Inode.size]))
        cache.markDirty(block)
    }

    /// Changes the attributes chmod, chown and utimes change; ctime becomes now.
    /// Only the permission bits of `mode` are used. Linux: ext2_setattr()
    public func setAttributes(_ ino: UInt32, _ attributes: Ext2Attributes) throws(Errno) {
        try requireWritable()
        var inode = try readInode(ino)
        if let mode = attributes.mode {
            inode.mode = inode.mode & UInt16(FileType.mask) | UInt16(truncatingIfNeeded: mode & permissionBitsMask)
        }
        if let uid = attributes.uid { inode.uid = uid }
        if let gid = attributes.gid { inode.gid = gid }
        if let accessTime = attributes.accessTime { inode.accessTime = accessTime }
        if let modifyTime = attributes.modifyTime { inode.modifyTime = modifyTime }
        inode.changeTime = clock()
        try storeInode(ino, inode, clearingRecord: false)
    }

    /// What stat(2) reports for inode `ino`; `device` is the mount's st_dev.
    /// Times on disk are signed 32-bit seconds. Linux: ext2_getattr() / generic_fillattr()
    public func stat(_ ino: UInt32, device: DeviceNumber) throws(Errno) -> KernelStat {
        let inode = try readInode(ino)
        let type = inode.fileType
        let rdev = type == .characterDevice || type == .blockDevice ? inode.deviceNumber : DeviceNumber(major: 0, minor: 0)
        func time(_ seconds: UInt32) -> Timespec { Timespec(seconds: Int64(Int32(bitPattern: seconds))) }
        return KernelStat(device: device, ino: UInt64(ino), mode: UInt32(inode.mode), nlink: UInt64(inode.linksCount),
                          uid: inode.uid, gid: inode.gid, rdev: rdev, size: Int64(clamping: inode.size),
                          blockSize: Int64(blockSize), blocks: Int64(inode.sectors),
                          accessTime: time(inode.accessTime), modifyTime: time(inode.modifyTime),
                          changeTime: time(inode.changeTime))
    }

    /// Frees inode `ino` and its blocks once no name leads to it; the VFS calls
    /// this when the last user of an unlinked inode lets go (unlink while open).
    /// Does nothing while the inode still has links, or once it is freed. Linux: ext2_evict_inode()
    public func evict(_ ino: UInt32) throws(Errno) {
        try requireWritable()
        var inode = try readRawInode(ino)
        guard inode.linksCount == 0, inode.mode != 0, inode.deleteTime == 0 else { return }   // linked, or freed already
        do throws(Errno) {
            if hasBlockMap(inode) { try freeBlocks(of: &inode, from: 0) }
            try releaseAttributeBlock(of: &inode)
        } catch {
            try storeInode(ino, inode, clearingRecord: false)   // the blocks freed so far are gone from the map
            throw error
        }
        inode.size = 0
        inode.deleteTime = Swift.max(clock(), 1)
        try storeInode(ino, inode, clearingRecord: false)
        try freeInode(ino, wasDirectory: inode.isDirectory)
    }

    /// Drops the inode's reference to its extended-attribute block, freeing the
    /// block when no inode shares it any more. Linux: ext2_xattr_delete_inode()
    private func releaseAttributeBlock(of inode: inout Ext2Inode) throws(Errno) {
        let blockNumber = inode.fileACL
        guard blockNumber != 0 else { return }
        try checkBlock(blockNumber, "extended attribute block")
        let block = try cache.bread(device, UInt64(blockNumber))
        let header = LittleEndianBytes(bytes: UnsafeRawBufferPointer(block.data))
        let references = header.u32(4)
        guard header.u32(0) == 0xEA02_0000 else {
            cache.brelse(block)
            throw corrupt("extended attribute block \(blockNumber): bad magic")
        }
        if references > 1 {
            LittleEndianMutableBytes(bytes: block.data).setU32(4, references - 1)
            cache.markDirty(block)
            cache.brelse(block)
        } else {
            cache.brelse(block)
            try freeBlock(blockNumber)
        }
        inode.fileACL = 0
        inode.sectors = inode.sectors >= sectorsPerBlock ? inode.sectors - sectorsPerBlock : 0
    }

    /// 512-byte units per block: what one block adds to i_blocks.
    var sectorsPerBlock: UInt32 { UInt32(blockSize / 512) }

    // MARK: - statfs

    /// The numbers statfs(2) reports. Linux: ext2_statfs()
    public func statfs() -> Ext2StatFS {
        // Blocks that can never hold data (Linux's "overhead"): the boot area,
        // superblock copies, descriptor tables, bitmaps and inode tables.
        var overhead = Int(superBlock.firstDataBlock)
        var freeBlocks = 0, freeInodes = 0
        for group in 0..<groupCount {
            if groupHasSuper(group) { overhead += 1 + descriptorBlocks }
            overhead += 2 + inodeTableBlocks
            freeBlocks += Int(groups[group].freeBlocksCount)
            freeInodes += Int(groups[group].freeInodesCount)
        }
        let reserved = Int(superBlock.reservedBlocksCount)
        return Ext2StatFS(blockSize: blockSize,
                              blocks: Swift.max(0, Int(superBlock.blocksCount) - overhead),
                              freeBlocks: freeBlocks,
                              availableBlocks: Swift.max(0, freeBlocks - reserved),
                              inodes: Int(superBlock.inodesCount), freeInodes: freeInodes,
                              nameMax: Ext2DirectoryEntry.maxNameLength)
    }
}

/// What setattr may change; nil leaves a field as it is. Linux: struct iattr
public struct Ext2Attributes {
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var accessTime: UInt32?
    public var modifyTime: UInt32?

    public init(mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil,
                accessTime: UInt32? = nil, modifyTime: UInt32? = nil) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.accessTime = accessTime
        self.modifyTime = modifyTime
    }
}

/// statfs(2)'s numbers for an ext2 mount. Linux: struct kstatfs
public struct Ext2StatFS: Equatable {
    public var blockSize: Int       // f_bsize
    public var blocks: Int          // f_blocks: blocks minus the overhead
    public var freeBlocks: Int      // f_bfree
    public var availableBlocks: Int // f_bavail: free minus those reserved for root
    public var inodes: Int          // f_files
    public var freeInodes: Int      // f_ffree
    public var nameMax: Int         // f_namelen
}
