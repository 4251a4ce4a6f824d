// Red-black balancing for the VMA tree (VMATree.swift): insert fix-up and
// erase, as CLRS chapter 13 gives them and Linux's lib/rbtree.c implements
// them.

// MARK: - balancing after insert
//
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
    private mutating func replaceInParent(_ old: Int32, with new: Int32) {
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
    private mutating func rotate(_ node: Int32, toward side: VMATreeSide) {
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

// MARK: - erase
//
// Removing a node from the red-black tree (CLRS RB-DELETE). Nodes are spliced out,
// never copied over, so every index a caller or the list holds stays valid. The
// in-order successor of a node with two children is simply its list neighbour.

extension VMATree {
    /// Unhooks `node` from the tree (not from the list) and rebalances. Linux: rb_erase()
    mutating func erase(_ node: Int32) {
        var removedRed = pool[node].isRed
        let fixFrom: Int32
        if pool[node].left == vmaNil {
            fixFrom = pool[node].right
            replaceInParent(node, with: fixFrom)
        } else if pool[node].right == vmaNil {
            fixFrom = pool[node].left
            replaceInParent(node, with: fixFrom)
        } else {
            // Two children: the successor (leftmost of the right subtree) takes node's place.
            let successor = pool[node].next
            removedRed = pool[successor].isRed
            fixFrom = pool[successor].right
            if pool[successor].parent == node {
                pool[fixFrom].parent = successor  // may write the sentinel: fixup reads it
            } else {
                replaceInParent(successor, with: fixFrom)
                pool[successor].right = pool[node].right
                pool[pool[successor].right].parent = successor
            }
            replaceInParent(node, with: successor)
            pool[successor].left = pool[node].left
            pool[pool[successor].left].parent = successor
            pool[successor].isRed = pool[node].isRed
        }
        if !removedRed { eraseFixup(fixFrom) }
    }

    /// `start` carries an extra black after a black node left its path; push it up
    /// or absorb it with rotations. Linux: ____rb_erase_color()
    private mutating func eraseFixup(_ start: Int32) {
        var node = start
        while node != root && !pool[node].isRed {
            let parent = pool[node].parent
            // A nil `node` still has a non-nil sibling, so this equality picks the right side.
            let side: VMATreeSide = pool[parent].left == node ? .left : .right
            var sibling = child(parent, side.opposite)
            if pool[sibling].isRed {
                // Case 1: make the sibling black by rotating it above the parent.
                pool[sibling].isRed = false
                pool[parent].isRed = true
                rotate(parent, toward: side)
                sibling = child(parent, side.opposite)
            }
            let near = child(sibling, side)
            let far = child(sibling, side.opposite)
            if !pool[near].isRed && !pool[far].isRed {
                // Case 2: take one black off both children, move the problem up.
                pool[sibling].isRed = true
                node = parent
                continue
            }
            if !pool[far].isRed {
                // Case 3: bring the red nephew to the far side.
                pool[near].isRed = false
                pool[sibling].isRed = true
                rotate(sibling, toward: side.opposite)
                sibling = child(parent, side.opposite)
            }
            // Case 4: rotate the parent down on our side; the extra black is absorbed.
            pool[sibling].isRed = pool[parent].isRed
            pool[parent].isRed = false
            pool[child(sibling, side.opposite)].isRed = false
            rotate(parent, toward: side)
            node = root
        }
        pool[node].isRed = false
    }
}
