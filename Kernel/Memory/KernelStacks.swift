// Kernel stacks. After boot every kernel stack is a vmalloc area with an
// unmapped guard page below it, so running off the end faults (and #DF, on its
// own IST stack, reports "stack overflow") instead of silently overwriting a
// neighbour. Linux: alloc_thread_stack_node() with CONFIG_VMAP_STACK

/// A kernel stack: [bottom, top), growing down from top.
struct KernelStack {
    /// Linux: THREAD_SIZE (16 KiB on x86-64)
    static let size = 16 * 1024
    let bottom: UInt64
    var top: UInt64 { bottom + UInt64(Self.size) }
}

enum KernelStacks {
    /// The 64 KiB stack the boot code runs on, in .bss (no guard page).
    static var bootStack: Range<UInt64> { KernelImage.bootStack }

    static func allocate() -> KernelStack? {
        guard let p = Vmalloc.allocate(bytes: KernelStack.size, isStack: true) else { return nil }
        return KernelStack(bottom: UInt64(UInt(bitPattern: p)))
    }

    static func free(_ stack: KernelStack) {
        Vmalloc.free(UnsafeMutableRawPointer(bitPattern: UInt(stack.bottom))!)
    }

    static func isMappedStackAddress(_ address: UInt64) -> Bool {
        bootStack.contains(address) || Vmalloc.isStackAddress(address)
    }

    /// True for an address in the guard page below a vmalloc'ed kernel stack.
    static func isGuardPage(_ address: UInt64) -> Bool { Vmalloc.isStackGuard(address) }
}
