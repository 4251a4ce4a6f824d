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
    mutating func eraseFixup(_ start: Int32) {
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
