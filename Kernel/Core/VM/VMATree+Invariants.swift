// A full consistency check of a VMATree, for tests and debug builds: the red-black
// rules, the search-tree order, the list against the in-order walk, and the
// derived counters. O(n log n), iterative, so a broken tree cannot overflow the stack.

/// The first broken invariant `VMATree.checkInvariants()` finds, with the start
/// address of the offending region where there is one.
public enum VMATreeViolation: Equatable, Sendable {
    case rootNotBlack
    case sentinelNotBlack
    case redNodeWithRedChild(VirtAddr)
    case blackHeightMismatch(VirtAddr)
    case brokenParentLink(VirtAddr)
    /// Empty, misaligned, or not above the end of the previous region.
    case badRangeOrOrder(VirtAddr)
    /// The list disagrees with the in-order tree walk at this region (nil: at an end).
    case listMismatch(VirtAddr?)
    case countMismatch
    case totalVMMismatch
    case lockedVMMismatch
    /// The last-hit cache refers to a node that is not in the tree.
    case staleCache
}

extension VMATree {
    /// nil if every invariant holds, else the first violation found. Linux: validate_mm()
    public func checkInvariants() -> VMATreeViolation? {
        if pool[vmaNil].isRed { return .sentinelNotBlack }
        if pool[root].isRed { return .rootNotBlack }
        if root != vmaNil && pool[root].parent != vmaNil { return .brokenParentLink(pool[root].vma.start) }

        var stack: [Int32] = []
        var node = root
        var listCursor = head
        var previous = vmaNil
        var visited = 0
        var pages: UInt64 = 0
        var lockedPages: UInt64 = 0
        var blackHeight = -1
        var cacheSeen = cache == vmaNil
        while node != vmaNil || !stack.isEmpty {
            while node != vmaNil {
                stack.append(node)
                node = pool[node].left
            }
            node = stack.removeLast()
            visited += 1
            if visited > count { return .countMismatch }  // also stops on a cycle
            let vma = pool[node].vma
            if let violation = checkNode(node) { return violation }
            if pool[node].left == vmaNil || pool[node].right == vmaNil {
                let height = blackNodes(fromLeafParent: node)
                if blackHeight < 0 { blackHeight = height }
                if height != blackHeight { return .blackHeightMismatch(vma.start) }
            }
            if !vma.isWellFormed || (previous != vmaNil && pool[previous].vma.end > vma.start) {
                return .badRangeOrOrder(vma.start)
            }
            if listCursor != node || pool[node].prev != previous { return .listMismatch(vma.start) }
            if node == cache { cacheSeen = true }
            pages += vma.pageCount
            if vma.flags.contains(.locked) { lockedPages += vma.pageCount }
            previous = node
            listCursor = pool[node].next
            node = pool[node].right
        }
        if listCursor != vmaNil || tail != previous { return .listMismatch(nil) }
        if visited != count { return .countMismatch }
        if pages != totalVM { return .totalVMMismatch }
        if lockedPages != lockedVM { return .lockedVMMismatch }
        if !cacheSeen { return .staleCache }
        return nil
    }

    /// Colour and parent-link rules at one node.
    private func checkNode(_ node: Int32) -> VMATreeViolation? {
        let start = pool[node].vma.start
        for side in [VMATreeSide.left, .right] {
            let kid = child(node, side)
            guard kid != vmaNil else { continue }
            if pool[kid].parent != node { return .brokenParentLink(pool[kid].vma.start) }
            if pool[node].isRed && pool[kid].isRed { return .redNodeWithRedChild(start) }
        }
        return nil
    }

    /// Black nodes from `node` up to the root: the black height of its nil child's path.
    private func blackNodes(fromLeafParent node: Int32) -> Int {
        var blacks = 0
        var cursor = node
        while cursor != vmaNil {
            if !pool[cursor].isRed { blacks += 1 }
            cursor = pool[cursor].parent
        }
        return blacks
    }
}
