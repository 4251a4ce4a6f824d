// A range of user memory that passed the access_ok check. The kernel may only
// copy to or from user memory through one of these (Kernel/Memory/UserCopy.swift,
// Kernel/Memory/UserPages.swift), and the only way to make one is the checked
// initializer below: so "forgot to check a user pointer" cannot compile.
//
// The check is the whole of Linux's access_ok(): the range lies below TASK_SIZE
// and does not wrap. Everything below TASK_SIZE is canonical, and the kernel
// half (direct map, image, vmalloc) starts at TASK_SIZE, so a range that passes
// can name no kernel byte. Whether the pages are mapped is not checked here:
// the copy itself finds that out, through a page fault and the exception table.

/// [start, start + count) in user space. Linux: a `void __user *` that passed access_ok()
public struct UserRange: Sendable {
    public let start: VirtAddr
    public let count: Int

    /// EFAULT unless [start, start + count) lies wholly in user space. A negative
    /// count is EFAULT as well: it is a huge size_t to the caller. Linux: access_ok()
    @inlinable public init(_ start: VirtAddr, count: Int) throws(Errno) {
        guard Self.isValid(start, count: count) else { throw .EFAULT }
        self.start = start
        self.count = count
    }

    /// The access_ok() predicate, written so no operation can overflow:
    /// `count <= TASK_SIZE - start` instead of `start + count <= TASK_SIZE`.
    @inlinable public static func isValid(_ start: VirtAddr, count: Int) -> Bool {
        count >= 0 && end(of: start, length: UInt64(count)) != nil
    }

    /// The end of [start, start + length) if the range lies wholly in user space,
    /// else nil: the same check for the memory calls, whose lengths are size_t
    /// (mmap, munmap, mprotect, mremap, madvise, msync). Linux: the
    /// `len > TASK_SIZE - addr` tests
    @inlinable public static func end(of start: VirtAddr, length: UInt64) -> VirtAddr? {
        guard start.value <= KernelLayout.taskSize, length <= KernelLayout.taskSize &- start.value else { return nil }
        return VirtAddr(start.value &+ length)
    }

    /// One past the last byte; at most TASK_SIZE.
    @inlinable public var end: VirtAddr { VirtAddr(start.value &+ UInt64(count)) }

    /// The part [offset, offset + length) of this range: still in user space, so
    /// no check is needed. The bounds are the caller's invariant.
    @inlinable public func slice(from offset: Int, count length: Int) -> UserRange {
        precondition(offset >= 0 && length >= 0 && length <= count - offset, "user range slice out of bounds")
        return UserRange(unchecked: start + UInt64(offset), count: length)
    }

    /// The bytes of this range that lie in the page holding `start`: what one
    /// copy can move before it may meet an unmapped page.
    @inlinable public var firstPage: UserRange {
        slice(from: 0, count: min(count, Int(pageSize - start.pageOffset)))
    }

    /// Only for slices of a range that passed the check (and for this file).
    @usableFromInline init(unchecked start: VirtAddr, count: Int) {
        self.start = start
        self.count = count
    }
}
