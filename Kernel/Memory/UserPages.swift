// Writing into an address space that is not (necessarily) the one loaded in
// CR3: execve builds the new program's stack and zeroes the tail of its data
// page this way, faulting pages in as needed and writing through the direct map;
// exit clears clear_child_tid and clone stores set_child_tid through it. Only a
// UserRange may be written: every page table maps the kernel half too, so an
// unchecked address here would let a user pointer rewrite kernel data or text.
// Linux: access_process_vm() / get_user_pages() on bprm->vma

extension MM {
    /// Copies `bytes` to `address` in this address space. False if the range is
    /// not user memory or a page could not be faulted in (no VMA, not writable,
    /// no memory).
    func write(_ bytes: UnsafeRawBufferPointer, at address: VirtAddr) -> Bool {
        guard let range = try? UserRange(address, count: bytes.count) else { return false }
        return forEachPage(of: range) { target, done, chunk in
            _ = memcpy(target, bytes.baseAddress! + done, chunk)
        }
    }

    /// Zeroes [address, address + count). Linux: padzero() / clear_user()
    func zero(at address: VirtAddr, count: Int) -> Bool {
        guard let range = try? UserRange(address, count: count) else { return false }
        return forEachPage(of: range) { target, _, chunk in
            _ = memset(target, 0, chunk)
        }
    }

    /// Calls `body(kernel pointer, offset in range, bytes)` for the part of `range`
    /// in each page, after making that page present and writable.
    private func forEachPage(of range: UserRange,
                             _ body: (UnsafeMutableRawPointer, Int, Int) -> Void) -> Bool {
        mmapLock.lockRead()                 // Linux: mmap_read_lock() around get_user_pages()
        defer { mmapLock.unlockRead() }
        var done = 0
        while done < range.count {
            let piece = range.slice(from: done, count: range.count - done).firstPage
            guard let target = writablePage(piece.start.alignedDown()) else { return false }
            body(target + Int(piece.start.pageOffset), done, piece.count)
            done += piece.count
        }
        return true
    }

    /// The direct-map address of the frame at `page`, made present and private-writable
    /// first by the ordinary fault path.
    private func writablePage(_ page: VirtAddr) -> UnsafeMutableRawPointer? {
        let writable = pageTable.translate(page)?.flags.contains(.writable) ?? false
        if !writable {
            guard case .resolved = handleFault(at: page, access: FaultAccess(.write, fromUserMode: false)) else { return nil }
        }
        guard let (frame, _, _) = pageTable.translate(page) else { return nil }
        return UnsafeMutableRawPointer(DirectMap.pointer(frame.alignedDown(), as: UInt8.self))
    }
}
