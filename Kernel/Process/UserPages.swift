// Writing into an address space that is not (necessarily) the one loaded in
// CR3: execve builds the new program's stack and zeroes the tail of its data
// page this way, faulting pages in as needed and writing through the direct map.
// Linux: access_process_vm() / get_user_pages() on bprm->vma

extension AddressSpace {
    /// Copies `bytes` to `address` in this address space. False if a page could
    /// not be faulted in (no VMA, no memory).
    func write(_ bytes: UnsafeRawBufferPointer, at address: VirtAddr) -> Bool {
        var done = 0
        while done < bytes.count {
            let va = address + UInt64(done)
            let chunk = min(bytes.count - done, Int(pageSize - va.pageOffset))
            guard let target = writablePage(va.alignedDown()) else { return false }
            _ = memcpy(target + Int(va.pageOffset), bytes.baseAddress! + done, chunk)
            done += chunk
        }
        return true
    }

    /// Zeroes [address, address + count). Linux: padzero() / clear_user()
    func zero(at address: VirtAddr, count: Int) -> Bool {
        var done = 0
        while done < count {
            let va = address + UInt64(done)
            let chunk = min(count - done, Int(pageSize - va.pageOffset))
            guard let target = writablePage(va.alignedDown()) else { return false }
            _ = memset(target + Int(va.pageOffset), 0, chunk)
            done += chunk
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
