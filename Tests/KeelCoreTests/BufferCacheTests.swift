// The buffer cache: hits and misses, LRU eviction that spares held buffers,
// write-back of dirty buffers before eviction, and merged write-back.
import XCTest
@testable import KeelCore

/// Memory that says no after a number of allocations.
private final class LimitedMemory: BufferMemory {
    var remaining: Int
    init(allocations: Int) { remaining = allocations }
    func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        guard remaining > 0 else { return nil }
        remaining -= 1
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 512)
    }
    func free(_ memory: UnsafeMutableRawPointer, byteCount: Int) { memory.deallocate() }
}

final class BufferCacheTests: XCTestCase {
    private func fill(_ buffer: Buffer, _ value: UInt8) {
        buffer.data.initializeMemory(as: UInt8.self, repeating: value)
    }

    func testBreadReadsOnceThenHits() throws {
        let device = MemoryBlockDevice(sectors: 64)
        device.bytes[1024] = 0x5a
        let cache = BufferCache(blockSize: 1024, capacity: 8)
        let first = try cache.bread(device, 1)
        XCTAssertEqual(first.data[0], 0x5a)
        cache.brelse(first)
        let again = try cache.bread(device, 1)
        XCTAssertTrue(first === again)
        cache.brelse(again)
        XCTAssertEqual(device.readRequests, 1)
        XCTAssertEqual(cache.statistics.hits, 1)
        XCTAssertEqual(cache.statistics.misses, 1)
        XCTAssertEqual(cache.statistics.reads, 1)
    }

    func testDropCleanKeepsHeldAndDirtyBuffers() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let cache = BufferCache(blockSize: 1024, capacity: 8)
        for block in [1, 2] as [UInt64] { cache.brelse(try cache.bread(device, block)) }
        let held = try cache.bread(device, 3)
        let dirty = try cache.getblk(device, 4)
        fill(dirty, 9)
        cache.markDirty(dirty)
        cache.brelse(dirty)
        XCTAssertEqual(cache.dropClean(), 2)
        XCTAssertEqual(cache.count, 2)
        XCTAssertFalse(cache.isCached(device, 1))
        XCTAssertTrue(cache.isCached(device, 3))
        XCTAssertTrue(cache.isCached(device, 4))
        cache.brelse(held)
        // The dirty buffer still reaches the disk; once clean it can go too.
        try cache.writeDirtyBuffers(of: device)
        XCTAssertEqual(device.bytes[4 * 1024], 9)
        XCTAssertEqual(cache.dropClean(), 2)
        XCTAssertEqual(cache.count, 0)
        XCTAssertEqual(try cache.bread(device, 4).data[0], 9)
    }

    func testGetblkDoesNotRead() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let cache = BufferCache(blockSize: 1024, capacity: 8)
        let buffer = try cache.getblk(device, 3)
        XCTAssertFalse(buffer.isUptodate)
        fill(buffer, 7)
        cache.markDirty(buffer)
        cache.brelse(buffer)
        XCTAssertEqual(device.readRequests, 0)
        try cache.writeDirtyBuffers(of: device)
        XCTAssertEqual(device.bytes[3 * 1024 + 1023], 7)
    }

    func testMergesAdjacentDirtyBlocksIntoOneWrite() throws {
        let device = MemoryBlockDevice(sectors: 256)
        let cache = BufferCache(blockSize: 1024, capacity: 32)
        // Dirtied out of order: runs 5-7, 9-10 and the lone 20.
        for block in [7, 20, 5, 10, 6, 9] as [UInt64] {
            let buffer = try cache.getblk(device, block)
            fill(buffer, UInt8(block))
            cache.markDirty(buffer)
            cache.brelse(buffer)
        }
        try cache.writeDirtyBuffers(of: device)
        XCTAssertEqual(device.writeRequests.map { $0.sector }, [10, 18, 40])
        XCTAssertEqual(device.writeRequests.map { $0.count }, [3072, 2048, 1024])
        XCTAssertEqual(cache.statistics.writes, 3)
        XCTAssertEqual(cache.statistics.merged, 3)
        for block in [5, 6, 7, 9, 10, 20] { XCTAssertEqual(device.bytes[block * 1024 + 100], UInt8(block)) }
        // Nothing dirty is left: a second pass writes nothing.
        try cache.writeDirtyBuffers(of: device)
        XCTAssertEqual(device.writeRequests.count, 3)
    }

    func testMergedRunIsBoundedAt64KiB() throws {
        let device = MemoryBlockDevice(sectors: 1024)
        let cache = BufferCache(blockSize: 4096, capacity: 64)
        for block in 0..<40 as Range<UInt64> {
            let buffer = try cache.getblk(device, block)
            cache.markDirty(buffer)
            cache.brelse(buffer)
        }
        try cache.writeDirtyBuffers(of: device)
        XCTAssertEqual(device.writeRequests.map { $0.count }, [65536, 65536, 32768])
    }

    func testReadAheadReadsEachMissingRunInOneRequest() throws {
        let device = MemoryBlockDevice(sectors: 64)
        for block in 0..<32 { device.bytes[block * 1024] = UInt8(block) }
        let cache = BufferCache(blockSize: 1024, capacity: 32)
        cache.brelse(try cache.bread(device, 12))
        try cache.readAhead(device, 10, count: 8)       // 10-11 and 13-17: two requests
        XCTAssertEqual(device.readRequests, 3)
        XCTAssertEqual(cache.statistics.readAhead, 7)
        for block in 10..<18 as Range<UInt64> {
            let buffer = try cache.bread(device, block)
            XCTAssertEqual(buffer.data[0], UInt8(block))
            cache.brelse(buffer)
        }
        XCTAssertEqual(device.readRequests, 3, "every bread was a hit")
        try cache.readAhead(device, 30, count: 8)        // stops at the device's end
        XCTAssertEqual(device.readRequests, 3)
    }

    func testEvictsLeastRecentlyUsedButNeverHeld() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let cache = BufferCache(blockSize: 1024, capacity: 2)
        let held = try cache.bread(device, 1)           // held throughout, oldest
        cache.brelse(try cache.bread(device, 2))
        cache.brelse(try cache.bread(device, 3))        // evicts 2, not the held 1
        XCTAssertEqual(cache.count, 2)
        XCTAssertEqual(cache.statistics.evictions, 1)
        cache.brelse(try cache.bread(device, 1))
        XCTAssertEqual(cache.statistics.hits, 1)
        cache.brelse(try cache.bread(device, 2))        // a miss again
        XCTAssertEqual(cache.statistics.misses, 4)
        XCTAssertTrue(held.isUptodate)
        cache.brelse(held)
    }

    func testAllHeldGrowsPastCapacity() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let cache = BufferCache(blockSize: 1024, capacity: 1)
        let a = try cache.bread(device, 1)
        let b = try cache.bread(device, 2)
        XCTAssertEqual(cache.count, 2)
        cache.brelse(a)
        cache.brelse(b)
        cache.brelse(try cache.bread(device, 3))
        XCTAssertEqual(cache.count, 1)
    }

    func testDirtyVictimIsWrittenBeforeEviction() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let cache = BufferCache(blockSize: 1024, capacity: 2)
        for block in [4, 5] as [UInt64] {
            let buffer = try cache.getblk(device, block)
            fill(buffer, 0xee)
            cache.markDirty(buffer)
            cache.brelse(buffer)
        }
        cache.brelse(try cache.bread(device, 9))
        XCTAssertEqual(device.writeRequests.count, 1, "both dirty blocks go out in one merged write")
        XCTAssertEqual(device.bytes[4 * 1024], 0xee)
        XCTAssertEqual(device.bytes[5 * 1024 + 1023], 0xee)
    }

    func testFailedWriteKeepsBuffersDirty() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let cache = BufferCache(blockSize: 1024, capacity: 4)
        let buffer = try cache.getblk(device, 2)
        cache.markDirty(buffer)
        cache.brelse(buffer)
        device.failWrites = true
        XCTAssertThrowsError(try cache.writeDirtyBuffers(of: device)) { XCTAssertEqual($0 as? Errno, .EIO) }
        XCTAssertTrue(buffer.isDirty)
        device.failWrites = false
        try cache.writeDirtyBuffers(of: device)
        XCTAssertFalse(buffer.isDirty)
    }

    func testBlockPastTheEndIsEIOAndMemoryShortageIsENOMEM() throws {
        let device = MemoryBlockDevice(sectors: 8)      // 4 KiB: blocks 0-3 of 1 KiB
        let cache = BufferCache(blockSize: 1024, capacity: 4, memory: LimitedMemory(allocations: 1))
        XCTAssertThrowsError(try cache.bread(device, 4)) { XCTAssertEqual($0 as? Errno, .EIO) }
        XCTAssertThrowsError(try cache.bread(device, UInt64.max)) { XCTAssertEqual($0 as? Errno, .EIO) }
        cache.brelse(try cache.bread(device, 0))
        XCTAssertThrowsError(try cache.bread(device, 1)) { XCTAssertEqual($0 as? Errno, .ENOMEM) }
    }

    func testMergingFallsBackToSingleWritesWithoutBounceMemory() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let cache = BufferCache(blockSize: 1024, capacity: 4, memory: LimitedMemory(allocations: 2))
        for block in [1, 2] as [UInt64] {
            let buffer = try cache.getblk(device, block)
            cache.markDirty(buffer)
            cache.brelse(buffer)
        }
        try cache.writeDirtyBuffers(of: device)
        XCTAssertEqual(device.writeRequests.count, 2)
        XCTAssertEqual(cache.statistics.merged, 0)
    }

    func testInvalidateWritesAndDrops() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let cache = BufferCache(blockSize: 1024, capacity: 4)
        let buffer = try cache.getblk(device, 2)
        fill(buffer, 3)
        cache.markDirty(buffer)
        XCTAssertThrowsError(try cache.invalidate(device)) { XCTAssertEqual($0 as? Errno, .EBUSY) }
        cache.brelse(buffer)
        try cache.invalidate(device)
        XCTAssertEqual(cache.count, 0)
        XCTAssertEqual(device.bytes[2048], 3)
    }
}

/// Heap memory that keeps the dirty count the cache reports to it.
private final class CountingMemory: BufferMemory {
    var dirtyBytes = 0
    func allocate(byteCount: Int) -> UnsafeMutableRawPointer? {
        UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 512)
    }
    func free(_ memory: UnsafeMutableRawPointer, byteCount: Int) { memory.deallocate() }
    func accountDirty(_ delta: Int, byteCount: Int) { dirtyBytes += delta * byteCount }
}

final class BufferCacheDirtyAccountingTests: XCTestCase {
    /// Every buffer counts once while dirty (marking it twice does not count
    /// twice), and out when written, forgotten or dropped with the cache:
    /// what meminfo's Dirty adds for the buffer cache.
    func testDirtyBuffersAreCountedInAndOut() throws {
        let device = MemoryBlockDevice(sectors: 64)
        let memory = CountingMemory()
        var cache: BufferCache? = BufferCache(blockSize: 1024, capacity: 8, memory: memory)
        for block in [1, 2, 3] as [UInt64] {
            let buffer = try XCTUnwrap(cache).getblk(device, block)
            cache?.markDirty(buffer)
            cache?.markDirty(buffer)
            cache?.brelse(buffer)
        }
        XCTAssertEqual(memory.dirtyBytes, 3 * 1024)
        XCTAssertEqual(cache?.dirtyCount, 3)
        XCTAssertEqual(cache?.hasDirtyBuffers, true)
        cache?.forget(device, 2)
        XCTAssertEqual(memory.dirtyBytes, 2 * 1024)
        try cache?.writeDirtyBuffers(of: device)
        XCTAssertEqual(memory.dirtyBytes, 0)
        XCTAssertEqual(cache?.hasDirtyBuffers, false)
        let again = try XCTUnwrap(cache).getblk(device, 5)
        cache?.markDirty(again)
        cache?.brelse(again)
        XCTAssertEqual(memory.dirtyBytes, 1024)
        cache = nil
        XCTAssertEqual(memory.dirtyBytes, 0, "a cache dropped with a dirty buffer counts it out")
    }
}
