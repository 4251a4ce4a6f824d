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

/// The array of nodes with its free list (linked through `next`).
struct VMANodePool {
    private var nodes = [VMANode(VMA(start: VirtAddr(0), end: VirtAddr(0), flags: []))]
    private var freeHead = vmaNil

    subscript(_ index: Int32) -> VMANode {
        get { nodes[Int(index)] }
        _modify { yield &nodes[Int(index)] }
    }

    /// A fresh red node holding `vma`, unlinked. Linux: vm_area_alloc()
    mutating func allocate(_ vma: VMA) -> Int32 {
        var node = VMANode(vma)
        node.isRed = true
        if freeHead != vmaNil {
            let index = freeHead
            freeHead = nodes[Int(index)].next
            nodes[Int(index)] = node
            return index
        }
        nodes.append(node)
        return Int32(nodes.count - 1)
    }

    /// Returns a node to the free list. Linux: vm_area_free()
    mutating func free(_ index: Int32) {
        nodes[Int(index)].next = freeHead
        freeHead = index
    }
}
