// Red-black balancing shared by insert and erase (CLRS chapter 13, the rules
// Linux's lib/rbtree.c implements). Each mirrored pair of cases is written once
// with a `Side` parameter instead of twice with left and right swapped.
//
// The rules: every node is red or black, the root is black, a red node has black
// children, and every path from a node down to a leaf passes the same number of
// black nodes. Together they keep the height below 2·log2(n+1).

/// Which child of a node.
enum VMATreeSide {
    case left, right

    var opposite: VMATreeSide { self == .left ? .right : .left }
}

extension VMATree {
    func child(_ node: Int32, _ side: VMATreeSide) -> Int32 {
        side == .left ? pool[node].left : pool[node].right
    }

    mutating func setChild(_ node: Int32, _ side: VMATreeSide, _ child: Int32) {
        if side == .left { pool[node].left = child } else { pool[node].right = child }
    }

    /// Which side of its parent `node` hangs on.
    func side(of node: Int32) -> VMATreeSide {
        pool[pool[node].parent].left == node ? .left : .right
    }

    /// Makes `new` take `old`'s place under `old`'s parent (or as root).
    mutating func replaceInParent(_ old: Int32, with new: Int32) {
        let parent = pool[old].parent
        if parent == vmaNil {
            root = new
        } else {
            setChild(parent, side(of: old), new)
        }
        pool[new].parent = parent
    }

    /// Moves `node` down toward `side`; its child on the other side takes its place.
    /// `rotate(x, toward: .left)` is CLRS's LEFT-ROTATE(x). Linux: __rb_rotate_set_parents()
    mutating func rotate(_ node: Int32, toward side: VMATreeSide) {
        let riser = child(node, side.opposite)
        let inner = child(riser, side)
        setChild(node, side.opposite, inner)
        if inner != vmaNil { pool[inner].parent = node }
        replaceInParent(node, with: riser)
        setChild(riser, side, node)
        pool[node].parent = riser
    }

    /// Restores the rules after linking red leaf `node`. Linux: __rb_insert()
    mutating func insertFixup(_ inserted: Int32) {
        var node = inserted
        while pool[pool[node].parent].isRed {
            let parent = pool[node].parent
            let grandparent = pool[parent].parent
            let side = self.side(of: parent)
            let uncle = child(grandparent, side.opposite)
            if pool[uncle].isRed {
                // Case 1: recolour and continue two levels up.
                pool[parent].isRed = false
                pool[uncle].isRed = false
                pool[grandparent].isRed = true
                node = grandparent
                continue
            }
            if node == child(parent, side.opposite) {
                // Case 2: turn the inner grandchild into an outer one.
                node = parent
                rotate(node, toward: side)
            }
            // Case 3: rotate the grandparent away from the red pair.
            let top = pool[node].parent
            pool[top].isRed = false
            pool[grandparent].isRed = true
            rotate(grandparent, toward: side.opposite)
        }
        pool[root].isRed = false
    }
}
