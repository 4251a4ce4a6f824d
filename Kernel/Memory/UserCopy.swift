// The only way the kernel touches user memory. Every pointer a system call
// receives is checked against TASK_SIZE and then copied with copy_user, whose
// faults are either resolved (demand paging, copy-on-write) or turned into
// EFAULT through the exception table. Linux: copy_from_user(), copy_to_user(),
// strncpy_from_user(), access_ok(), and the exception table (extable)

enum UserCopy {
    /// Linux: access_ok()
    static func accessOK(_ address: VirtAddr, _ count: Int) -> Bool {
        count >= 0 && address.value <= KernelLayout.taskSize && UInt64(count) <= KernelLayout.taskSize - address.value
    }

    /// Linux: copy_from_user()
    static func copyIn(_ destination: UnsafeMutableRawPointer, from source: VirtAddr, count: Int) throws(Errno) {
        guard accessOK(source, count) else { throw .EFAULT }
        guard count > 0 else { return }
        let left = copy_user(destination, UnsafeRawPointer(bitPattern: UInt(source.value)), UInt64(count))
        if left != 0 { throw .EFAULT }
    }

    /// Linux: copy_to_user()
    static func copyOut(to destination: VirtAddr, from source: UnsafeRawPointer, count: Int) throws(Errno) {
        guard accessOK(destination, count) else { throw .EFAULT }
        guard count > 0 else { return }
        let left = copy_user(UnsafeMutableRawPointer(bitPattern: UInt(destination.value)), source, UInt64(count))
        if left != 0 { throw .EFAULT }
    }

    /// copy_to_user() of a byte array.
    static func copyOut(to destination: VirtAddr, _ bytes: [UInt8]) throws(Errno) {
        guard accessOK(destination, bytes.count) else { throw .EFAULT }
        let left = bytes.withUnsafeBytes { b in
            b.count == 0 ? 0 : copy_user(UnsafeMutableRawPointer(bitPattern: UInt(destination.value)), b.baseAddress!, UInt64(b.count))
        }
        if left != 0 { throw .EFAULT }
    }

    /// copy_from_user() into a new byte array.
    static func copyIn(from source: VirtAddr, count: Int) throws(Errno) -> [UInt8] {
        guard accessOK(source, count) else { throw .EFAULT }
        var bytes = [UInt8](repeating: 0, count: count)
        let left = bytes.withUnsafeMutableBytes { b in
            b.count == 0 ? 0 : copy_user(b.baseAddress!, UnsafeRawPointer(bitPattern: UInt(source.value)), UInt64(b.count))
        }
        if left != 0 { throw .EFAULT }
        return bytes
    }

    /// Linux: get_user()
    static func read<T: BitwiseCopyable>(_ type: T.Type, at address: VirtAddr) throws(Errno) -> T {
        let box = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { box.deallocate() }
        try copyIn(box, from: address, count: MemoryLayout<T>.size)
        return box.pointee
    }

    /// Linux: put_user()
    static func write<T: BitwiseCopyable>(_ value: T, at address: VirtAddr) throws(Errno) {
        var value = value
        try withUnsafeBytes(of: &value) { (bytes) throws(Errno) in
            try copyOut(to: address, from: bytes.baseAddress!, count: bytes.count)
        }
    }

    /// A NUL-terminated string of at most `maxLength` bytes (excluding the NUL):
    /// ENAMETOOLONG if longer. Copies page by page, since only a page boundary
    /// can fault. Linux: strncpy_from_user() + getname()
    static func readString(at address: VirtAddr, maxLength: Int = 4095) throws(Errno) -> String {
        var bytes: [UInt8] = []
        var cursor = address
        let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(pageSize))
        defer { chunk.deallocate() }
        while true {
            let n = Int(pageSize - cursor.pageOffset)
            try copyIn(chunk, from: cursor, count: n)
            for i in 0..<n {
                if chunk[i] == 0 { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(chunk[i])
                if bytes.count > maxLength { throw .ENAMETOOLONG }
            }
            cursor = cursor + UInt64(n)
        }
    }

    /// The exception table: where a fault at `rip` inside a user copy resumes.
    /// Linux: search_exception_tables() + fixup_exception()
    static func fixup(forFaultAt rip: UInt64) -> UInt64? {
        rip == symbol_copy_user_insn() ? symbol_copy_user_fixup() : nil
    }
}
