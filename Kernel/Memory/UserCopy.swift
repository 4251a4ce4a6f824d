// The only way the kernel touches user memory. A user pointer becomes a
// UserRange (Kernel/Core/Base/UserRange.swift) through the access_ok check, and
// only a UserRange reaches the copy instruction (Kernel/Arch UserAccess), whose faults are either resolved (demand
// paging, copy-on-write) or turned into "bytes not copied" through the exception
// table. The VirtAddr conveniences below all build the UserRange first.
// Linux: copy_from_user(), copy_to_user(), strncpy_from_user(), get_user(),
// put_user(), and the exception table (extable)

enum UserCopy {
    /// Copies user bytes into the kernel; returns how many were copied before a
    /// fault (all of them, normally). Linux: raw_copy_from_user()
    static func copyInPartial(_ destination: UnsafeMutableRawPointer, from source: UserRange) -> Int {
        guard source.count > 0 else { return 0 }
        return source.count - UserAccess.copy(destination, UnsafeRawPointer(bitPattern: UInt(source.start.value)),
                                              count: source.count)
    }

    /// Copies kernel bytes to user memory; returns how many were copied before a
    /// fault. Linux: raw_copy_to_user()
    static func copyOutPartial(to destination: UserRange, from source: UnsafeRawPointer) -> Int {
        guard destination.count > 0 else { return 0 }
        return destination.count - UserAccess.copy(UnsafeMutableRawPointer(bitPattern: UInt(destination.start.value)), source,
                                                   count: destination.count)
    }

    /// All of it or EFAULT. Linux: copy_from_user() != 0 → -EFAULT
    static func copyIn(_ destination: UnsafeMutableRawPointer, from source: UserRange) throws(Errno) {
        guard copyInPartial(destination, from: source) == source.count else { throw .EFAULT }
    }

    /// All of it or EFAULT. Linux: copy_to_user() != 0 → -EFAULT
    static func copyOut(to destination: UserRange, from source: UnsafeRawPointer) throws(Errno) {
        guard copyOutPartial(to: destination, from: source) == destination.count else { throw .EFAULT }
    }

    /// Linux: copy_from_user()
    static func copyIn(_ destination: UnsafeMutableRawPointer, from source: VirtAddr, count: Int) throws(Errno) {
        try copyIn(destination, from: try UserRange(source, count: count))
    }

    /// Linux: copy_to_user()
    static func copyOut(to destination: VirtAddr, from source: UnsafeRawPointer, count: Int) throws(Errno) {
        try copyOut(to: try UserRange(destination, count: count), from: source)
    }

    /// copy_to_user() of a byte array.
    static func copyOut(to destination: VirtAddr, _ bytes: [UInt8]) throws(Errno) {
        let range = try UserRange(destination, count: bytes.count)
        try bytes.withBytes { (b) throws(Errno) in
            guard let base = b.baseAddress else { return }
            try copyOut(to: range, from: base)
        }
    }

    /// copy_from_user() into a new byte array. The caller bounds `count`: the
    /// array is kernel memory.
    static func copyIn(from source: VirtAddr, count: Int) throws(Errno) -> [UInt8] {
        let range = try UserRange(source, count: count)
        var bytes = [UInt8](repeating: 0, count: count)
        try bytes.withMutableBytes { (b) throws(Errno) in
            guard let base = b.baseAddress else { return }
            try copyIn(base, from: range)
        }
        return bytes
    }

    /// Linux: get_user()
    static func read<T: BitwiseCopyable>(_ type: T.Type, at address: VirtAddr) throws(Errno) -> T {
        let range = try UserRange(address, count: MemoryLayout<T>.size)
        let box = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { box.deallocate() }
        try copyIn(box, from: range)
        return box.pointee
    }

    /// `read` with page faults disabled, for a caller holding a spinlock: a page
    /// that is not there gives EFAULT at once instead of a sleep for mmap_lock,
    /// and the caller lets go, faults it in with `read`, and tries again.
    /// Linux: __get_user() under pagefault_disable() (get_futex_value_locked())
    static func readWithoutFaults<T: BitwiseCopyable>(_ type: T.Type, at address: VirtAddr) throws(Errno) -> T {
        let task = Scheduler.current
        task.pagefaultsDisabled += 1
        defer { task.pagefaultsDisabled -= 1 }
        return try read(type, at: address)
    }

    /// Linux: put_user()
    static func write<T: BitwiseCopyable>(_ value: T, at address: VirtAddr) throws(Errno) {
        let range = try UserRange(address, count: MemoryLayout<T>.size)
        var value = value
        try withUnsafeBytes(of: &value) { (bytes) throws(Errno) in
            try copyOut(to: range, from: bytes.baseAddress!)
        }
    }

    /// A NUL-terminated string of at most `maxLength` bytes (excluding the NUL):
    /// ENAMETOOLONG if longer. Copies page by page, since only a page boundary
    /// can fault, and never reads past the page holding the NUL.
    /// Linux: strncpy_from_user() + getname()
    static func readString(at address: VirtAddr, maxLength: Int = 4095) throws(Errno) -> String {
        var bytes: [UInt8] = []
        var cursor = address
        let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: Int(pageSize))
        defer { chunk.deallocate() }
        while true {
            let page = try UserRange(cursor, count: Int(pageSize - cursor.pageOffset))
            try copyIn(chunk, from: page)
            for i in 0..<page.count {
                if chunk[i] == 0 { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(chunk[i])
                if bytes.count > maxLength { throw .ENAMETOOLONG }
            }
            cursor = page.end
        }
    }

    /// The length of the NUL-terminated string at `address` (without the NUL), or
    /// nil when it is longer than `maxLength`. Reads pieces of 32 bytes, doubling
    /// (most strings are short, and a copy costs by the byte) into `bounce`, never
    /// across a page boundary, so never past the page holding the NUL.
    /// Linux: strnlen_user()
    static func stringLength(at address: VirtAddr, maxLength: Int,
                             bounce: UnsafeMutableRawBufferPointer) throws(Errno) -> Int? {
        var length = 0
        var cursor = address
        var chunk = 32
        while length <= maxLength {
            let piece = try UserRange(cursor, count: min(chunk, Int(pageSize - cursor.pageOffset), bounce.count))
            chunk *= 2
            try copyIn(bounce.baseAddress!, from: piece)
            if let nul = bounce[0..<piece.count].firstIndex(of: 0) { return length + nul <= maxLength ? length + nul : nil }
            length += piece.count
            cursor = piece.end
        }
        return nil
    }
}
