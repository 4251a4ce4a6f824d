// Kernel stacks. Each one (after boot) is a vmalloc area: a few mapped pages with
// an unmapped guard page below, so running off the end faults instead of
// silently overwriting a neighbour. Linux: alloc_thread_stack_node() with
// CONFIG_VMAP_STACK

enum KernelStacks {
    /// The 64 KiB stack the boot code runs on, in .bss (no guard page).
    static var bootStack: Range<UInt64> { symbol_boot_stack_bottom()..<symbol_boot_stack_top() }

    static func isMappedStackAddress(_ address: UInt64) -> Bool {
        bootStack.contains(address) || Vmalloc.isStackAddress(address)
    }

    /// True for an address in the guard page below a vmalloc'ed kernel stack.
    static func isGuardPage(_ address: UInt64) -> Bool { Vmalloc.isStackGuard(address) }
}
