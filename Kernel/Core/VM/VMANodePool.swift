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
/// a process makes (up to max_map_count). A value type with copy-on-write like
/// Array's: a copy (fork's dup_mmap) shares the storage until one side writes,
/// which then copies every chunk. Reads go straight to a chunk's memory, with no
/// reference counting on the fault path.
struct VMANodePool {
    private static let chunkShift = 6
    private static let chunkSize = 1 << chunkShift
    private static let chunkMask = Int32(chunkSize - 1)

    /// The chunks, owned by one pool at a time (`isKnownUniquelyReferenced`).
    private final class Storage {
        var chunks: [UnsafeMutablePointer<VMANode>] = []
        /// Nodes ever handed out, the sentinel included: the next fresh index.
        var used: Int32 = 0

        init() {}

        /// A deep copy, for the first write after a fork.
        init(copying other: Storage) {
            chunks.reserveCapacity(other.chunks.count)
            for (i, chunk) in other.chunks.enumerated() {
                let copy = UnsafeMutablePointer<VMANode>.allocate(capacity: VMANodePool.chunkSize)
                let live = min(VMANodePool.chunkSize, Int(other.used) - i * VMANodePool.chunkSize)
                copy.initialize(from: chunk, count: live)
                chunks.append(copy)
            }
            used = other.used
        }

        deinit {
            for (i, chunk) in chunks.enumerated() {
                chunk.deinitialize(count: min(VMANodePool.chunkSize, Int(used) - i * VMANodePool.chunkSize))
                chunk.deallocate()
            }
        }
    }

    private var storage = Storage()
    private var freeHead = vmaNil

    init() {
        append(VMANode(VMA(start: VirtAddr(0), end: VirtAddr(0), flags: [])))    // the sentinel, index 0
    }

    subscript(_ index: Int32) -> VMANode {
        get { storage.chunks[Int(index >> Self.chunkShift)][Int(index & Self.chunkMask)] }
        set {
            makeUnique()
            storage.chunks[Int(index >> Self.chunkShift)][Int(index & Self.chunkMask)] = newValue
        }
        _modify {
            makeUnique()
            yield &storage.chunks[Int(index >> Self.chunkShift)][Int(index & Self.chunkMask)]
        }
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
    }

    private mutating func append(_ node: VMANode) {
        makeUnique()
        if storage.used & Self.chunkMask == 0 {
            storage.chunks.append(UnsafeMutablePointer<VMANode>.allocate(capacity: Self.chunkSize))
        }
        (storage.chunks[storage.chunks.count - 1] + Int(storage.used & Self.chunkMask)).initialize(to: node)
        storage.used += 1
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
        append(node)
        return storage.used - 1
    }

    /// Returns a node to the free list. Linux: vm_area_free()
    mutating func free(_ index: Int32) {
        self[index].next = freeHead
        freeHead = index
    }
}
