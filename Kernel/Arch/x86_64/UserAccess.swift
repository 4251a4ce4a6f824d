// The one instruction sequence that touches user memory (Boot/usercopy.S:
// `rep movsq` then `rep movsb` between stac and clac) and its exception-table
// entries: a fault there that the page-fault handler cannot resolve resumes at
// a fixup, which finishes bytewise or returns the number of bytes not copied. Kernel/Memory/UserCopy.swift builds
// every user copy on these two. Linux: arch/x86/lib/copy_user_64.S, the
// _ASM_EXTABLE entries and fixup_exception()

enum UserAccess {
    /// Copies `count` bytes between a user range and kernel memory (either
    /// direction); returns how many were not copied because of a fault.
    /// Linux: copy_user_generic()
    @inline(__always)
    static func copy(_ destination: UnsafeMutableRawPointer?, _ source: UnsafeRawPointer?, count: Int) -> Int {
        Int(copy_user(destination, source, UInt64(count)))
    }

    /// The exception table: where a fault at `rip` inside a user copy resumes.
    /// Linux: search_exception_tables() + fixup_exception()
    static func fixup(forFaultAt rip: UInt64) -> UInt64? {
        switch rip {
        case symbol_copy_user_words(): symbol_copy_user_words_fixup()    // retry the rest bytewise
        case symbol_copy_user_insn(): symbol_copy_user_fixup()           // bytes left in rcx
        default: nil
        }
    }
}
