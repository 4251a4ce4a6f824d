// Storage for VMATree nodes: one growable array with nodes addressed by Int32
// index, freed slots chained for reuse. No per-node heap object means no reference
// counting on the fault path, and copying a tree (fork) is one array copy.
// Index 0 is the red-black "nil" sentinel (CLRS's T.nil): always black, so the
// balancing code needs no special case for missing children.

/// The sentinel index: no node. Linux: a NULL rb_node / vm_area_struct pointer
let vmaNil: Int32 = 0

/// A tree node: the VMA, its red-black links and its address-order list links.
struct VMANode {
    var vma: VMA
    var left: Int32
    var right: Int32
    var parent: Int32
    /// Neighbours in address order. Linux: vm_prev, vm_next
    var prev: Int32
    var next: Int32
    /// Linux: rb_node colour (__rb_parent_color low bit)
    var isRed: Bool

    init(_ vma: VMA) {
        self.vma = vma
        left = vmaNil
        right = vmaNil
        parent = vmaNil
        prev = vmaNil
        next = vmaNil
        isRed = false
    }
}

/// The nodes with their free list (linked through `next`), in chunks of 64: no
/// allocation is ever larger than one chunk (about 5 KiB), however many regions
/// a process makes (up to max_map_count), and a fork's copy of the tree shares
/// every chunk until one side writes to it (copy-on-write of each Swift array).
struct VMANodePool {
    private static let chunkShift = 6
    private static let chunkMask = Int32(1 << chunkShift - 1)
    private var chunks: [[VMANode]] = [[VMANode(VMA(start: VirtAddr(0), end: VirtAddr(0), flags: []))]]
    /// Nodes ever handed out, the sentinel included: the next fresh index.
    private var used: Int32 = 1
    private var freeHead = vmaNil

    subscript(_ index: Int32) -> VMANode {
        get { chunks[Int(index >> Self.chunkShift)][Int(index & Self.chunkMask)] }
        _modify { yield &chunks[Int(index >> Self.chunkShift)][Int(index & Self.chunkMask)] }
    }

    /// A fresh red node holding `vma`, unlinked. Linux: vm_area_alloc()
    mutating func allocate(_ vma: VMA) -> Int32 {
        var node = VMANode(vma)
        node.isRed = true
        if freeHead != vmaNil {
            let index = freeHead
            freeHead = self[index].next
            self[index] = node
            return index
        }
        if used & Self.chunkMask == 0 {
            var chunk: [VMANode] = []
            chunk.reserveCapacity(1 << Self.chunkShift)
            chunks.append(chunk)
        }
        chunks[chunks.count - 1].append(node)
        used += 1
        return used - 1
    }

    /// Returns a node to the free list. Linux: vm_area_free()
    mutating func free(_ index: Int32) {
        self[index].next = freeHead
        freeHead = index
    }
}
