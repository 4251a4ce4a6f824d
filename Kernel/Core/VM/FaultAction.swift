// The outcome of classifying a page fault: which of Linux's fault paths the handler
// takes, or the signal the task gets. Keeping the decision a pure value lets the
// whole truth table be tested on the host; the kernel then performs the action.

/// What the page-fault handler must do. Linux: the branches of handle_mm_fault()
public enum FaultAction: Equatable, Sendable {
    /// Write to an absent anonymous page: map a freshly zeroed frame writable.
    /// Linux: do_anonymous_page() with FAULT_FLAG_WRITE
    case zeroFillAnonymous
    /// Read of an absent private anonymous page: map the shared zero page read-only.
    /// Linux: do_anonymous_page() → my_zero_pfn()
    case mapZeroPage
    /// Read of an absent file page: map the page-cache page (read-only if private).
    /// Linux: do_read_fault()
    case readFilePage(pageOffset: UInt64)
    /// Write to an absent page of a private file mapping: copy the page-cache page
    /// into a new anonymous frame. Linux: do_cow_fault()
    case copyFilePage(pageOffset: UInt64)
    /// Write to an absent page of a shared file mapping: map the page-cache page
    /// writable and mark it dirty. Linux: do_shared_fault()
    case writeSharedFilePage(pageOffset: UInt64)
    /// Write to a read-only page others still map (or the zero page, or a file page in
    /// a private mapping): copy it to a new frame and map that writable.
    /// Linux: do_wp_page() → wp_page_copy()
    case copyOnWrite
    /// Write to a read-only page nobody else maps, or in a shared mapping: just set the
    /// PTE writable. Linux: do_wp_page() → wp_page_reuse()
    case reuseOnWrite
    /// Access in the gap just below a stack: move its start down to `newStart`
    /// (VMATree.expandDownwards) and classify the fault again. Linux: expand_stack()
    case growStack(newStart: VirtAddr)
    /// The page is in a swap slot: find it in the swap cache or read it (with
    /// its neighbours), then map it. Linux: do_swap_page()
    case swapIn(SwapEntry)
    /// The page is being migrated: wait for the move to end and let the access
    /// run again, to find the new frame. Linux: do_swap_page() → migration_entry_wait()
    case migrationWait
    /// The PTE already allows the access (another thread got there first): nothing to
    /// do but return. Linux: handle_pte_fault()'s spurious-fault path
    case spurious
    /// Deliver SIGSEGV to a user access; a kernel access takes the exception-table
    /// fixup (EFAULT) or panics. Linux: bad_area() / bad_area_access_error()
    case segv(SegvCause)
}

/// Why a fault is a SIGSEGV; the value user space sees in siginfo's si_code.
public enum SegvCause: Equatable, Sendable {
    /// No region at the address. Linux: SEGV_MAPERR
    case noVMA
    /// A region is there but forbids the access (write to read-only, execute of
    /// non-exec, any access to PROT_NONE). Linux: SEGV_ACCERR
    case accessError

    /// Linux: SEGV_MAPERR = 1, SEGV_ACCERR = 2 (include/uapi/asm-generic/siginfo.h)
    public var siCode: Int32 {
        switch self {
        case .noVMA: return 1
        case .accessError: return 2
        }
    }
}
