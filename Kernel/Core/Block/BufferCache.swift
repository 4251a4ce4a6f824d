// The buffer cache: file-system blocks kept in memory, keyed by (device, block
// number), so that a superblock, a bitmap or an inode-table block read once is
// not read again, and a block changed many times is written once.
//
// The life of a buffer (Linux's names, fs/buffer.c):
//   getblk   finds or makes the buffer of a block without reading it: for a
//            block the caller is about to overwrite completely;
//   bread    getblk, then reads the block from the device unless the buffer
//            already holds it ("uptodate");
//   brelse   lets go of it. Each getblk/bread takes a reference; a buffer with
//            references is never evicted, so its memory stays valid while held;
//   markDirty  says the memory is newer than the disk.
// Write-back (`writeDirtyBuffers`) sorts the dirty blocks of a device by number
// and writes each run of consecutive blocks as ONE device request, through one
// bounce buffer: the merging Linux's block layer does for adjacent requests
// (the elevator's back merges). `statistics.merged` counts blocks that rode
// along in another block's request. Reads merge the same way when asked in
// advance: `readAhead` reads each run of blocks not cached yet in one request.
//
// The cache holds at most `capacity` buffers. To make room it evicts the least
// recently used buffer nobody holds; if that one is dirty, the device's dirty
// buffers are written first (all of them: one merged pass is cheaper than many
// single writes). If every buffer is held the cache grows past its capacity;
// the callers hold a few buffers each, so that is bounded by them.
//
// Locking: none inside. The caller serializes every use of one cache (in the
// kernel, the lock of the ext2 mount that owns it), the way one thread at a
// time owns a Linux buffer_head through its lock_buffer() bit.

/// Where buffer memory comes from; nil tells the cache memory is short (ENOMEM).
/// Linux: the page allocator behind grow_buffers()
public protocol BufferMemory: AnyObject {
    /// `byteCount` bytes, aligned to 512, or nil.
    func allocate(byteCount: Int) -> UnsafeMutableRawPointer?
    /// Takes back memory `allocate` gave, with the same size.
    func free(_ memory: UnsafeMutableRawPointer, byteCount: Int)
    /// A buffer of `byteCount` bytes became dirty (`delta` 1) or clean (-1):
    /// the kernel counts it in /proc/meminfo's Dirty, as Linux counts a block
    /// device's dirty pages in NR_FILE_DIRTY. Linux: folio_account_dirtied(),
    /// folio_account_cleaned()
    func accountDirty(_ delta: Int, byteCount: Int)
}

extension BufferMemory {
    public func accountDirty(_ delta: Int, byteCount: Int) {}
}

/// Buffer memory from the Swift heap: malloc on the host. In the kernel a heap
/// allocation that fails traps, so the kernel passes memory that can say no.
public final class HeapBufferMemory: BufferMemory {
    public init() {}

    public func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 512)
    }

    public func free(_ memory: UnsafeMutableRawPointer, byteCount: Int) {
        memory.deallocate()
    }
}

/// One cached block. Linux: struct buffer_head
public final class Buffer {
    /// Linux: b_bdev
    public let device: any BlockDevice
    /// Linux: b_blocknr
    public let block: UInt64
    /// The block's bytes (the cache's block size). Valid while the buffer is held.
    /// Linux: b_data
    public let data: UnsafeMutableRawBufferPointer
    /// Holders. Linux: b_count
    public fileprivate(set) var referenceCount = 0
    /// `data` is newer than the disk. Linux: BH_Dirty
    public fileprivate(set) var isDirty = false
    /// `data` holds the block's contents: read from disk, or written in full by
    /// a caller of getblk (who sets this). Linux: BH_Uptodate
    public var isUptodate = false
    /// The LRU list, most recently used first.
    fileprivate var newer: Buffer?
    fileprivate var older: Buffer?

    fileprivate init(device: any BlockDevice, block: UInt64, data: UnsafeMutableRawBufferPointer) {
        self.device = device
        self.block = block
        self.data = data
    }
}

/// What /proc can show about a buffer cache.
public struct BufferCacheStatistics: Equatable {
    /// getblk/bread calls that found the block cached
    public var hits = 0
    /// getblk/bread calls that had to make a buffer
    public var misses = 0
    /// Device read requests (one block each from bread, a run from readAhead)
    public var reads = 0
    /// Device write requests (one per run of adjacent dirty blocks)
    public var writes = 0
    /// Blocks written inside another block's request. Linux: diskstats "writes merged"
    public var merged = 0
    /// Buffers dropped to make room
    public var evictions = 0
    /// Blocks brought in by `readAhead` in multi-block requests
    public var readAhead = 0

    public init() {}
}

/// The key of a buffer: which device, which block.
private struct BufferKey: Hashable {
    let device: ObjectIdentifier
    let block: UInt64
}

/// Linux: the buffer cache of fs/buffer.c (one block size, as one bdev's mapping)
public final class BufferCache {
    /// Bytes per block: a multiple of 512.
    public let blockSize: Int
    /// How many buffers the cache keeps before it evicts.
    public let capacity: Int
    /// Most blocks one merged write may carry (64 KiB worth).
    public let maxMergedBlocks: Int
    public private(set) var statistics = BufferCacheStatistics()

    private let memory: any BufferMemory
    private var buffers = HashMap<BufferKey, Buffer>()
    private var newest: Buffer?
    private var oldest: Buffer?
    /// Where a merged run is assembled; made at the first merge, nil if memory said no.
    private var bounce: UnsafeMutableRawPointer?

    public init(blockSize: Int, capacity: Int, memory: any BufferMemory = HeapBufferMemory()) {
        precondition(blockSize >= 512 && blockSize % 512 == 0 && capacity > 0)
        self.blockSize = blockSize
        self.capacity = capacity
        self.memory = memory
        maxMergedBlocks = Swift.max(1, 65536 / blockSize)
    }

    deinit {
        for buffer in buffers.values {
            buffer.newer = nil
            buffer.older = nil
            setDirty(buffer, false)
            if let base = buffer.data.baseAddress { memory.free(base, byteCount: blockSize) }
        }
        if let bounce { memory.free(bounce, byteCount: maxMergedBlocks * blockSize) }
    }

    /// Buffers now cached.
    public var count: Int { buffers.count }
    /// Buffers newer than the disk.
    public private(set) var dirtyCount = 0

    /// The buffer of `block`, held, without reading it: its data is stale unless
    /// `isUptodate`. ENOMEM if memory is short, EIO if the block is past the
    /// device's end. Linux: __getblk()
    public func getblk(_ device: any BlockDevice, _ block: UInt64) throws(Errno) -> Buffer {
        let key = BufferKey(device: identity(device), block: block)
        if let buffer = buffers[key] {
            statistics.hits += 1
            buffer.referenceCount += 1
            moveToFront(buffer)
            return buffer
        }
        statistics.misses += 1
        guard isOnDevice(block, count: 1, device) else { throw .EIO }
        try makeRoom()
        guard let base = memory.allocate(byteCount: blockSize) else { throw .ENOMEM }
        let buffer = Buffer(device: device, block: block,
                            data: UnsafeMutableRawBufferPointer(start: base, count: blockSize))
        buffer.referenceCount = 1
        buffers[key] = buffer
        linkAtFront(buffer)
        return buffer
    }

    /// The buffer of `block`, held, with the block's contents (read now if not
    /// cached). Linux: __bread()
    public func bread(_ device: any BlockDevice, _ block: UInt64) throws(Errno) -> Buffer {
        let buffer = try getblk(device, block)
        if buffer.isUptodate { return buffer }
        do {
            statistics.reads += 1
            try device.read(sector: try firstSector(of: block, count: 1, on: device), into: buffer.data)
        } catch {
            brelse(buffer)
            throw error
        }
        buffer.isUptodate = true
        return buffer
    }

    /// Whether the cache holds `block`'s contents (a bread would not read).
    public func isCached(_ device: any BlockDevice, _ block: UInt64) -> Bool {
        buffers[BufferKey(device: identity(device), block: block)]?.isUptodate ?? false
    }

    /// Brings blocks `block..<block + count` into the cache ahead of the
    /// breads that will want them: each run of blocks not cached yet is read
    /// with ONE device request (up to `maxMergedBlocks`), through the bounce
    /// buffer, into new unheld buffers. Blocks already cached are left alone.
    /// A hint: memory shortage just stops it; a device error is thrown.
    /// Linux: breadahead() (several blocks per bio, as the readahead window does)
    public func readAhead(_ device: any BlockDevice, _ block: UInt64, count: Int) throws(Errno) {
        let count = Swift.min(count, maxMergedBlocks, Swift.max(1, capacity / 2))
        var start = 0
        while start < count {
            if buffers[BufferKey(device: identity(device), block: block + UInt64(start))] != nil {
                start += 1
                continue
            }
            var end = start + 1
            while end < count, buffers[BufferKey(device: identity(device), block: block + UInt64(end))] == nil { end += 1 }
            guard isOnDevice(block + UInt64(start), count: end - start, device) else { return }
            if end - start == 1 {
                // A lone block needs no bounce buffer.
                let buffer = try bread(device, block + UInt64(start))
                brelse(buffer)
                start = end
                continue
            }
            guard let bounce = bounceBuffer() else { return }
            // Room first: making room may write dirty buffers through the bounce buffer.
            try makeRoom(for: end - start)
            statistics.reads += 1
            try device.read(sector: try firstSector(of: block + UInt64(start), count: end - start, on: device),
                            into: UnsafeMutableRawBufferPointer(start: bounce, count: (end - start) * blockSize))
            for index in start..<end {
                guard let base = memory.allocate(byteCount: blockSize) else { return }
                let buffer = Buffer(device: device, block: block + UInt64(index),
                                    data: UnsafeMutableRawBufferPointer(start: base, count: blockSize))
                buffer.data.copyMemory(from: UnsafeRawBufferPointer(start: bounce + (index - start) * blockSize, count: blockSize))
                buffer.isUptodate = true
                buffers[BufferKey(device: identity(device), block: buffer.block)] = buffer
                linkAtFront(buffer)
                statistics.readAhead += 1
            }
            start = end
        }
    }

    /// Lets go of a buffer from getblk/bread. Linux: brelse()
    public func brelse(_ buffer: Buffer) {
        precondition(buffer.referenceCount > 0, "brelse of a buffer nobody holds")
        buffer.referenceCount -= 1
    }

    /// The held buffer's data is newer than the disk; it is also uptodate now.
    /// Linux: mark_buffer_dirty()
    public func markDirty(_ buffer: Buffer) {
        setDirty(buffer, true)
        buffer.isUptodate = true
    }

    /// Some buffer is newer than the disk (what the flusher looks for).
    public var hasDirtyBuffers: Bool { dirtyCount > 0 }

    /// A freed block's buffer: its data need not reach the disk any more.
    /// Linux: bforget()
    public func forget(_ device: any BlockDevice, _ block: UInt64) {
        if let buffer = buffers[BufferKey(device: identity(device), block: block)] {
            setDirty(buffer, false)
        }
    }

    /// Writes every dirty buffer of `device`, a run of consecutive blocks per
    /// request. A failed request leaves its buffers dirty and throws.
    /// Linux: sync_dirty_buffers / sync_blockdev()
    public func writeDirtyBuffers(of device: any BlockDevice) throws(Errno) {
        let id = identity(device)
        var dirty: [Buffer] = []
        for buffer in buffers.values where buffer.isDirty && identity(buffer.device) == id {
            dirty.append(buffer)
        }
        dirty.sort { $0.block < $1.block }
        var start = 0
        while start < dirty.count {
            var end = start + 1
            while end < dirty.count, end - start < maxMergedBlocks,
                  dirty[end].block == dirty[end - 1].block + 1 { end += 1 }
            try writeRun(dirty[start..<end], to: device)
            start = end
        }
    }

    /// Writes back and drops every buffer of `device` (at unmount). EBUSY if one
    /// is still held. Linux: sync_blockdev() then invalidate_bdev()
    public func invalidate(_ device: any BlockDevice) throws(Errno) {
        try writeDirtyBuffers(of: device)
        let id = identity(device)
        for buffer in buffers.values where identity(buffer.device) == id {
            if buffer.referenceCount > 0 { throw .EBUSY }
        }
        for buffer in buffers.values where identity(buffer.device) == id { drop(buffer) }
    }

    /// Drops every buffer that is neither held nor dirty, of every device;
    /// returns how many. Linux: invalidate_mapping_pages() on a block
    /// device's mapping, as drop_caches 1 does (dirty and locked pages stay)
    @discardableResult
    public func dropClean() -> Int {
        var dropped = 0
        var node = oldest
        while let buffer = node {
            node = buffer.newer
            if buffer.referenceCount == 0 && !buffer.isDirty {
                drop(buffer)
                dropped += 1
            }
        }
        return dropped
    }

    // MARK: - Internals

    /// Which device: the driver object's identity.
    private func identity(_ device: any BlockDevice) -> ObjectIdentifier {
        ObjectIdentifier(device as AnyObject)
    }

    /// Whether `count` blocks from `block` lie on the device.
    private func isOnDevice(_ block: UInt64, count: Int, _ device: any BlockDevice) -> Bool {
        let perBlock = UInt64(blockSize / 512)
        let (sector, overflow) = block.multipliedReportingOverflow(by: perBlock)
        let length = UInt64(count) * perBlock
        return !overflow && sector <= device.sectorCount && length <= device.sectorCount - sector
    }

    /// The sector where `count` blocks from `block` start; EIO past the device's end.
    private func firstSector(of block: UInt64, count: Int, on device: any BlockDevice) throws(Errno) -> UInt64 {
        guard isOnDevice(block, count: count, device) else { throw .EIO }
        return block * UInt64(blockSize / 512)
    }

    /// One device write for a run of consecutive dirty blocks.
    private func writeRun(_ run: ArraySlice<Buffer>, to device: any BlockDevice) throws(Errno) {
        guard run.count > 1, let bounce = bounceBuffer() else {
            // One block, or no memory to merge in: a request per block.
            for buffer in run {
                try device.write(sector: try firstSector(of: buffer.block, count: 1, on: device),
                                 from: UnsafeRawBufferPointer(buffer.data))
                statistics.writes += 1
                setDirty(buffer, false)
            }
            return
        }
        let sector = try firstSector(of: run[run.startIndex].block, count: run.count, on: device)
        var offset = 0
        for buffer in run {
            UnsafeMutableRawBufferPointer(start: bounce + offset, count: blockSize).copyMemory(from: UnsafeRawBufferPointer(buffer.data))
            offset += blockSize
        }
        try device.write(sector: sector, from: UnsafeRawBufferPointer(start: bounce, count: offset))
        statistics.writes += 1
        statistics.merged += run.count - 1
        for buffer in run { setDirty(buffer, false) }
    }

    /// Every change of a buffer's dirtiness, counted here and by the memory.
    private func setDirty(_ buffer: Buffer, _ dirty: Bool) {
        guard buffer.isDirty != dirty else { return }
        buffer.isDirty = dirty
        dirtyCount += dirty ? 1 : -1
        memory.accountDirty(dirty ? 1 : -1, byteCount: blockSize)
    }

    private func bounceBuffer() -> UnsafeMutableRawPointer? {
        if bounce == nil { bounce = memory.allocate(byteCount: maxMergedBlocks * blockSize) }
        return bounce
    }

    /// Evicts unheld buffers, least recently used first, until there is room
    /// for `count` more (or every buffer left is held).
    private func makeRoom(for count: Int = 1) throws(Errno) {
        while buffers.count + count > capacity {
            var victim = oldest
            while let candidate = victim, candidate.referenceCount > 0 { victim = candidate.newer }
            guard let victim else { return }
            if victim.isDirty { try writeDirtyBuffers(of: victim.device) }
            drop(victim)
            statistics.evictions += 1
        }
    }

    private func drop(_ buffer: Buffer) {
        setDirty(buffer, false)
        unlink(buffer)
        buffers[BufferKey(device: identity(buffer.device), block: buffer.block)] = nil
        if let base = buffer.data.baseAddress { memory.free(base, byteCount: blockSize) }
    }

    private func linkAtFront(_ buffer: Buffer) {
        buffer.older = newest
        buffer.newer = nil
        newest?.newer = buffer
        newest = buffer
        if oldest == nil { oldest = buffer }
    }

    private func unlink(_ buffer: Buffer) {
        if let newer = buffer.newer { newer.older = buffer.older } else { newest = buffer.older }
        if let older = buffer.older { older.newer = buffer.newer } else { oldest = buffer.newer }
        buffer.newer = nil
        buffer.older = nil
    }

    private func moveToFront(_ buffer: Buffer) {
        guard newest !== buffer else { return }
        unlink(buffer)
        linkAtFront(buffer)
    }
}
