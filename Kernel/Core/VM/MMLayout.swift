// The fixed points of a user address space and the limits that shape it: where
// mmap starts placing mappings, how far the stack may grow, how much room a stack
// keeps free below itself. Linux derives these per process at execve
// (arch_pick_mmap_layout); Keel does the same, without address randomization.

/// Placement limits of one user address space. Linux: mm->mmap_base, TASK_SIZE,
/// mmap_min_addr, stack_guard_gap, RLIMIT_STACK
public struct MMLayout: Equatable, Sendable {
    /// First address above user space. Linux: TASK_SIZE
    public var taskSize: UInt64
    /// Lowest address a mapping may use; page 0 stays unmapped so NULL faults. Linux: mmap_min_addr
    public var mmapMinAddr: UInt64
    /// Maximum stack size. Linux: rlimit(RLIMIT_STACK), soft limit
    public var stackLimit: UInt64
    /// Space kept free below a stack so it can grow. Linux: stack_guard_gap
    public var stackGuardGap: UInt64
    /// Top of the top-down mmap area. Linux: mm->mmap_base
    public var mmapBase: VirtAddr

    /// Linux: _STK_LIM (8 MiB)
    public static let defaultStackLimit: UInt64 = 8 << 20
    /// Linux: stack_guard_gap default, 256 pages (1 MiB)
    public static let defaultStackGuardGap: UInt64 = 256 << pageShift

    public init(taskSize: UInt64 = KernelLayout.taskSize, mmapMinAddr: UInt64 = pageSize,
                stackLimit: UInt64 = defaultStackLimit, stackGuardGap: UInt64 = defaultStackGuardGap) {
        self.taskSize = taskSize
        self.mmapMinAddr = mmapMinAddr
        self.stackLimit = stackLimit
        self.stackGuardGap = stackGuardGap
        mmapBase = Self.mmapBase(taskSize: taskSize, stackLimit: stackLimit, stackGuardGap: stackGuardGap)
    }

    /// Where the initial stack ends (its highest address + 1). Linux: STACK_TOP
    public var stackTop: VirtAddr { VirtAddr(taskSize) }

    /// The stack's maximum size plus its guard gap, clamped to at least 128 MiB and at
    /// most 5/6 of user space, taken off the top of user space. Linux: mmap_base()
    /// (arch/x86/mm/mmap.c), with no random offset
    static func mmapBase(taskSize: UInt64, stackLimit: UInt64, stackGuardGap: UInt64) -> VirtAddr {
        let (padded, overflow) = stackLimit.addingReportingOverflow(stackGuardGap)
        let gap = min(max(overflow ? stackLimit : padded, 128 << 20), taskSize / 6 * 5)
        return VirtAddr(taskSize - gap).alignedUp()
    }
}
