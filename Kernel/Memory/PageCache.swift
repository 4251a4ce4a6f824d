// The page cache: every regular file's bytes live in pages of memory indexed
// by their place in the file, one `AddressSpace` per file (Linux: struct
// address_space, the inode's i_mapping). read() and write() copy between
// these pages and the user; a page fault maps the very same page into the
// process (PageFault.swift), so a store through a MAP_SHARED mapping is what
// the next read() returns and a write() is what every mapping sees, at once.
// A MAP_PRIVATE mapping maps the page read-only and copies it on the first
// write. The file system only moves whole pages between the cache and its
// storage (AddressSpaceOperations: read a page, write a page, find room for
// bytes about to be written); write-back (Writeback.swift) decides when.
//
// tmpfs files, shared anonymous memory and memfds are "shmem": their pages
// are the only copy, so they are never written back or dropped, and each one
// is charged to the tmpfs's size.
//
// Page lifetime. A frame's mapcount (MapCount.swift) is its reference count
// here, as for anonymous memory: the cache holds one reference while the page
// is in it (so `MapCount.mappers` subtracts it), each PTE holds one, and a
// reader or writer copying to or from the page holds one for the copy (Linux:
// folio_get/folio_put). Whoever drops the last frees the frame, so a page
// truncated away while a read copies from it lives until the copy is done.
//
// Locks, outermost first:
//   `writeLock`  i_rwsem, sleeping: writers, truncate and write-back of this
//                file, across their user copies and storage calls.
//   mmap_lock    of each mm that maps the file (truncate takes it for writing
//                to unmap; write-back for reading to write-protect). A fault
//                holds it and reads pages, never i_rwsem.
//   the file system's own lock (ext2's), for storage calls.
//   `lock`       the i_pages spinlock: the index, the dirty and writeback
//                flags of pages in it, the dirty count, read-ahead state.
//                Nothing sleeps under it; a fault installs a PTE under it
//                (then the mm's page_table_lock) so truncate cannot slip
//                between "still in the file" and "mapped".
//   `mapperLock` i_mmap: which mms map the file.
// Linux: mm/filemap.c (filemap_read, filemap_fault, generic_perform_write,
// filemap_get_folio, __filemap_add_folio), mm/truncate.c, mm/readahead.c

import Synchronization

/// What a file system does for the page cache of one file.
/// Linux: struct address_space_operations plus the size part of inode_operations.setattr
protocol AddressSpaceOperations: AnyObject {
    /// The pages are the only copy of the bytes (tmpfs and friends): never
    /// written back, never dropped, each charged to the file system. Linux: shmem_aops
    var isShmem: Bool { get }
    /// The file system the file is on (its super block's operations), for
    /// syncfs. Linux: inode->i_sb
    var fileSystem: AnyObject { get }
    /// The largest file. Linux: sb->s_maxbytes
    var maxSize: Int { get }
    /// Bytes of storage the file holds, for st_blocks (shmem: the pages). Linux: i_blocks << 9
    var allocatedBytes: Int { get }
    /// Fills `page` with the file's bytes of page `index`; holes read as
    /// zeros, and so does whatever lies past the end. Linux: read_folio()
    func readPage(_ index: UInt64, into page: UnsafeMutableRawBufferPointer) throws(Errno)
    /// Writes `bytes`, the start of page `index` up to the end of the file,
    /// to storage. Linux: writepage()
    func writePage(_ index: UInt64, from bytes: UnsafeRawBufferPointer) throws(Errno)
    /// Finds room for bytes `offset..<offset+count` (which lie in one page)
    /// before they are dirtied in the cache, so that writing them back cannot
    /// fail for space, and makes the file in storage at least as long as the
    /// bytes that got room; returns how many bytes from `offset` have room
    /// (short when the disk filled, ENOSPC when none). The cache's own size
    /// (what stat and read see) moves only once the bytes are copied in.
    /// Linux: write_begin() / page_mkwrite() → get_block(create), and write_end()'s i_size update
    func reserve(at offset: Int, count: Int) throws(Errno) -> Int
    /// Sets the size in storage (truncate, or giving back room a write
    /// reserved and did not use), freeing what lies past it. Linux: ext2_setsize()
    func setStorageSize(_ size: Int) throws(Errno)
    /// Makes the file's metadata and its file system's buffers durable (the
    /// cache's dirty pages were written just before). Linux: the metadata part of fsync
    func syncStorage() throws(Errno)
    /// Charges one new page of a shmem file to its file system; false when full.
    /// Linux: shmem_inode_acct_blocks()
    func chargePage() -> Bool
    /// Linux: shmem_inode_unacct_blocks()
    func unchargePages(_ count: Int)
}

/// One file's page cache. It is the file's contents as the VFS sees them:
/// OpenFile, execve and the page-fault handler all read and write through it.
/// Linux: struct address_space (i_pages, nrpages, i_mmap, a_ops, wb_err)
final class AddressSpace: FileContents, @unchecked Sendable {   // fields under the locks named
    let operations: any AddressSpaceOperations
    let isShmem: Bool
    /// The tag every page of this space carries in its descriptor (`Page.mapping`).
    let id: UInt32
    /// Protected by `lock`. Linux: i_pages
    private var pages = PageIndex()
    /// Pages with `.dirty`. Protected by `lock`. Linux: the PAGECACHE_TAG_DIRTY count
    private(set) var dirtyCount = 0
    /// When the first page of the current dirty run was dirtied (monotonic ns);
    /// the flusher writes the file once this is older than dirty_expire.
    /// Protected by `lock`. Linux: inode->dirtied_when
    private(set) var dirtiedWhen: UInt64 = 0
    /// A write-back failure not yet reported by fsync. Protected by `lock`.
    /// Linux: mapping->wb_err (AS_EIO, AS_ENOSPC)
    private var writebackError: Errno? = nil
    /// The page after the last one read, and how many pages the next read
    /// ahead brings. Protected by `lock`. Linux: struct file_ra_state
    private var readaheadNext: UInt64 = 0
    private var readaheadWindow = 0
    /// memfd seals (Shmem.swift's `Seal`): every file starts sealed against
    /// sealing; memfd_create(MFD_ALLOW_SEALING) clears it. Changed under
    /// `writeLock`, read without a lock. Linux: shmem_inode_info.seals
    let seals = Atomic<UInt32>(Seal.seal)
    /// i_size: written under `writeLock` (or by the file system's lock for
    /// ext2's attribute refresh), read without a lock.
    private let length = Atomic<Int>(0)
    private let lock = SpinLock(AddressSpace.lockClass, disablesInterrupts: false)
    private static let lockClass = LockClass("&mapping->i_pages")
    /// Linux: inode->i_rwsem
    private let writeLock = SleepLock(AddressSpace.writeLockClass)
    private static let writeLockClass = LockClass("&inode->i_rwsem", sleeping: true)
    /// The address spaces (mm) mapping this file and the ID each maps it by.
    /// Protected by `mapperLock`. Linux: i_mmap (an interval tree of VMAs)
    private var mappers: [(mm: MM, file: MappedFileID)] = []
    private let mapperLock = SpinLock(AddressSpace.mapperLockClass, disablesInterrupts: false)
    private static let mapperLockClass = LockClass("&mapping->i_mmap_rwsem")

    /// Most pages one read ahead brings in (128 KiB). Linux: VM_READAHEAD_PAGES
    static let maxReadahead = 32

    init(_ operations: any AddressSpaceOperations, size: Int = 0) {
        self.operations = operations
        isShmem = operations.isShmem
        id = PageCache.newID()
        length.store(size, ordering: .relaxed)
    }

    /// The last reference to the file (its last name, open file or mapping)
    /// is gone: the pages go with it. Dirty pages of a file with names left
    /// never get here (PageCache's dirty list holds the space).
    /// Linux: truncate_inode_pages_final() in evict()
    deinit {
        lock.withLock { removePagesLocked(from: 0) }
    }

    // MARK: - FileContents

    var size: Int { length.load(ordering: .relaxed) }
    var allocatedBytes: Int { isShmem ? lock.withLock { pages.count } * Int(pageSize) : operations.allocatedBytes }

    /// The size of a new file nobody else can reach yet, without i_rwsem
    /// (Shmem.file: mmap holds mmap_lock, which comes after it).
    /// Linux: i_size_write() in shmem_file_setup()
    func setSize(_ size: Int) { length.store(size, ordering: .relaxed) }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        return try read(count: buffer.count, at: offset) { (source, count, done) throws(Errno) -> Int in
            (base + done).copyMemory(from: source, byteCount: count)
            return count
        }
    }

    /// read() to a user buffer: from each page straight to the user, with a
    /// reference on the page for the copy and no lock held (the copy may fault).
    /// Linux: filemap_read() → copy_folio_to_iter()
    func read(to buffer: inout UserIOVector, at offset: Int) throws(Errno) -> Int {
        try read(count: buffer.remaining, at: offset) { (source, count, _) throws(Errno) -> Int in
            try buffer.copyOut(UnsafeRawBufferPointer(start: source, count: count))
        }
    }

    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        return try write(count: buffer.count, at: offset) { (target, count, done) throws(Errno) -> Int in
            target.copyMemory(from: base + done, byteCount: count)
            return count
        }
    }

    /// write() from a user buffer, straight into each page. The caller holds
    /// `writeLock`. Linux: generic_perform_write() → copy_folio_from_iter_atomic()
    func write(from buffer: inout UserIOVector, at offset: Int) throws(Errno) -> Int {
        try write(count: buffer.remaining, at: offset) { (target, count, _) throws(Errno) -> Int in
            try buffer.copyIn(UnsafeMutableRawBufferPointer(start: target, count: count))
        }
    }

    /// Linux: the truncate path of setattr: truncate_setsize() (unmap_mapping_range
    /// + truncate_inode_pages) and the file system's freeing of storage.
    /// The caller holds `writeLock`.
    func truncate(to newSize: Int) throws(Errno) {
        guard newSize >= 0 else { throw .EINVAL }
        guard newSize <= operations.maxSize else { throw .EFBIG }
        let oldSize = size
        let sealed = seals.load(ordering: .relaxed)
        if (newSize < oldSize && sealed & Seal.shrink != 0) || (newSize > oldSize && sealed & Seal.grow != 0) {
            throw .EPERM
        }
        if newSize < oldSize {
            // First the pages go from the cache (under `lock`, with the size,
            // so a fault either mapped its page before, and is unmapped below,
            // or finds the page gone and the size small: SIGBUS), then from
            // every process. Linux: truncate_pagecache()
            let firstGone = (UInt64(newSize) + pageSize - 1) / pageSize
            lock.withLock {
                length.store(newSize, ordering: .relaxed)
                removePagesLocked(from: firstGone)
                // The part of the last page past the new end reads as zeros if the file grows again.
                let within = newSize % Int(pageSize)
                if within != 0, let frame = pages[UInt64(newSize) / pageSize] {
                    DirectMap.pointer(frame + UInt64(within), as: UInt8.self).initialize(repeating: 0,
                                                                                         count: Int(pageSize) - within)
                }
            }
            unmapMappings(from: firstGone)
        }
        try operations.setStorageSize(newSize)
        length.store(newSize, ordering: .relaxed)
    }

    /// fallocate(mode 0): storage for the range now, so later writes and
    /// stores cannot fail for space (shmem: its pages). Linux: shmem_fallocate(),
    /// and glibc's fallback of writing zeros for ext2
    func allocate(offset: Int, length requested: Int) throws(Errno) {
        guard offset >= 0, requested > 0 else { throw .EINVAL }
        guard requested <= operations.maxSize - offset else { throw .EFBIG }
        let end = offset + requested
        if end > size && seals.load(ordering: .relaxed) & Seal.grow != 0 { throw .EPERM }
        var position = offset
        while position < end {
            let index = UInt64(position) / pageSize, within = position % Int(pageSize)
            let count = min(end - position, Int(pageSize) - within)
            if isShmem {
                let (frame, _) = try getPage(index, reading: false)
                putPage(frame)
            } else {
                guard try operations.reserve(at: position, count: count) == count else { throw .ENOSPC }
            }
            position += count
        }
        if end > size { length.store(end, ordering: .relaxed) }
    }

    func lockForWriting() { writeLock.lock() }
    func unlockForWriting() { writeLock.unlock() }

    /// Writes every dirty page back, taking `writeLock` (the flusher, sync,
    /// syncfs, umount). Linux: filemap_fdatawrite()
    func fdatawrite() {
        writeLock.lock()
        writeback()
        writeLock.unlock()
    }

    /// fsync(): the dirty pages to storage, then the metadata; a write-back
    /// error since the last fsync is reported once. Linux: file_write_and_wait_range()
    /// + the file system's fsync + file_check_and_advance_wb_err()
    func sync() throws(Errno) { try sync(0...UInt64.max) }

    /// fsync of the pages in `range` (msync's MS_SYNC). Linux: vfs_fsync_range()
    func sync(_ range: ClosedRange<UInt64>) throws(Errno) {
        writeLock.lock()
        writeback(range)
        writeLock.unlock()
        try operations.syncStorage()
        if let error = lock.withLock({ () -> Errno? in
            let error = writebackError
            writebackError = nil
            return error
        }) { throw error }
    }

    // MARK: - The copy loops

    /// Copies `count` bytes from `offset` on out of the cache, page by page,
    /// through `copy(source, count, done)` (which returns how many it moved:
    /// fewer ends the read). Stops at the end of the file, at a signal after
    /// some bytes, and gives the CPU away between pages.
    private func read(count: Int, at offset: Int,
                      _ copy: (UnsafeRawPointer, Int, Int) throws(Errno) -> Int) throws(Errno) -> Int {
        guard offset >= 0 else { return 0 }
        var done = 0
        while done < count {
            if done > 0 && Signals.interrupted(Scheduler.current) { break }
            let position = offset + done
            let fileSize = size
            guard position < fileSize else { break }
            let index = UInt64(position) / pageSize, within = position % Int(pageSize)
            let frame: PhysAddr
            do throws(Errno) {
                // A hole in a shmem file reads as the zero page: reading does
                // not fill tmpfs. Linux: shmem_file_read_iter() with ZERO_PAGE
                if isShmem {
                    frame = findPage(index) ?? ZeroPage.frame
                } else {
                    frame = try getPage(index, reading: true).frame
                    // Once per page a reader passes through (reading from its
                    // start), not once per small read() inside it.
                    // Linux: folio_mark_accessed() in filemap_read(), after its prev_pos check
                    if within == 0 { LRU.markAccessed(frame) }
                }
            } catch {
                if done == 0 { throw error }
                break
            }
            // The size again: a truncate may have cut the page short meanwhile.
            let piece = min(count - done, Int(pageSize) - within, max(0, size - position))
            var moved = 0
            var failure: Errno? = nil
            do throws(Errno) {
                moved = try copy(UnsafeRawPointer(DirectMap.pointer(frame + UInt64(within), as: UInt8.self)), piece, done)
            } catch {
                failure = error
            }
            if frame != ZeroPage.frame { putPage(frame) }
            if let failure { if done == 0 { throw failure }; break }
            done += moved
            if moved < piece || piece == 0 { break }
            Scheduler.condResched()
        }
        return done
    }

    /// Copies `count` bytes into the cache from `offset` on, page by page:
    /// room first (`reserve`), then the page (read from storage if the write
    /// covers only part of it), then `copy(target, count, done)`, then the
    /// page is dirty. A full disk or memory after some bytes is a short
    /// count; so is a user copy that faults. A write past the end records
    /// the new size once, at the end. The caller holds `writeLock`.
    private func write(count requested: Int, at offset: Int,
                       _ copy: (UnsafeMutableRawPointer, Int, Int) throws(Errno) -> Int) throws(Errno) -> Int {
        guard requested > 0 else { return 0 }
        guard offset >= 0, offset < operations.maxSize else { throw .EFBIG }
        let sealed = seals.load(ordering: .relaxed)
        guard sealed & Seal.writes == 0 else { throw .EPERM }
        let count = min(requested, operations.maxSize - offset)
        let oldSize = size
        var done = 0
        var reservedEnd = offset
        var failure: Errno? = nil
        while done < count {
            if done > 0 && Signals.interrupted(Scheduler.current) { break }
            let position = offset + done
            let index = UInt64(position) / pageSize, within = position % Int(pageSize)
            let piece = min(count - done, Int(pageSize) - within)
            var moved = 0
            // Each page's piece must stay inside a file sealed against growth:
            // EPERM for the piece that would not. Linux: shmem_write_begin()
            if sealed & Seal.grow != 0 && position + piece > size {
                failure = .EPERM
                break
            }
            do throws(Errno) {
                let room = isShmem ? piece : try operations.reserve(at: position, count: piece)
                reservedEnd = position + room
                // A page the write covers whole, or that lies wholly past the
                // old end, need not be read first.
                let unread = (within == 0 && piece == Int(pageSize)) || UInt64(oldSize) <= index * pageSize
                let (frame, _) = try getPage(index, reading: !unread)
                do throws(Errno) {
                    moved = try copy(UnsafeMutableRawPointer(DirectMap.pointer(frame + UInt64(within), as: UInt8.self)),
                                     room, done)
                } catch {
                    failure = error
                }
                if moved < room && unread && UInt64(oldSize) > index * pageSize {
                    // A page made to be overwritten whole that the copy only
                    // partly filled would lose the file's bytes in the rest:
                    // it goes, unwritten, and the next reader reads it again.
                    // Linux: generic_perform_write()'s "copied = 0" for a
                    // short copy into a folio that is not uptodate
                    moved = 0
                    lock.withLock { if pages[index] == frame, let gone = pages.remove(at: index) { forgetLocked(gone) } }
                } else if moved > 0 {
                    markDirty(frame)
                }
                putPage(frame)
            } catch {
                failure = error
            }
            done += moved
            if position + moved > size { length.store(position + moved, ordering: .relaxed) }
            if failure != nil || moved < piece { break }
            Scheduler.condResched()
        }
        // Room reserved past what ends up the end (a copy that faulted, a
        // signal) is given back: ext2 may not keep blocks past i_size.
        let end = max(offset + done, oldSize)
        if !isShmem && reservedEnd > end {
            do throws(Errno) {
                try operations.setStorageSize(end)
            } catch {
                Log.error("write: cannot give back room past the end of a file: \(error.name)")
            }
        }
        if let failure, done == 0 { throw failure }
        balanceDirtyPages()
        return done
    }

    /// balance_dirty_pages: a writer that has made too much of memory dirty
    /// writes its own file back before it goes on, and wakes the flusher
    /// past the background limit. `writeLock` held. Linux: balance_dirty_pages_ratelimited()
    /// The limits are looked at once a writer has dirtied `ratelimitPages`
    /// pages since it last looked, not at every write: summing the per-CPU
    /// counters and the zones costs hundreds of loads.
    private func balanceDirtyPages() {
        let task = Scheduler.current
        guard !isShmem, task.dirtiedPages >= Self.ratelimitPages else { return }
        task.dirtiedPages = 0
        let dirty = VMStat.value(.fileDirty) + VMStat.value(.writeback)
        let limits = Writeback.thresholds()
        if dirty > limits.background { Writeback.wakeFlusher() }
        guard dirty > limits.dirty else { return }
        VMStat.count(.dirtyThrottled)
        writeback()
    }

    /// Pages a writer may dirty between two looks at the dirty limits.
    /// Linux: the initial current->nr_dirtied_pause (32 pages)
    static let ratelimitPages = 32

    // MARK: - Pages

    /// Page `index` with a reference for the caller (to give back with
    /// `putPage`), from the cache or made now: read from storage when
    /// `reading` (with read-ahead on a sequential miss), else zeroed (shmem
    /// pages are always zeroed: they have no storage). Also returns whether
    /// storage was read (a major fault). ENOMEM without memory, ENOSPC when a
    /// tmpfs is full, the file system's error (EIO) when the read failed.
    /// Linux: filemap_get_folio() / __filemap_get_folio(FGP_CREAT), filemap_read_folio()
    func getPage(_ index: UInt64, reading: Bool) throws(Errno) -> (frame: PhysAddr, wasRead: Bool) {
        let sequential: Bool
        lock.lock()
        if let frame = pages[index] {
            MapCount.add(frame)
            readaheadNext = index + 1
            lock.unlock()
            return (frame, false)
        }
        sequential = index == readaheadNext || index == 0
        readaheadNext = index + 1
        readaheadWindow = sequential ? min(max(readaheadWindow * 2, 4), Self.maxReadahead) : 0
        let window = readaheadWindow
        lock.unlock()

        let fromStorage = reading && !isShmem
        let frame = try newPage(index, fromStorage: fromStorage)
        if let existing = insert(frame, at: index, references: 2) {
            discard(frame)                       // another reader made it first
            return (existing, false)
        }
        if fromStorage && Workingset.refault(id, index) {
            PageState.set(frame, .workingset)
            VMStat.count(.workingsetRefaultFile)
        }
        if fromStorage && window > 1 { readAhead(after: index, pages: window - 1) }
        return (frame, fromStorage)
    }

    /// Page `index` with a reference for the caller if it is in the cache.
    /// Linux: filemap_get_folio() without FGP_CREAT
    private func findPage(_ index: UInt64) -> PhysAddr? {
        lock.withLock { () -> PhysAddr? in
            guard let frame = pages[index] else { return nil }
            MapCount.add(frame)
            return frame
        }
    }

    /// A fresh page for `index`: charged (shmem), filled from storage or zeroed.
    private func newPage(_ index: UInt64, fromStorage: Bool) throws(Errno) -> PhysAddr {
        if isShmem && !operations.chargePage() { throw .ENOSPC }
        guard let frame = PageCache.allocatePage(zeroed: !fromStorage) else {
            if isShmem { operations.unchargePages(1) }
            throw .ENOMEM
        }
        if fromStorage {
            do throws(Errno) {
                try operations.readPage(index, into: UnsafeMutableRawBufferPointer(
                    start: DirectMap.pointer(frame, as: UInt8.self), count: Int(pageSize)))
            } catch {
                PageAllocator.free(frame)
                throw error
            }
        }
        return frame
    }

    /// Reads pages after `index` into the cache before anyone asks, up to the
    /// end of the file; stops at the first page cached already or at any
    /// failure (read-ahead is a hint). Linux: page_cache_ra_unbounded()
    private func readAhead(after index: UInt64, pages count: Int) {
        let lastPage = (UInt64(size) + pageSize - 1) / pageSize
        var next = index + 1
        while next < min(index + 1 + UInt64(count), lastPage) {
            if lock.withLock({ pages[next] != nil }) { return }
            let frame: PhysAddr
            do throws(Errno) { frame = try newPage(next, fromStorage: true) } catch { return }
            if insert(frame, at: next, references: 1) != nil {
                discard(frame)
                return
            }
            next += 1
        }
    }

    /// Puts a page made by `newPage` into the index with `references` (the
    /// cache's, plus the caller's); if another made the page first, returns
    /// that one with a reference for the caller instead.
    /// Linux: __filemap_add_folio()
    private func insert(_ frame: PhysAddr, at index: UInt64, references: Int32) -> PhysAddr? {
        lock.lock()
        defer { lock.unlock() }
        if let existing = pages[index] {
            MapCount.add(existing)
            return existing
        }
        let page = PageAllocator.page(frame)
        page.pointee.mapping = id
        page.pointee.index = index
        PageAllocator.mark(frame, isShmem ? [.swapBacked] : [])
        MapCount.initialize(frame, to: references)
        // A disk file's page can be read again: reclaim may take it. (Keel
        // does not swap tmpfs pages: they stay off the lists.)
        if !isShmem { LRU.add(frame) }
        if pages.isEmpty && !isShmem { PageCache.register(self) }
        pages.insert(frame, at: index)
        VMStat.add(.filePages, 1)
        if isShmem { VMStat.add(.shmem, 1) }
        return nil
    }

    /// Gives back a page `newPage` made that nobody saw.
    private func discard(_ frame: PhysAddr) {
        PageAllocator.free(frame)
        if isShmem { operations.unchargePages(1) }
    }

    /// Gives back a reference from `getPage`; the last one (the page left the
    /// cache meanwhile) frees the frame. Linux: folio_put()
    func putPage(_ frame: PhysAddr) {
        if MapCount.remove(frame) { PageAllocator.free(frame) }
    }

    /// Runs `body` under `lock` if page `index` is still `frame` and still
    /// inside the file: a fault maps the page inside it, so a truncate either
    /// comes first (and the fault finds the page gone) or after (and unmaps it).
    /// Linux: the folio lock + the folio->mapping and i_size re-checks of filemap_fault()
    func whileCached<R>(_ index: UInt64, _ frame: PhysAddr, _ body: () -> R) -> R? {
        lock.lock()
        defer { lock.unlock() }
        guard pages[index] == frame, index < (UInt64(size) + pageSize - 1) / pageSize else { return nil }
        return body()
    }

    /// Calls `install(index, frame)` under `lock` for each page of `indices`
    /// that is in the cache and inside the file, while it returns true: the
    /// pages a read fault maps around its own without reading anything.
    /// Under the lock no truncate can take a page away meanwhile.
    /// Linux: filemap_map_pages()
    func forEachCachedPage(_ indices: Range<UInt64>, _ install: (UInt64, PhysAddr) -> Bool) {
        lock.lock()
        defer { lock.unlock() }
        let end = min(indices.upperBound, (UInt64(size) + pageSize - 1) / pageSize)
        var index = indices.lowerBound
        while index < end {
            if let frame = pages[index], !install(index, frame) { return }
            index += 1
        }
    }

    /// The page is dirty: write-back will write it. Linux: folio_mark_dirty() → __folio_mark_dirty()
    /// A shmem page is marked too (kpageflags and smaps show it dirty, as
    /// Linux's do) but never counted in Dirty nor written back.
    func markDirty(_ frame: PhysAddr) {
        var first = false
        lock.withLock {
            let page = PageAllocator.page(frame)
            guard page.pointee.mapping == id, !PageState.set(frame, .dirty).contains(.dirty) else { return }
            if isShmem { return }
            VMStat.add(.fileDirty, 1)
            Scheduler.current.dirtiedPages += 1
            if dirtyCount == 0 {
                dirtiedWhen = Clock.monotonicNanoseconds
                first = true
            }
            dirtyCount += 1
        }
        if first { PageCache.addDirty(self) }
    }

    /// A store through a MAP_SHARED mapping is about to make page `index`
    /// writable: storage for its bytes first (SIGBUS for the fault when the
    /// disk is full, as Linux's VM_FAULT_SIGBUS from page_mkwrite), then the
    /// page is dirty. Linux: do_page_mkwrite() → ext2_page_mkwrite(), fault_dirty_shared_page()
    func pageMkwrite(_ index: UInt64, _ frame: PhysAddr) throws(Errno) {
        guard !isShmem else {
            markDirty(frame)
            return
        }
        let start = Int(index * pageSize)
        let count = min(Int(pageSize), size - start)
        if count > 0 {
            guard try operations.reserve(at: start, count: count) == count else { throw .ENOSPC }
        }
        markDirty(frame)
    }

    /// Takes every page at `first` or above out of the cache (dirty ones
    /// too: their bytes are gone with the size). `lock` held.
    /// Linux: truncate_inode_pages_range() → filemap_remove_folio()
    private func removePagesLocked(from first: UInt64) {
        pages.removeAll(from: first) { frame in forgetLocked(frame) }
        if pages.isEmpty && !isShmem { PageCache.unregister(self) }
    }

    /// Every page goes, dirty ones too: the file is gone (an unlinked ext2
    /// file freed on the disk) or its inode leaves the inode cache clean.
    /// Linux: truncate_inode_pages_final()
    func evict() {
        lock.withLock { removePagesLocked(from: 0) }
        if !isShmem { PageCache.removeDirty(self) }
    }

    /// Pages some process maps now (for /proc/meminfo's Mapped).
    var mappedPageCount: Int {
        lock.withLock { () -> Int in
            var mapped = 0
            pages.forEach { _, frame in
                if MapCount.mappers(frame) > 0 { mapped += 1 }
                return true
            }
            return mapped
        }
    }

    /// A page leaves the cache: its descriptor no longer names this space,
    /// the counts drop, and the cache's reference goes (freeing the frame
    /// unless some PTE or copy still holds it). `lock` held.
    private func forgetLocked(_ frame: PhysAddr) {
        let page = PageAllocator.page(frame)
        if PageState.clear(frame, .dirty).contains(.dirty) {
            if !isShmem {
                dirtyCount -= 1
                VMStat.add(.fileDirty, -1)
            }
        }
        page.pointee.mapping = 0
        page.pointee.index = 0
        VMStat.add(.filePages, -1)
        if isShmem {
            VMStat.add(.shmem, -1)
            operations.unchargePages(1)
        }
        if MapCount.remove(frame) { PageAllocator.free(frame) }
    }

    /// Migration's step under the index lock: if page `index` is still
    /// `source` and holds exactly `references` (the cache's and the
    /// migrating caller's: every mapping was replaced by a migration entry),
    /// `move` copies it to `target` and moves its state, and `target` takes
    /// its place in the index. Under the lock no lookup can take a reference
    /// meanwhile (they all take theirs under it), so nobody can reach the
    /// old frame afterwards. False, with nothing done, otherwise.
    /// Linux: __folio_migrate_mapping() (the refcount freeze and the
    /// xas_store() under the i_pages lock)
    func migratePage(_ index: UInt64, from source: PhysAddr, to target: PhysAddr,
                     references: Int32, _ move: () -> Void) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard pages[index] == source, MapCount.count(source) == references else { return false }
        move()
        return pages.replace(at: index, source, with: target)
    }

    /// Reclaim's eviction of one page: drops it from the cache if it is
    /// still page `index` here, clean, not being written, and nobody but the
    /// cache and the caller holds it (no PTE, no copy in flight). Checked
    /// under `lock`, under which every new reference is taken, so nobody can
    /// find the page in between. True if it went (the caller's reference is
    /// then the last). Linux: __remove_mapping() (folio_ref_freeze(folio, 2))
    func removeIfUnused(_ index: UInt64, _ frame: PhysAddr) -> Bool {
        lock.withLock { () -> Bool in
            let flags = PageState.flags(frame)
            guard pages[index] == frame, !flags.contains(.dirty), !flags.contains(.writeback),
                  MapCount.count(frame) == 2, let gone = pages.remove(at: index) else { return false }
            Workingset.evicted(id, index)
            forgetLocked(gone)
            if pages.isEmpty { PageCache.unregister(self) }
            return true
        }
    }

    /// Drops the clean pages nobody maps or copies: they can be read again.
    /// Returns how many went. Linux: invalidate_mapping_pages() (drop_caches),
    /// the clean-page part of shrink_folio_list()
    func dropCleanPages() -> Int {
        guard !isShmem else { return 0 }
        return lock.withLock { () -> Int in
            var victims: [UInt64] = []
            pages.forEach { index, frame in
                let page = PageAllocator.page(frame).pointee
                if !page.flags.contains(.dirty) && !page.flags.contains(.writeback) && MapCount.count(frame) == 1 {
                    victims.append(index)
                }
                return true
            }
            for index in victims {
                if let frame = pages.remove(at: index) { forgetLocked(frame) }
            }
            if pages.isEmpty { PageCache.unregister(self) }
            return victims.count
        }
    }

    // MARK: - Write-back

    /// Writes the dirty pages of `range` (all by default) to storage: each is
    /// made clean and write-protected in every mapping first (so a store that
    /// comes during or after the write dirties it again), then written. A
    /// failure leaves the page dirty and is kept for fsync to report. The
    /// caller holds `writeLock` (so the size cannot shrink under the write).
    /// Linux: do_writepages() → write_cache_pages() →
    /// folio_clear_dirty_for_io() (page_mkclean) + writepage
    func writeback(_ range: ClosedRange<UInt64> = 0...UInt64.max) {
        guard !isShmem else { return }
        precondition(writeLock.isLocked, "write-back without i_rwsem")
        withUnsafeTemporaryAllocation(of: (index: UInt64, frame: PhysAddr).self, capacity: 128) { batch in
            while true {
                var taken = 0
                lock.withLock {
                    pages.forEach { index, frame in
                        let page = PageAllocator.page(frame)
                        guard range.contains(index), page.pointee.flags.contains(.dirty) else { return true }
                        PageState.set(frame, .writeback)
                        PageState.clear(frame, .dirty)
                        dirtyCount -= 1
                        VMStat.add(.fileDirty, -1)
                        VMStat.add(.writeback, 1)
                        MapCount.add(frame)
                        batch[taken] = (index, frame)
                        taken += 1
                        return taken < batch.count
                    }
                }
                if taken == 0 { break }
                for (index, frame) in batch[0..<taken] { writePage(index, frame) }
                Scheduler.condResched()
            }
        }
        if lock.withLock({ dirtyCount == 0 }) { PageCache.removeDirty(self) }
    }

    /// One page of `writeback`, its write-back flag set and a reference held.
    private func writePage(_ index: UInt64, _ frame: PhysAddr) {
        makeClean(index, frame)
        let start = Int(index * pageSize)
        let count = min(Int(pageSize), size - start)
        var failure: Errno? = nil
        if count > 0 {
            do throws(Errno) {
                try operations.writePage(index, from: UnsafeRawBufferPointer(
                    start: DirectMap.pointer(frame, as: UInt8.self), count: count))
            } catch {
                failure = error
            }
        }
        lock.withLock {
            let page = PageAllocator.page(frame)
            PageState.clear(frame, .writeback)
            VMStat.add(.writeback, -1)
            if let failure {
                writebackError = failure
                if page.pointee.mapping == id && !page.pointee.flags.contains(.dirty) {
                    PageState.set(frame, .dirty)     // kept for the next try
                    dirtyCount += 1
                    VMStat.add(.fileDirty, 1)
                }
            }
        }
        if let failure { Log.error("write-back: page \(index) of a file: \(failure.name); kept dirty") }
        putPage(frame)
    }

    // MARK: - Seals

    /// fcntl(F_ADD_SEALS): EPERM once sealed against sealing, EBUSY for
    /// F_SEAL_WRITE while a writable shared mapping exists. Linux: memfd_add_seals()
    func addSeals(_ added: UInt32) throws(Errno) {
        guard added & ~Seal.all == 0 else { throw .EINVAL }
        writeLock.lock()
        defer { writeLock.unlock() }
        let current = seals.load(ordering: .relaxed)
        guard current & Seal.seal == 0 else { throw .EPERM }
        if added & Seal.write != 0 && current & Seal.write == 0 && isMappedWritable { throw .EBUSY }
        seals.store(current | added, ordering: .relaxed)
    }

    /// Some MAP_SHARED mapping could store into the file. Linux: mapping_writably_mapped()
    private var isMappedWritable: Bool {
        var writable = false
        for (mm, file) in mapperSnapshot() {
            mm.mmapLock.lockRead()
            for vma in mm.vmas where vma.flags.contains(.shared) && vma.flags.contains(.mayWrite) {
                if case .file(let id, _) = vma.backing, id == file { writable = true }
            }
            mm.mmapLock.unlockRead()
            mm.put()
        }
        return writable
    }

    // MARK: - Mappings (i_mmap)

    /// `mm` maps this file by `file` (its first VMA of it). Linux: vma_link() → __vma_link_file()
    func addMapper(_ mm: MM, _ file: MappedFileID) {
        mapperLock.withLock { mappers.append((mm, file)) }
    }

    /// `mm` no longer maps this file. Linux: unlink_file_vma()
    func removeMapper(_ mm: MM) {
        mapperLock.withLock { mappers.removeAll { $0.mm === mm } }
    }

    /// The mms mapping the file now, each with a reference (`put` them); an mm
    /// being torn down is left out: its exit unmaps everything anyway.
    private func mapperSnapshot() -> [(mm: MM, file: MappedFileID)] {
        mapperLock.withLock { mappers.filter { $0.mm.tryGet() } }
    }

    /// The mms mapping the file now, without user references: for the
    /// reverse map, which try-locks each and finds a torn-down one empty.
    func mapperList() -> [(mm: MM, file: MappedFileID)] {
        mapperLock.withLock { mappers }
    }

    /// Unmaps pages `first` and above of this file from every process, private
    /// copies included (their file page is gone). Linux: unmap_mapping_range(even_cows: 1)
    private func unmapMappings(from first: UInt64) {
        for (mm, file) in mapperSnapshot() {
            mm.mmapLock.lockWrite()
            mm.unmapFilePages(file, from: first)
            mm.mmapLock.unlockWrite()
            mm.put()
        }
    }

    /// Write-protects page `index` (`frame`) in every shared mapping and
    /// clears the dirty bits the CPU set there. Linux: folio_mkclean()
    private func makeClean(_ index: UInt64, _ frame: PhysAddr) {
        for (mm, file) in mapperSnapshot() {
            mm.mmapLock.lockRead()
            mm.writeProtectFilePage(file, index: index, frame: frame)
            mm.mmapLock.unlockRead()
            mm.put()
        }
    }
}

extension Inode {
    /// A regular file's page cache; nil for anything else. Linux: inode->i_mapping
    var mapping: AddressSpace? { contents as? AddressSpace }
}

/// The page cache as a whole: page tags, the list of files with dirty pages
/// (what the flusher walks), every cached file (what drop_caches and the
/// shrinker walk), and page allocation that makes room when memory is short.
/// Linux: the bdi_writeback b_dirty list, the super blocks' inode lists
enum PageCache {
    /// Files with dirty pages, each held (so the inode stays until written).
    /// Protected by `listLock`. Linux: wb->b_dirty
    nonisolated(unsafe) private static var dirty: [AddressSpace] = []
    /// Every disk file's cache holding pages, held by this list (so drop_caches
    /// and the shrinker can walk them); a cache leaves it when its last page
    /// goes. Protected by `listLock`. Linux: sb->s_inodes of every super block
    nonisolated(unsafe) private static var cached = HashMap<UInt32, AddressSpace>()
    /// Protects `dirty` and `cached`; taken inside a space's lock.
    static let listLock = SpinLock(LockClass("&wb->list_lock"), disablesInterrupts: false)
    private static let lastID = Atomic<UInt32>(0)

    /// A tag for a new space; 0 means "no mapping" and is skipped.
    static func newID() -> UInt32 {
        while true {
            let id = lastID.add(1, ordering: .relaxed).newValue
            if id != 0 { return id }
        }
    }

    static func addDirty(_ space: AddressSpace) {
        listLock.withLock { if !dirty.contains(where: { $0 === space }) { dirty.append(space) } }
    }

    static func removeDirty(_ space: AddressSpace) {
        listLock.withLock { dirty.removeAll { $0 === space } }
    }

    /// The files with dirty pages now, held for the caller.
    static var dirtySpaces: [AddressSpace] { listLock.withLock { dirty } }

    /// The disk file's cache with tag `id`, if it holds pages (the reverse
    /// map's way from a page to its file).
    static func space(id: UInt32) -> AddressSpace? {
        listLock.withLock { cached[id] }
    }

    /// A disk file's cache got its first page. `space`'s lock held.
    static func register(_ space: AddressSpace) {
        listLock.withLock { cached[space.id] = space }
    }

    /// Its last page went; the list lets go of it. `space`'s lock held (the
    /// caller holds a reference too, so this is never the last).
    static func unregister(_ space: AddressSpace) {
        listLock.withLock { _ = cached.removeValue(forKey: space.id) }
    }

    /// A frame for the cache; when memory is short, the allocating task
    /// reclaims (Vmscan.swift) and tries once more. Linux: the direct reclaim
    /// of __alloc_pages_slowpath(). The node follows the task's memory
    /// policy (not a VMA's: the page belongs to the file). Linux:
    /// filemap_alloc_folio() → alloc_pages() → policy_node()
    static func allocatePage(zeroed: Bool) -> PhysAddr? {
        let choice = NUMAPolicy.taskChoice()
        if let frame = PageAllocator.allocate(flags: zeroed ? .zero : .kernel, on: choice) { return frame }
        guard Vmscan.tryToFreePages() > 0 else { return nil }
        return PageAllocator.allocate(flags: zeroed ? .zero : .kernel, on: choice)
    }

    /// Drops every clean, unmapped page of every disk file's cache; returns
    /// how many: drop_caches mode 1.
    /// Linux: drop_pagecache_sb() for every super block
    @discardableResult
    static func shrink() -> Int {
        let spaces: [AddressSpace] = listLock.withLock { cached.keyValuePairs.map { $0.value } }
        var dropped = 0
        for space in spaces { dropped += space.dropCleanPages() }
        return dropped
    }

    /// Page-cache pages some process maps, for /proc/meminfo's Mapped: a walk
    /// of every disk file's cache and every shmem file some process maps.
    /// Linux: NR_FILE_MAPPED, counted at each map and unmap
    static func mappedPages() -> Int {
        var spaces: [AddressSpace] = listLock.withLock { cached.keyValuePairs.map { $0.value } }
        for space in MappedFiles.mappedSpaces() where space.isShmem { spaces.append(space) }
        var mapped = 0
        for space in spaces { mapped += space.mappedPageCount }
        return mapped
    }
}
