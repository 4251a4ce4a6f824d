// The alternate signal stack (sigaltstack): a region a thread sets aside so a
// handler can run when its ordinary stack is unusable, typically the SIGSEGV of
// a stack overflow. A handler installed with SA_ONSTACK gets its frame there,
// unless the thread is already running on it (nested signals then stack up
// below the interrupted frame, as on any stack). Each frame records the
// setting in uc_stack and rt_sigreturn puts it back, which is how
// SS_AUTODISARM (disarm while a handler runs on it) is undone.
// Pure arithmetic; the kernel keeps one per thread (Task.signalStack).
// Linux: kernel/signal.c do_sigaltstack(), on_sig_stack(), sas_ss_flags(),
// __save_altstack(); arch/x86/kernel/signal.c get_sigframe()

/// One thread's alternate signal stack: [base, base + size), or none.
/// Linux: current->sas_ss_sp, sas_ss_size, sas_ss_flags
public struct SignalStack: Equatable, Sendable {
    public var base: UInt64 = 0
    public var size: UInt64 = 0
    /// Only SS_AUTODISARM is kept; SS_ONSTACK and SS_DISABLE are computed.
    public var autoDisarm = false

    /// Linux: SS_ONSTACK, SS_DISABLE, SS_AUTODISARM (include/uapi/linux/signal.h)
    public static let SS_ONSTACK: Int32 = 1, SS_DISABLE: Int32 = 2, SS_AUTODISARM: Int32 = 1 << 31
    /// The smallest stack sigaltstack accepts. Linux: MINSIGSTKSZ (x86: 2048)
    public static let minimumSize: UInt64 = 2048

    public init() {}

    /// `sp` lies on this stack (it grows down from base + size; the top itself
    /// counts, the base does not). With SS_AUTODISARM the thread is never
    /// considered on it: a handler running there may set up a new one.
    /// Linux: on_sig_stack()
    public func contains(_ sp: UInt64) -> Bool {
        !autoDisarm && sp > base && sp &- base <= size
    }

    /// What sigaltstack and uc_stack report for a thread at `sp`: SS_DISABLE
    /// without a stack, else SS_ONSTACK when on it, plus SS_AUTODISARM as set.
    /// Linux: sas_ss_flags() and the flags of do_sigaltstack()'s oss
    public func flags(at sp: UInt64) -> Int32 {
        let state: Int32 = size == 0 ? Self.SS_DISABLE : (contains(sp) ? Self.SS_ONSTACK : 0)
        return state | (autoDisarm ? Self.SS_AUTODISARM : 0)
    }

    /// The stack a sigaltstack(ss) call at `sp` installs: EPERM while running
    /// on the current one, EINVAL for unknown flags, ENOMEM below MINSIGSTKSZ.
    /// SS_DISABLE clears it (its address and size are ignored).
    /// Linux: do_sigaltstack()
    public func replaced(base newBase: UInt64, flags: Int32, size newSize: UInt64, at sp: UInt64) throws(Errno) -> SignalStack {
        guard !contains(sp) else { throw .EPERM }
        let mode = flags & ~Self.SS_AUTODISARM
        guard mode == 0 || mode == Self.SS_ONSTACK || mode == Self.SS_DISABLE else { throw .EINVAL }
        var next = SignalStack()
        if mode != Self.SS_DISABLE {
            guard newSize >= Self.minimumSize else { throw .ENOMEM }
            next.base = newBase
            next.size = newSize
            next.autoDisarm = flags & Self.SS_AUTODISARM != 0
        }
        return next
    }

    /// Where a handler's frame is built below, for a thread interrupted at `sp`
    /// whose handler asked for SA_ONSTACK (`onStack`): the top of this stack if
    /// it is set and the thread is not on it yet, else under the red zone
    /// (128 bytes below `sp`). `entering` says the frame moves onto this stack.
    /// Linux: the first half of get_sigframe()
    public func frameTop(sp: UInt64, onStack: Bool) -> (top: UInt64, entering: Bool) {
        let below = sp &- 128
        if onStack && flags(at: below) & (Self.SS_ONSTACK | Self.SS_DISABLE) == 0 {
            return (base &+ size, true)
        }
        return (below, false)
    }

    /// A frame whose lowest byte is `frameBase`, built for a thread at `sp`, fits:
    /// one that enters this stack or nests on it must stay on it, or the
    /// handler would overrun it (Linux then kills the thread with SIGSEGV).
    /// Linux: the "would overflow it" check of get_sigframe()
    public func frameFits(_ frameBase: UInt64, sp: UInt64, entering: Bool) -> Bool {
        guard entering || contains(sp) else { return true }
        return frameBase > base && frameBase &- base <= size
    }
}
