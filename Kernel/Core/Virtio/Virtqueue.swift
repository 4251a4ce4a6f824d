// A split virtqueue (virtio 1.2 section 2.7): the ring of buffers a driver
// shares with a device. Three areas in memory both can reach:
//
//   descriptor table  size × 16 bytes: address, length, flags, next
//   driver (avail)    flags, idx, ring[size]: heads of chains offered to the device
//   device (used)     flags, idx, ring[size] of (id, len): heads of chains it is done with
//
// The driver links descriptors into a chain per request (NEXT flag), puts the
// head in the avail ring and bumps avail.idx; the device consumes it, writes
// the result and puts the head into the used ring. Both idx fields run freely
// and wrap at 2^16; the ring slot is idx mod size (size is a power of two).
//
// This file is the bookkeeping only: the free-descriptor list and the two
// indices. The memory is reached through `VirtqueueMemory`, ordinary (but
// volatile) kernel memory in the kernel, an array in the host tests. The
// caller serialises every call (the driver's queue lock).
// Linux: drivers/virtio/virtio_ring.c (the split ring half)

/// The shared ring memory, by byte offset from the start of the ring area.
/// The kernel's implementation must not cache or merge accesses: the device
/// reads and writes it behind the compiler's back.
public protocol VirtqueueMemory {
    func load16(_ offset: Int) -> UInt16
    func load32(_ offset: Int) -> UInt32
    func store16(_ offset: Int, _ value: UInt16)
    func store32(_ offset: Int, _ value: UInt32)
    func store64(_ offset: Int, _ value: UInt64)
    /// Orders the ring writes before it ahead of the index write after it, and
    /// the index read before it ahead of the ring reads after it. Linux: virtio_wmb()/virtio_rmb()
    func barrier()
}

/// Where the three areas lie in one block (the descriptor table first, the
/// used ring 4-byte aligned). Linux: vring_init() with align 4
public struct VirtqueueLayout: Equatable, Sendable {
    public let size: Int
    public var descriptorOffset: Int { 0 }
    public var availOffset: Int { 16 * size }
    public var usedOffset: Int { (availOffset + 6 + 2 * size + 3) & ~3 }
    /// Bytes of the whole block.
    public var totalBytes: Int { usedOffset + 6 + 8 * size }

    public init(size: Int) { self.size = size }
}

/// Descriptor flags. Linux: VRING_DESC_F_NEXT, VRING_DESC_F_WRITE
public enum VirtqueueDescriptorFlags {
    public static let next: UInt16 = 1
    /// The device writes this buffer (a read's data, a status byte).
    public static let deviceWrites: UInt16 = 2
}

/// One buffer of a request's chain: its bus address and length, and whether the device writes it.
public struct VirtqueueBuffer: Equatable, Sendable {
    public var address: UInt64
    public var length: UInt32
    public var deviceWrites: Bool
    public init(address: UInt64, length: UInt32, deviceWrites: Bool) {
        self.address = address; self.length = length; self.deviceWrites = deviceWrites
    }
}

/// Linux: struct vring_virtqueue (split)
public struct Virtqueue<Memory: VirtqueueMemory> {
    public let layout: VirtqueueLayout
    public let memory: Memory
    /// Free descriptors, linked through `nextFree` (the driver's own copy: the
    /// device may not be trusted to leave the table's next fields alone).
    private var nextFree: [UInt16]
    private var freeHead: UInt16
    public private(set) var freeCount: Int
    /// Chain length by head, to give the descriptors back when the device is done.
    private var chainLength: [UInt16]
    /// avail.idx as last written, and the used.idx this driver has consumed up to.
    private var availIndex: UInt16 = 0
    private var lastUsedIndex: UInt16 = 0

    /// `size` must be a power of two (what the device offers or less).
    public init(size: Int, memory: Memory) {
        precondition(size > 0 && size <= 32768 && size & (size - 1) == 0, "virtqueue size must be a power of two")
        layout = VirtqueueLayout(size: size)
        self.memory = memory
        nextFree = (0..<size).map { UInt16(truncatingIfNeeded: $0 + 1) }
        freeHead = 0
        freeCount = size
        chainLength = [UInt16](repeating: 0, count: size)
        memory.store16(layout.availOffset, 0)                  // flags: interrupts wanted
        memory.store16(layout.availOffset + 2, 0)
    }

    /// The descriptor the next `submit` will use as its chain's head (when
    /// any is free): a driver keeps per-request data indexed by it.
    public var nextHead: UInt16 { freeHead }

    /// Links `buffers` into a chain of free descriptors and offers it to the
    /// device; returns its head, or nil (nothing changed) when too few are free.
    /// Linux: virtqueue_add_split() + virtqueue_kick_prepare()
    public mutating func submit(_ buffers: [VirtqueueBuffer]) -> UInt16? {
        guard !buffers.isEmpty, buffers.count <= freeCount else { return nil }
        let head = freeHead
        var index = head
        for (i, buffer) in buffers.enumerated() {
            let offset = layout.descriptorOffset + 16 * Int(index)
            let last = i == buffers.count - 1
            let following = nextFree[Int(index)]
            memory.store64(offset, buffer.address)
            memory.store32(offset + 8, buffer.length)
            memory.store16(offset + 12, (last ? 0 : VirtqueueDescriptorFlags.next)
                                        | (buffer.deviceWrites ? VirtqueueDescriptorFlags.deviceWrites : 0))
            memory.store16(offset + 14, last ? 0 : following)
            if !last { index = following }
            freeHead = following
        }
        freeCount -= buffers.count
        chainLength[Int(head)] = UInt16(buffers.count)
        memory.store16(layout.availOffset + 4 + 2 * (Int(availIndex) & (layout.size - 1)), head)
        memory.barrier()                                   // the entry before the index that publishes it
        availIndex &+= 1
        memory.store16(layout.availOffset + 2, availIndex)
        memory.barrier()                                   // the index before the doorbell
        return head
    }

    /// The next chain the device has finished: its head and the bytes it
    /// wrote; the chain's descriptors are free again. Nil when there is none.
    /// A head the device made up (out of range, or not in flight) is skipped.
    /// Linux: virtqueue_get_buf() → detach_buf_split()
    public mutating func nextUsed() -> (head: UInt16, written: UInt32)? {
        while memory.load16(layout.usedOffset + 2) != lastUsedIndex {
            memory.barrier()                               // the index before the entry it covers
            let slot = layout.usedOffset + 4 + 8 * (Int(lastUsedIndex) & (layout.size - 1))
            let id = memory.load32(slot), written = memory.load32(slot + 4)
            lastUsedIndex &+= 1
            guard id < UInt32(layout.size), chainLength[Int(id)] != 0 else { continue }
            let head = UInt16(id)
            release(head)
            return (head, written)
        }
        return nil
    }

    /// Puts a finished chain back at the front of the free list.
    private mutating func release(_ head: UInt16) {
        let count = Int(chainLength[Int(head)])
        chainLength[Int(head)] = 0
        // The chain's descriptors, in order, followed the free list when it was
        // taken: walk our own copy of the links, not the device-visible table.
        var last = head
        for _ in 1..<count { last = nextFree[Int(last)] }
        nextFree[Int(last)] = freeHead
        freeHead = head
        freeCount += count
    }
}
