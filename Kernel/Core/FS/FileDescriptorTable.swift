// File descriptors: small integers naming a process's open files. A new one is
// always the lowest free number, which is what lets a shell redirect stdout by
// closing 1 and opening a file. Each slot also has a close-on-exec bit that
// belongs to the descriptor, not to the open file (dup'ed descriptors differ).

/// A process's descriptor table, generic over what a descriptor refers to.
/// Linux: struct fdtable (fd array, close_on_exec bitmap) and alloc_fd()
public struct FileDescriptorTable<Entry: AnyObject> {
    /// Most descriptors a process may have. Linux: the RLIMIT_NOFILE soft limit, 1024 by default
    public static var limit: Int { 1024 }

    private var slots: [Entry?] = []
    private var closeOnExecBits: [Bool] = []

    public init() {}

    /// The entry behind `fd`, nil if it is not open.
    public func entry(_ fd: Int) -> Entry? {
        fd >= 0 && fd < slots.count ? slots[fd] : nil
    }

    /// Linux: close_on_exec()
    public func isCloseOnExec(_ fd: Int) -> Bool {
        entry(fd) != nil && closeOnExecBits[fd]
    }

    /// Linux: __set_close_on_exec() / __clear_close_on_exec()
    public mutating func setCloseOnExec(_ fd: Int, _ on: Bool) {
        if entry(fd) != nil { closeOnExecBits[fd] = on }
    }

    /// Puts `entry` at the lowest free descriptor not below `minimum`; EMFILE when
    /// none is left under the limit. Linux: alloc_fd() + fd_install()
    public mutating func install(_ entry: Entry, closeOnExec: Bool, minimum: Int = 0) throws(Errno) -> Int {
        var fd = max(minimum, 0)
        while fd < slots.count && slots[fd] != nil { fd += 1 }
        guard fd < Self.limit else { throw .EMFILE }
        grow(to: fd + 1)
        slots[fd] = entry
        closeOnExecBits[fd] = closeOnExec
        return fd
    }

    /// Puts `entry` at exactly `fd`; returns what was there (the caller closes it).
    /// EBADF outside 0..<limit. Linux: do_dup2() / replace_fd()
    public mutating func replace(_ fd: Int, with entry: Entry, closeOnExec: Bool) throws(Errno) -> Entry? {
        guard fd >= 0 && fd < Self.limit else { throw .EBADF }
        grow(to: fd + 1)
        let old = slots[fd]
        slots[fd] = entry
        closeOnExecBits[fd] = closeOnExec
        return old
    }

    /// Frees `fd`; returns its entry, nil if it was not open. Linux: file_close_fd()
    @discardableResult
    public mutating func remove(_ fd: Int) -> Entry? {
        guard let old = entry(fd) else { return nil }
        slots[fd] = nil
        closeOnExecBits[fd] = false
        while let last = slots.last, last == nil {
            slots.removeLast()
            closeOnExecBits.removeLast()
        }
        return old
    }

    /// Frees every close-on-exec descriptor; returns their entries (the caller
    /// closes them, perhaps after letting go of a lock). Linux: do_close_on_exec()
    @discardableResult
    public mutating func removeCloseOnExec() -> [Entry] {
        let doomed = slots.indices.filter { slots[$0] != nil && closeOnExecBits[$0] }
        return doomed.compactMap { remove($0) }
    }

    /// The open descriptors, lowest first.
    public var openDescriptors: [Int] { slots.indices.filter { slots[$0] != nil } }

    private mutating func grow(to count: Int) {
        while slots.count < count {
            slots.append(nil)
            closeOnExecBits.append(false)
        }
    }
}
