// ext2's on-disk structures, revision 1, and their little-endian encodings.
//
// A disk is cut into blocks (1, 2 or 4 KiB). Byte 1024 holds the superblock
// (geometry, free counts, features). The blocks after block `firstDataBlock`
// form block groups of `blocksPerGroup` blocks; the group descriptor table,
// in the block after the superblock's, says where each group keeps its block
// bitmap, inode bitmap and inode table. Inode n (numbered from 1) is entry
// (n-1) % inodesPerGroup of group (n-1) / inodesPerGroup's table.
//
// Decoding keeps only the fields Keel uses; encoding writes those fields into
// the existing bytes, so fields Keel does not know survive a rewrite.

/// Linux: the EXT2_FEATURE_* masks of fs/ext2/ext2.h
public enum Ext2Feature {
    /// Directory entries carry the file type. Linux: EXT2_FEATURE_INCOMPAT_FILETYPE
    public static let incompatFiletype: UInt32 = 0x0002
    /// Every incompat feature Keel understands: a disk with another cannot be read.
    public static let incompatSupported: UInt32 = incompatFiletype
    /// Superblock backups only in groups 0, 1 and powers of 3, 5, 7. Linux: EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER
    public static let roCompatSparseSuper: UInt32 = 0x0001
    /// Regular files may pass 2 GiB (i_size_high). Linux: EXT2_FEATURE_RO_COMPAT_LARGE_FILE
    public static let roCompatLargeFile: UInt32 = 0x0002
    /// Defined but never used by Linux. Linux: EXT2_FEATURE_RO_COMPAT_BTREE_DIR
    public static let roCompatBtreeDir: UInt32 = 0x0004
    /// ro_compat features Keel can write under; others allow a read-only mount only.
    public static let roCompatSupported: UInt32 = roCompatSparseSuper | roCompatLargeFile | roCompatBtreeDir
}

/// The fields of the superblock Keel uses. Linux: struct ext2_super_block
public struct Ext2SuperBlock {
    /// Byte offset on the disk, and size. Linux: SB_OFFSET_BYTES / sizeof(struct ext2_super_block)
    public static let offset = 1024
    public static let size = 1024
    /// Linux: EXT2_SUPER_MAGIC
    public static let magicValue: UInt16 = 0xEF53
    /// s_state: unmounted cleanly. Linux: EXT2_VALID_FS
    public static let stateValid: UInt16 = 1
    /// s_state: errors were found. Linux: EXT2_ERROR_FS
    public static let stateError: UInt16 = 2

    public var inodesCount: UInt32          // s_inodes_count
    public var blocksCount: UInt32          // s_blocks_count
    public var reservedBlocksCount: UInt32  // s_r_blocks_count
    public var freeBlocksCount: UInt32      // s_free_blocks_count
    public var freeInodesCount: UInt32      // s_free_inodes_count
    public var firstDataBlock: UInt32       // s_first_data_block
    public var logBlockSize: UInt32         // s_log_block_size: block size is 1024 << this
    public var blocksPerGroup: UInt32       // s_blocks_per_group
    public var inodesPerGroup: UInt32       // s_inodes_per_group
    public var mountTime: UInt32            // s_mtime
    public var writeTime: UInt32            // s_wtime
    public var mountCount: UInt16           // s_mnt_count
    public var magic: UInt16                // s_magic
    public var state: UInt16                // s_state
    public var revLevel: UInt32             // s_rev_level: 0 (fixed inode size) or 1 (dynamic)
    public var firstIno: UInt32             // s_first_ino: first inode not reserved
    public var inodeSize: UInt16            // s_inode_size
    public var featureCompat: UInt32        // s_feature_compat
    public var featureIncompat: UInt32      // s_feature_incompat
    public var featureRoCompat: UInt32      // s_feature_ro_compat

    /// Decodes the superblock's 1024 bytes.
    public init(decoding bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.size)
        let b = LittleEndianBytes(bytes: bytes)
        inodesCount = b.u32(0)
        blocksCount = b.u32(4)
        reservedBlocksCount = b.u32(8)
        freeBlocksCount = b.u32(12)
        freeInodesCount = b.u32(16)
        firstDataBlock = b.u32(20)
        logBlockSize = b.u32(24)
        blocksPerGroup = b.u32(32)
        inodesPerGroup = b.u32(40)
        mountTime = b.u32(44)
        writeTime = b.u32(48)
        mountCount = b.u16(52)
        magic = b.u16(56)
        state = b.u16(58)
        revLevel = b.u32(76)
        if revLevel == 0 {
            // Revision 0 has fixed values for what revision 1 stores. Linux: EXT2_GOOD_OLD_*
            firstIno = 11
            inodeSize = 128
            featureCompat = 0
            featureIncompat = 0
            featureRoCompat = 0
        } else {
            firstIno = b.u32(84)
            inodeSize = b.u16(88)
            featureCompat = b.u32(92)
            featureIncompat = b.u32(96)
            featureRoCompat = b.u32(100)
        }
    }

    /// Writes the fields that change while mounted (free counts, times, mount
    /// count, state, ro_compat features) into the superblock's bytes.
    public func encode(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.size)
        let b = LittleEndianMutableBytes(bytes: bytes)
        b.setU32(12, freeBlocksCount)
        b.setU32(16, freeInodesCount)
        b.setU32(44, mountTime)
        b.setU32(48, writeTime)
        b.setU16(52, mountCount)
        b.setU16(58, state)
        if revLevel >= 1 { b.setU32(100, featureRoCompat) }
    }
}

/// One block group's descriptor. Linux: struct ext2_group_desc
public struct Ext2GroupDescriptor {
    public static let size = 32

    public var blockBitmap: UInt32      // bg_block_bitmap
    public var inodeBitmap: UInt32      // bg_inode_bitmap
    public var inodeTable: UInt32       // bg_inode_table
    public var freeBlocksCount: UInt16  // bg_free_blocks_count
    public var freeInodesCount: UInt16  // bg_free_inodes_count
    public var usedDirsCount: UInt16    // bg_used_dirs_count

    public init(decoding bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.size)
        let b = LittleEndianBytes(bytes: bytes)
        blockBitmap = b.u32(0)
        inodeBitmap = b.u32(4)
        inodeTable = b.u32(8)
        freeBlocksCount = b.u16(12)
        freeInodesCount = b.u16(14)
        usedDirsCount = b.u16(16)
    }

    public func encode(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.size)
        let b = LittleEndianMutableBytes(bytes: bytes)
        b.setU32(0, blockBitmap)
        b.setU32(4, inodeBitmap)
        b.setU32(8, inodeTable)
        b.setU16(12, freeBlocksCount)
        b.setU16(14, freeInodesCount)
        b.setU16(16, usedDirsCount)
    }
}

/// An inode as stored in the inode table (the first 128 bytes; a larger
/// inode's extra bytes are left as they are). Linux: struct ext2_inode
public struct Ext2Inode {
    /// Bytes of the structure Keel reads and writes. Linux: EXT2_GOOD_OLD_INODE_SIZE
    public static let size = 128
    /// Block pointers in i_block: 12 direct, then single, double, triple indirect.
    /// Linux: EXT2_N_BLOCKS, EXT2_NDIR_BLOCKS, EXT2_IND_BLOCK, EXT2_DIND_BLOCK, EXT2_TIND_BLOCK
    public static let blockPointers = 15
    public static let directBlocks = 12
    public static let indirectSlot = 12
    public static let doubleIndirectSlot = 13
    public static let tripleIndirectSlot = 14
    /// A directory indexed by a hash tree (whose blocks still read as a linear
    /// directory). Linux: EXT2_INDEX_FL
    public static let indexFlag: UInt32 = 0x1000

    public var mode: UInt16 = 0             // i_mode: FileType bits | permissions
    public var uid: UInt32 = 0              // i_uid | l_i_uid_high << 16
    public var size: UInt64 = 0             // i_size | i_size_high << 32 (regular files)
    public var accessTime: UInt32 = 0       // i_atime
    public var changeTime: UInt32 = 0       // i_ctime
    public var modifyTime: UInt32 = 0       // i_mtime
    public var deleteTime: UInt32 = 0       // i_dtime
    public var gid: UInt32 = 0              // i_gid | l_i_gid_high << 16
    public var linksCount: UInt16 = 0       // i_links_count
    /// Space used, in 512-byte sectors, indirect blocks included. Linux: i_blocks
    public var sectors: UInt32 = 0
    public var flags: UInt32 = 0            // i_flags
    /// i_block: block pointers, a fast symlink's text, or a device number.
    public var block = InlineArray<15, UInt32>(repeating: 0)
    public var generation: UInt32 = 0       // i_generation
    /// Extended-attribute block. Linux: i_file_acl
    public var fileACL: UInt32 = 0

    public init() {}

    public init(decoding bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count >= Self.size)
        let b = LittleEndianBytes(bytes: bytes)
        mode = b.u16(0)
        uid = UInt32(b.u16(2)) | UInt32(b.u16(120)) << 16
        size = UInt64(b.u32(4))
        accessTime = b.u32(8)
        changeTime = b.u32(12)
        modifyTime = b.u32(16)
        deleteTime = b.u32(20)
        gid = UInt32(b.u16(24)) | UInt32(b.u16(122)) << 16
        linksCount = b.u16(26)
        sectors = b.u32(28)
        flags = b.u32(32)
        for i in 0..<Self.blockPointers { block[i] = b.u32(40 + 4 * i) }
        generation = b.u32(100)
        fileACL = b.u32(104)
        if fileType == .regular { size |= UInt64(b.u32(108)) << 32 }
    }

    public func encode(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count >= Self.size)
        let b = LittleEndianMutableBytes(bytes: bytes)
        b.setU16(0, mode)
        b.setU16(2, UInt16(truncatingIfNeeded: uid))
        b.setU32(4, UInt32(truncatingIfNeeded: size))
        b.setU32(8, accessTime)
        b.setU32(12, changeTime)
        b.setU32(16, modifyTime)
        b.setU32(20, deleteTime)
        b.setU16(24, UInt16(truncatingIfNeeded: gid))
        b.setU16(26, linksCount)
        b.setU32(28, sectors)
        b.setU32(32, flags)
        for i in 0..<Self.blockPointers { b.setU32(40 + 4 * i, block[i]) }
        b.setU32(100, generation)
        b.setU32(104, fileACL)
        b.setU32(108, fileType == .regular ? UInt32(truncatingIfNeeded: size >> 32) : 0)
        b.setU16(120, UInt16(truncatingIfNeeded: uid >> 16))
        b.setU16(122, UInt16(truncatingIfNeeded: gid >> 16))
    }

    /// nil for a mode whose type bits name no file type (a corrupt inode).
    public var fileType: FileType? { FileType(mode: UInt32(mode)) }
    public var isDirectory: Bool { fileType == .directory }

    /// A device node's number, stored as Linux does: the old 8:8 encoding in
    /// i_block[0] when it fits, else the new encoding in i_block[1].
    /// Linux: old_decode_dev() / new_decode_dev() in ext2_iget()
    public var deviceNumber: DeviceNumber {
        get {
            if block[0] != 0 {
                return DeviceNumber(major: (block[0] >> 8) & 0xff, minor: block[0] & 0xff)
            }
            let dev = block[1]
            return DeviceNumber(major: (dev & 0xfff00) >> 8, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00))
        }
        set {
            if newValue.major < 256 && newValue.minor < 256 {
                block[0] = newValue.major << 8 | newValue.minor
                block[1] = 0
            } else {
                block[0] = 0
                block[1] = (newValue.minor & 0xff) | (newValue.major << 8) | ((newValue.minor & ~0xff) << 12)
            }
        }
    }
}

/// A directory entry's fixed header; the name follows it. Linux: struct ext2_dir_entry_2
public enum Ext2DirectoryEntry {
    /// inode (u32), rec_len (u16), name_len (u8), file_type (u8)
    public static let headerSize = 8
    /// Linux: EXT2_NAME_LEN
    public static let maxNameLength = 255

    /// The smallest record holding a name of `nameLength` bytes: header plus
    /// name, rounded up to 4. Linux: EXT2_DIR_REC_LEN()
    public static func recordLength(nameLength: Int) -> Int { (headerSize + nameLength + 3) & ~3 }

    /// file_type's code for a type. Linux: fs_umode_to_ftype() (EXT2_FT_*)
    public static func typeCode(_ type: FileType) -> UInt8 {
        switch type {
        case .regular: 1
        case .directory: 2
        case .characterDevice: 3
        case .blockDevice: 4
        case .fifo: 5
        case .socket: 6
        case .symlink: 7
        }
    }

    /// The type a file_type code stands for; nil for 0 (unknown) or a bad code.
    public static func fileType(code: UInt8) -> FileType? {
        switch code {
        case 1: .regular
        case 2: .directory
        case 3: .characterDevice
        case 4: .blockDevice
        case 5: .fifo
        case 6: .socket
        case 7: .symlink
        default: nil
        }
    }
}
