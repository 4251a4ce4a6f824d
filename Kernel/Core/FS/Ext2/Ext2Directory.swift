// Directories: a directory's data blocks are a list of variable-length
// records, each an inode number, its own length (rec_len), the name's length,
// the file type and the name. The records of a block exactly cover it: the
// last one's rec_len runs to the block's end. Rules Keel keeps and checks:
// rec_len is a multiple of 4, at least the header plus the name rounded up to
// 4, and never crosses the block's end; an inode number of 0 marks an unused
// record.
//
// Inserting looks for a record with room: an unused one that is big enough,
// or a used one whose rec_len is longer than its name needs; that one is
// split, its tail becoming the new record. If no block has room, the
// directory grows by one block holding the new record alone.
// Deleting folds the record into the one before it (the previous rec_len
// grows over it); the first record of a block cannot be folded away and is
// marked unused instead.
//
// A directory hashed by dir_index (EXT2_INDEX_FL) still reads as this linear
// list; Keel does not keep the hash tree, so it clears the flag when it
// changes such a directory, as a kernel without dir_index does.

/// One checked record of a directory block.
struct Ext2DirectoryRecord {
    /// Byte offset of the record in its block
    var offset: Int
    /// rec_len
    var length: Int
    /// 0: unused
    var ino: UInt32
    var nameLength: Int
    /// file_type (0 without the FILETYPE feature)
    var typeCode: UInt8

    /// The bytes this record needs; the rest of rec_len is free.
    var usedLength: Int { ino == 0 ? 0 : Ext2DirectoryEntry.recordLength(nameLength: nameLength) }
}

/// Where a name was found in a directory.
struct Ext2DirectorySlot {
    /// The directory block's physical number
    var block: UInt32
    var record: Ext2DirectoryRecord
    /// The record before it in the same block, nil for the block's first.
    var previous: Ext2DirectoryRecord?
}

extension Ext2FileSystem {
    /// Checks and returns the record at `offset` of a directory block and moves
    /// `offset` past it; nil at the block's end. Walk a block with
    /// `var offset = 0; while let record = try nextRecord(data, &offset, dir: dir)`.
    /// Linux: ext2_check_page()
    func nextRecord(_ data: UnsafeMutableRawBufferPointer, _ offset: inout Int, dir: UInt32) throws(Errno) -> Ext2DirectoryRecord? {
        guard offset < blockSize else { return nil }
        let bytes = LittleEndianBytes(bytes: UnsafeRawBufferPointer(data))
        guard blockSize - offset >= Ext2DirectoryEntry.headerSize else {
            throw corrupt("directory \(dir): record at \(offset) crosses the block end")
        }
        let length = Int(bytes.u16(offset + 4))
        let nameLength = hasFileType ? Int(bytes.u8(offset + 6)) : Int(bytes.u16(offset + 6))
        let ino = bytes.u32(offset)
        guard length >= Ext2DirectoryEntry.recordLength(nameLength: 1), length % 4 == 0 else {
            throw corrupt("directory \(dir): bad rec_len \(length) at offset \(offset)")
        }
        guard length >= Ext2DirectoryEntry.recordLength(nameLength: nameLength) else {
            throw corrupt("directory \(dir): rec_len \(length) too small for name_len \(nameLength) at offset \(offset)")
        }
        guard length <= blockSize - offset else {
            throw corrupt("directory \(dir): rec_len \(length) at offset \(offset) crosses the block end")
        }
        guard ino <= superBlock.inodesCount else {
            throw corrupt("directory \(dir): inode \(ino) out of bounds at offset \(offset)")
        }
        let record = Ext2DirectoryRecord(offset: offset, length: length, ino: ino, nameLength: nameLength,
                                         typeCode: hasFileType ? bytes.u8(offset + 7) : 0)
        offset += length
        return record
    }

    /// Whether `record` in `data` is named `name`.
    private func record(_ record: Ext2DirectoryRecord, in data: UnsafeMutableRawBufferPointer, isNamed name: String) -> Bool {
        guard record.ino != 0, record.nameLength == name.utf8.count else { return false }
        let start = record.offset + Ext2DirectoryEntry.headerSize
        return data[start..<start + record.nameLength].elementsEqual(name.utf8)
    }

    /// A directory inode, checked: EUCLEAN unless its size is whole blocks.
    func readDirectoryInode(_ dir: UInt32) throws(Errno) -> Ext2Inode {
        let inode = try readInode(dir)
        guard inode.isDirectory else { throw .ENOTDIR }
        guard inode.size % UInt64(blockSize) == 0 else {
            throw corrupt("directory \(dir): size \(inode.size) not a multiple of the block size")
        }
        return inode
    }

    /// The number of blocks of a directory, and the physical number of its block `index`.
    private func directoryBlock(_ inode: Ext2Inode, dir: UInt32, _ index: UInt64) throws(Errno) -> UInt32 {
        let block = try mapBlock(inode, ino: dir, index)
        guard block != 0 else { throw corrupt("directory \(dir): hole at block \(index)") }
        return block
    }

    /// Finds `name` in directory `dir`. Linux: ext2_find_entry()
    func findEntry(_ inode: Ext2Inode, dir: UInt32, _ name: String) throws(Errno) -> Ext2DirectorySlot? {
        let blocks = inode.size / UInt64(blockSize)
        var index: UInt64 = 0
        while index < blocks {
            let block = try directoryBlock(inode, dir: dir, index)
            let buffer = try cache.bread(device, UInt64(block))
            defer { cache.brelse(buffer) }
            var previous: Ext2DirectoryRecord?
            var offset = 0
            while let entry = try nextRecord(buffer.data, &offset, dir: dir) {
                if record(entry, in: buffer.data, isNamed: name) {
                    return Ext2DirectorySlot(block: block, record: entry, previous: previous)
                }
                previous = entry
            }
            index += 1
        }
        return nil
    }

    /// The inode `name` leads to in directory `dir`, nil if none ("." and ".."
    /// are found too). ENOTDIR if `dir` is not a directory. Linux: ext2_inode_by_name()
    public func lookup(_ dir: UInt32, _ name: String) throws(Errno) -> UInt32? {
        let inode = try readDirectoryInode(dir)
        guard let slot = try findEntry(inode, dir: dir, name) else { return nil }
        return slot.record.ino
    }

    /// The directory `dir` is in (its ".." entry).
    public func parent(of dir: UInt32) throws(Errno) -> UInt32 {
        guard let parent = try lookup(dir, "..") else { throw corrupt("directory \(dir): no \"..\" entry") }
        return parent
    }

    /// Every entry of directory `dir` except "." and ".." (the path walk and
    /// getdents64 add those), in on-disk order. Linux: ext2_readdir()
    public func readDirectory(_ dir: UInt32) throws(Errno) -> [DirectoryEntry] {
        var entries: [DirectoryEntry] = []
        try forEachName(of: try readDirectoryInode(dir), dir: dir) { (entry, name) throws(Errno) -> Bool in
            entries.append(DirectoryEntry(name: String(decoding: name, as: UTF8.self), ino: UInt64(entry.ino),
                                          type: try entryType(entry, dir: dir)))
            return true
        }
        return entries
    }

    /// Calls `body` with every entry in use but "." and "..", in on-disk
    /// order, until it returns false. Linux: the record loop of ext2_readdir()
    /// and ext2_empty_dir()
    private func forEachName(of inode: Ext2Inode, dir: UInt32,
                             _ body: (Ext2DirectoryRecord, UnsafeMutableRawBufferPointer.SubSequence) throws(Errno) -> Bool)
        throws(Errno) {
        let blocks = inode.size / UInt64(blockSize)
        var index: UInt64 = 0
        while index < blocks {
            let buffer = try cache.bread(device, UInt64(try directoryBlock(inode, dir: dir, index)))
            defer { cache.brelse(buffer) }
            var offset = 0
            while let entry = try nextRecord(buffer.data, &offset, dir: dir) {
                if entry.ino == 0 { continue }
                let start = entry.offset + Ext2DirectoryEntry.headerSize
                let name = buffer.data[start..<start + entry.nameLength]
                if name.elementsEqual(".".utf8) || name.elementsEqual("..".utf8) { continue }
                guard try body(entry, name) else { return }
            }
            index += 1
        }
    }

    /// An entry's file type: from the record, or from the inode without FILETYPE.
    private func entryType(_ entry: Ext2DirectoryRecord, dir: UInt32) throws(Errno) -> FileType {
        if hasFileType {
            guard let type = Ext2DirectoryEntry.fileType(code: entry.typeCode) else {
                throw corrupt("directory \(dir): bad file type \(entry.typeCode) for inode \(entry.ino)")
            }
            return type
        }
        guard let type = try readInode(entry.ino).fileType else { throw .EUCLEAN }
        return type
    }

    /// Writes a record's fields (and name) at `offset` of a directory block.
    private func putRecord(_ data: UnsafeMutableRawBufferPointer, at offset: Int, length: Int,
                           ino: UInt32, name: String, type: FileType) {
        let bytes = LittleEndianMutableBytes(bytes: data)
        bytes.setU32(offset, ino)
        bytes.setU16(offset + 4, UInt16(length))
        if hasFileType {
            bytes.setU8(offset + 6, UInt8(name.utf8.count))
            bytes.setU8(offset + 7, Ext2DirectoryEntry.typeCode(type))
        } else {
            bytes.setU16(offset + 6, UInt16(name.utf8.count))
        }
        var position = offset + Ext2DirectoryEntry.headerSize
        for byte in name.utf8 {
            data[position] = byte
            position += 1
        }
    }

    /// Adds the record `name` → `ino` to directory `dir` (the caller checked
    /// the name is not there), growing the directory by a block if no block
    /// has room, and updates the directory's times; the caller writes the
    /// directory's inode (this writes it only when growing fails part way).
    /// Linux: ext2_add_link()
    func addEntry(_ inode: inout Ext2Inode, dir: UInt32, _ name: String, ino: UInt32, type: FileType) throws(Errno) {
        let needed = Ext2DirectoryEntry.recordLength(nameLength: name.utf8.count)
        let blocks = inode.size / UInt64(blockSize)
        var index: UInt64 = 0
        var placed = false
        while index < blocks && !placed {
            let buffer = try cache.bread(device, UInt64(try directoryBlock(inode, dir: dir, index)))
            defer { cache.brelse(buffer) }
            var offset = 0
            while let entry = try nextRecord(buffer.data, &offset, dir: dir) {
                if entry.length - entry.usedLength < needed { continue }
                if entry.ino == 0 {
                    putRecord(buffer.data, at: entry.offset, length: entry.length, ino: ino, name: name, type: type)
                } else {
                    // Split: the record keeps what its name needs, the new one takes the rest.
                    LittleEndianMutableBytes(bytes: buffer.data).setU16(entry.offset + 4, UInt16(entry.usedLength))
                    putRecord(buffer.data, at: entry.offset + entry.usedLength, length: entry.length - entry.usedLength,
                              ino: ino, name: name, type: type)
                }
                cache.markDirty(buffer)
                placed = true
                break
            }
            index += 1
        }
        if !placed {
            let block: UInt32
            do throws(Errno) {
                (block, _) = try mapOrAllocateBlock(&inode, ino: dir, blocks)
            } catch {
                try writeInode(dir, inode)    // it may have got an indirect block before failing
                throw error
            }
            let buffer = try cache.getblk(device, UInt64(block))
            buffer.data.initializeMemory(as: UInt8.self, repeating: 0)
            putRecord(buffer.data, at: 0, length: blockSize, ino: ino, name: name, type: type)
            cache.markDirty(buffer)
            cache.brelse(buffer)
            inode.size += UInt64(blockSize)
        }
        touchDirectory(&inode)
    }

    /// Removes the record at `slot`, folding it into the record before it.
    /// Linux: ext2_delete_entry()
    func removeEntry(_ inode: inout Ext2Inode, at slot: Ext2DirectorySlot) throws(Errno) {
        let buffer = try cache.bread(device, UInt64(slot.block))
        defer { cache.brelse(buffer) }
        let bytes = LittleEndianMutableBytes(bytes: buffer.data)
        if let previous = slot.previous {
            bytes.setU16(previous.offset + 4, UInt16(previous.length + slot.record.length))
        } else {
            bytes.setU32(slot.record.offset, 0)
        }
        cache.markDirty(buffer)
        touchDirectory(&inode)
    }

    /// Points the record at `slot` to another inode (rename over an existing
    /// name, or a moved directory's ".."). Linux: ext2_set_link()
    func retargetEntry(_ inode: inout Ext2Inode, at slot: Ext2DirectorySlot, ino: UInt32, type: FileType) throws(Errno) {
        let buffer = try cache.bread(device, UInt64(slot.block))
        defer { cache.brelse(buffer) }
        let bytes = LittleEndianMutableBytes(bytes: buffer.data)
        bytes.setU32(slot.record.offset, ino)
        if hasFileType { bytes.setU8(slot.record.offset + 7, Ext2DirectoryEntry.typeCode(type)) }
        cache.markDirty(buffer)
        touchDirectory(&inode)
    }

    /// Whether directory `dir` holds nothing but "." and "..". Linux: ext2_empty_dir()
    func isEmptyDirectory(_ inode: Ext2Inode, dir: UInt32) throws(Errno) -> Bool {
        var empty = true
        try forEachName(of: inode, dir: dir) { (_, _) throws(Errno) -> Bool in
            empty = false
            return false
        }
        return empty
    }

    /// Writes a new directory's first block: "." → itself, ".." → its parent.
    /// Linux: ext2_make_empty()
    func makeEmptyDirectory(_ block: UInt32, dir: UInt32, parent: UInt32) throws(Errno) {
        let buffer = try cache.getblk(device, UInt64(block))
        defer { cache.brelse(buffer) }
        buffer.data.initializeMemory(as: UInt8.self, repeating: 0)
        let dotLength = Ext2DirectoryEntry.recordLength(nameLength: 1)
        putRecord(buffer.data, at: 0, length: dotLength, ino: dir, name: ".", type: .directory)
        putRecord(buffer.data, at: dotLength, length: blockSize - dotLength, ino: parent, name: "..", type: .directory)
        cache.markDirty(buffer)
    }

    /// A changed directory: new times, and no hash index any more.
    private func touchDirectory(_ inode: inout Ext2Inode) {
        inode.flags &= ~Ext2Inode.indexFlag
        inode.modifyTime = clock()
        inode.changeTime = inode.modifyTime
    }
}
