// The decision half of the page-fault handler, as a pure function: given the
// region lookup, the access and the current PTE, say which fault path applies.
// The order of the checks is Linux's: find the region (growing the stack if the
// address is just below one), check the access against its flags, then pick the
// path from the PTE: absent (anonymous or file fault), swapped out (swap-in),
// being migrated (wait) or present (write-protect).

extension FaultAction {
    /// Classifies a fault at `address`. `vma` and `prev` are what
    /// `VMATree.findVMAPrev(address)` returns: the first region ending above the
    /// address (which may start above it) and the region below that.
    /// Linux: do_user_addr_fault() → handle_mm_fault() → handle_pte_fault()
    public static func classify(address: VirtAddr, access: FaultAccess, vma: VMA?, prev: VMA?,
                                pte: PTEState, layout: MMLayout) -> FaultAction {
        // The kernel never runs user code (SMEP); Linux oopses here.
        if access.kind == .execute && !access.fromUserMode { return .segv(.accessError) }
        guard let vma else { return .segv(.noVMA) }
        if address < vma.start {
            guard let newStart = stackGrowth(to: address, stack: vma, prev: prev, layout: layout) else {
                return .segv(.noVMA)
            }
            return vma.permits(access.kind) ? .growStack(newStart: newStart) : .segv(.accessError)
        }
        guard vma.permits(access.kind) else { return .segv(.accessError) }
        switch pte {
        case .notPresent:
            return absentPage(address: address, write: access.kind == .write, vma: vma)
        case .swapped(let entry):
            // Whatever the access, the page comes back first; a write to a page
            // others still share is then a second, write-protect fault.
            return .swapIn(entry)
        case .migrating:
            return .migrationWait
        case let .present(writable, frame):
            guard access.kind == .write && !writable else { return .spurious }
            return writeProtected(frame: frame, shared: vma.flags.contains(.shared))
        }
    }

    /// The new start if `stack` may grow down to cover `address`: it must be a growsdown
    /// region, stay within RLIMIT_STACK and above mmap_min_addr, and keep the guard gap
    /// to an accessible region below. (Linux before 4.20 also required the address to
    /// be near the stack pointer; that rule is gone.) Linux: expand_downwards() +
    /// acct_stack_growth()
    static func stackGrowth(to address: VirtAddr, stack: VMA, prev: VMA?,
                            layout: MMLayout) -> VirtAddr? {
        let newStart = address.alignedDown()
        guard stack.flags.contains(.growsDown),
              newStart.value >= layout.mmapMinAddr,
              stack.end - newStart <= layout.stackLimit else { return nil }
        if let prev, !prev.flags.contains(.growsDown), prev.flags.isAccessible,
           newStart - prev.end < layout.stackGuardGap {
            return nil
        }
        return newStart
    }

    /// Nothing mapped yet. Linux: do_anonymous_page() / do_fault()
    static func absentPage(address: VirtAddr, write: Bool, vma: VMA) -> FaultAction {
        let shared = vma.flags.contains(.shared)
        switch vma.backing {
        case .anonymous:
            // A shared region must never map the zero page: a later write would make
            // the PTE writable in place (reuse) and scribble on everyone's zeros.
            return write || shared ? .zeroFillAnonymous : .mapZeroPage
        case .file:
            let page = vma.filePage(at: address) ?? 0
            if !write { return .readFilePage(pageOffset: page) }
            return shared ? .writeSharedFilePage(pageOffset: page) : .copyFilePage(pageOffset: page)
        }
    }

    /// A write hit a present read-only PTE in a writable region. Linux: do_wp_page()
    static func writeProtected(frame: MappedFrame, shared: Bool) -> FaultAction {
        if shared { return .reuseOnWrite }  // Linux: wp_page_shared()
        switch frame {
        case .anonymous(mapCount: 1): return .reuseOnWrite
        case .anonymous, .zeroPage, .pageCache: return .copyOnWrite
        }
    }
}
