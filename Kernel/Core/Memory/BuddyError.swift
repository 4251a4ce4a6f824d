// What a bad free tells its caller: the kernel panics naming frame and order,
// tests assert the exact case.

/// A free that the buddy allocator refused. Linux reports these as "Bad page state".
public enum BuddyError: Error, Equatable, Sendable {
    /// The block, or a block containing it, is already free.
    case doubleFree(pfn: UInt64, order: Int)
    /// The block was allocated with order `expected`, not `given`.
    case wrongOrder(pfn: UInt64, expected: Int, given: Int)
    /// The frame is reserved, outside mem_map, or inside an allocated block but not its first frame.
    case notOwned(pfn: UInt64)
    /// The address does not start a block of this order (or the order is out of range).
    case misaligned(pfn: UInt64, order: Int)
}

extension BuddyError {
    /// One line naming the frame and order, for the panic message.
    public var message: String {
        switch self {
        case .doubleFree(let pfn, let order):
            "double free of frame 0x\(Fmt.hex(pfn << pageShift)) (pfn \(pfn)) order \(order)"
        case .wrongOrder(let pfn, let expected, let given):
            "frame 0x\(Fmt.hex(pfn << pageShift)) (pfn \(pfn)) freed with order \(given), allocated with order \(expected)"
        case .notOwned(let pfn):
            "frame 0x\(Fmt.hex(pfn << pageShift)) (pfn \(pfn)) is not managed by the page allocator"
        case .misaligned(let pfn, let order):
            "frame 0x\(Fmt.hex(pfn << pageShift)) (pfn \(pfn)) is not aligned to order \(order)"
        }
    }
}
