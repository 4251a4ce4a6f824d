// The vm_flags of a memory region: what user space may do with its pages now
// (read, write, exec), what it may ask for later through mprotect (the MAY bits),
// and how the region behaves on fork and on faults just below it. The bit values
// are Linux's (include/linux/mm.h): each MAY bit sits four bits above its access
// bit, which is what mprotect's permission check relies on.

/// Flags of one VMA. Linux: vm_flags_t with the VM_* bits
public struct VMFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Pages may be read. Linux: VM_READ
    public static let read = VMFlags(rawValue: 0x1)
    /// Pages may be written. Linux: VM_WRITE
    public static let write = VMFlags(rawValue: 0x2)
    /// Pages may be executed. Linux: VM_EXEC
    public static let exec = VMFlags(rawValue: 0x4)
    /// Writes are shared with every other mapping of the same pages (MAP_SHARED on a
    /// writable file or anonymous memory); without it writes are private copies. Linux: VM_SHARED
    public static let shared = VMFlags(rawValue: 0x8)
    /// mprotect may add VM_READ. Linux: VM_MAYREAD
    public static let mayRead = VMFlags(rawValue: 0x10)
    /// mprotect may add VM_WRITE (clear for a shared mapping of a read-only file). Linux: VM_MAYWRITE
    public static let mayWrite = VMFlags(rawValue: 0x20)
    /// mprotect may add VM_EXEC. Linux: VM_MAYEXEC
    public static let mayExec = VMFlags(rawValue: 0x40)
    /// The mapping was made MAP_SHARED, writable or not; /proc maps prints 's'. Linux: VM_MAYSHARE
    public static let mayShare = VMFlags(rawValue: 0x80)
    /// A fault just below the region extends it downwards: the stack. Linux: VM_GROWSDOWN
    public static let growsDown = VMFlags(rawValue: 0x100)
    /// The pages are locked in memory (mlock, mlockall, MAP_LOCKED): each is
    /// faulted in when the lock is taken, unless `lockOnFault` is set too, and
    /// stays. Keel has no reclaim, so every present page stays anyway; what the
    /// flag changes is that all of them are present, that /proc counts them as
    /// VmLck, and that msync(MS_INVALIDATE) and madvise(MADV_DONTNEED) refuse
    /// them. fork clears it in the child. Linux: VM_LOCKED
    public static let locked = VMFlags(rawValue: 0x2000)
    /// fork leaves this region out of the child (madvise MADV_DONTFORK). Linux: VM_DONTCOPY
    public static let dontCopy = VMFlags(rawValue: 0x2_0000)
    /// With `locked`: the pages are locked as they are faulted in, not all at
    /// once (mlock2 MLOCK_ONFAULT, mlockall MCL_ONFAULT). Linux: VM_LOCKONFAULT
    public static let lockOnFault = VMFlags(rawValue: 0x8_0000)
    /// A core dump would leave this region out (madvise MADV_DONTDUMP; Keel
    /// writes no core dumps). Linux: VM_DONTDUMP
    public static let dontDump = VMFlags(rawValue: 0x400_0000)

    /// The bits mprotect changes. Linux: VM_ACCESS_FLAGS
    public static let access: VMFlags = [.read, .write, .exec]
    /// The bits mlock, munlock and mlockall change. Linux: VM_LOCKED_MASK
    public static let lockedMask: VMFlags = [.locked, .lockOnFault]
    /// brk heap and bss: read-write, never executable by default on x86-64 with NX.
    /// Linux: VM_DATA_DEFAULT_FLAGS
    public static let dataDefault: VMFlags = [.read, .write, .mayRead, .mayWrite, .mayExec]
    /// The initial user stack. Linux: VM_STACK_DEFAULT_FLAGS (VM_STACK = VM_GROWSDOWN on x86)
    public static let stackDefault: VMFlags = [.dataDefault, .growsDown]

    /// The access bits for an mmap/mprotect `prot` argument; nil if `prot` has bits
    /// other than PROT_READ (1), PROT_WRITE (2), PROT_EXEC (4). Linux: calc_vm_prot_bits()
    public init?(protection prot: UInt64) {
        guard prot & ~VMFlags.access.rawValue == 0 else { return nil }
        self.init(rawValue: prot)
    }

    /// Some access is allowed: not a PROT_NONE region. Linux: vma_is_accessible()
    @inlinable public var isAccessible: Bool { !isDisjoint(with: .access) }

    /// A private mapping that may be written: its pages are copied on write,
    /// so fork leaves them read-only on both sides. Linux: is_cow_mapping()
    @inlinable public var isCopyOnWrite: Bool { intersection([.shared, .mayWrite]) == .mayWrite }

    /// Every access bit that is set has its MAY bit set too. Linux: the EACCES check in
    /// do_mprotect_pkey(), `(newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS`
    @inlinable public var accessIsPermitted: Bool {
        rawValue & ~(rawValue >> 4) & VMFlags.access.rawValue == 0
    }

    /// These flags with the access bits replaced by `protection`.
    @inlinable public func withAccess(_ protection: VMFlags) -> VMFlags {
        subtracting(.access).union(protection)
    }

    /// These flags with the lock bits replaced by `lock` (a subset of
    /// `lockedMask`). Linux: `(vm_flags & ~VM_LOCKED_MASK) | flags` in
    /// apply_vma_lock_flags() and apply_mlockall_flags()
    @inlinable public func withLock(_ lock: VMFlags) -> VMFlags {
        subtracting(.lockedMask).union(lock)
    }

    /// mlock must fault the pages in now: locked, and not on fault. Linux: the
    /// `(vm_flags & (VM_LOCKED | VM_LOCKONFAULT)) == VM_LOCKED` test of do_mmap()
    @inlinable public var populatesWhenLocked: Bool {
        contains(.locked) && !contains(.lockOnFault)
    }
}
