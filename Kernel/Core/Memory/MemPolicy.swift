// NUMA memory policies: which node a task's or a region's pages come from.
// The pure part of set_mempolicy, get_mempolicy, mbind, migrate_pages and
// move_pages: the constants of <linux/mempolicy.h>, the checks of the mode
// word, the node mask and the flags in Linux 6.1's order and with its error
// numbers, the node an allocation asks for, and the source → destination
// plan of migrate_pages. The kernel side (Kernel/Memory/NUMAPolicy.swift)
// copies the arguments in and out and walks the pages.
//
// A policy is a value: "no policy" (MPOL_DEFAULT, Linux's NULL mempolicy) is
// nil at the task and the VMA, so two regions with equal policies (or none)
// may merge and fork copies a policy by assignment.
// Linux: mm/mempolicy.c, include/uapi/linux/mempolicy.h

/// A memory policy. Linux: struct mempolicy
public struct MemPolicy: Equatable, Sendable {
    // MARK: constants (include/uapi/linux/mempolicy.h)

    public static let MPOL_DEFAULT = 0, MPOL_PREFERRED = 1, MPOL_BIND = 2, MPOL_INTERLEAVE = 3
    public static let MPOL_LOCAL = 4, MPOL_PREFERRED_MANY = 5
    /// One past the last mode Linux 6.1 knows: MPOL_WEIGHTED_INTERLEAVE (6)
    /// came with 6.9, and 6.1 refuses it as any unknown mode. Linux: MPOL_MAX
    public static let MPOL_MAX = 6
    public static let MPOL_F_STATIC_NODES = 1 << 15, MPOL_F_RELATIVE_NODES = 1 << 14
    public static let MPOL_F_NUMA_BALANCING = 1 << 13
    /// The mode flags a caller may add to the mode. Linux: MPOL_MODE_FLAGS
    public static let MPOL_MODE_FLAGS = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES | MPOL_F_NUMA_BALANCING
    /// get_mempolicy's flags.
    public static let MPOL_F_NODE = 1, MPOL_F_ADDR = 2, MPOL_F_MEMS_ALLOWED = 4
    /// mbind's and move_pages' flags. Linux: MPOL_MF_VALID
    public static let MPOL_MF_STRICT = 1, MPOL_MF_MOVE = 2, MPOL_MF_MOVE_ALL = 4
    public static let MPOL_MF_VALID = MPOL_MF_STRICT | MPOL_MF_MOVE | MPOL_MF_MOVE_ALL
    /// The most node numbers the kernel keeps (Keel: 64; Debian's 6.1: 1024).
    /// Bits of a user mask above it must be zero. Linux: MAX_NUMNODES
    public static let maxNumNodes = NodeMask.capacity
    /// Linux: PAGE_SIZE * BITS_PER_BYTE, the most bits a user mask may claim
    public static let maxUserNodes: UInt64 = 4096 * 8

    /// The modes a policy can have (MPOL_DEFAULT is no policy at all).
    public enum Mode: Int, Sendable {
        case preferred = 1, bind = 2, interleave = 3, local = 4, preferredMany = 5
    }

    public var mode: Mode
    /// MPOL_F_STATIC_NODES, MPOL_F_RELATIVE_NODES, MPOL_F_NUMA_BALANCING as
    /// the caller gave them. Linux: mempolicy.flags (the user-visible part)
    public var flags: Int
    /// The nodes the policy uses: the caller's mask cut to the nodes with
    /// memory (relative: mapped onto them). Empty for MPOL_LOCAL.
    /// Linux: mempolicy.nodes
    public var nodes: NodeMask
    /// The caller's mask as given, kept for STATIC/RELATIVE policies, which
    /// get_mempolicy reports unchanged. Linux: mempolicy.w.user_nodemask
    public var userNodes: NodeMask

    public init(mode: Mode, flags: Int = 0, nodes: NodeMask, userNodes: NodeMask? = nil) {
        self.mode = mode; self.flags = flags; self.nodes = nodes; self.userNodes = userNodes ?? nodes
    }

    /// The policy keeps the caller's mask. Linux: mpol_store_user_nodemask()
    public var storesUserNodes: Bool { flags & (Self.MPOL_F_STATIC_NODES | Self.MPOL_F_RELATIVE_NODES) != 0 }
}

// MARK: - checking what the caller asks for

extension MemPolicy {
    /// Splits the mode argument of set_mempolicy or mbind into mode and mode
    /// flags. EINVAL for an unknown mode, STATIC with RELATIVE, or
    /// NUMA_BALANCING on anything but MPOL_BIND. Linux: sanitize_mpol_flags()
    public static func sanitize(_ argument: Int) throws(Errno) -> (mode: Int, flags: Int) {
        // The argument is an int in Linux: the upper half of the register is ignored.
        let word = Int(UInt32(truncatingIfNeeded: argument))
        let flags = word & MPOL_MODE_FLAGS
        let mode = word & ~MPOL_MODE_FLAGS
        guard mode < MPOL_MAX else { throw .EINVAL }
        if flags & MPOL_F_STATIC_NODES != 0 && flags & MPOL_F_RELATIVE_NODES != 0 { throw .EINVAL }
        if flags & MPOL_F_NUMA_BALANCING != 0 && mode != MPOL_BIND { throw .EINVAL }
        return (mode, flags)
    }

    /// The policy for a sanitized mode, flags and the caller's node mask, or
    /// nil for MPOL_DEFAULT. `memory`: the nodes the caller may use (online,
    /// with memory; Keel has no cpusets). EINVAL: MPOL_DEFAULT or MPOL_LOCAL
    /// with nodes, MPOL_PREFERRED with no nodes but a mode flag, another mode
    /// with no nodes, or a mask with none of `memory` in it (nodes outside it
    /// are dropped when some are left, as Linux does). MPOL_PREFERRED with
    /// no nodes is MPOL_LOCAL. Linux: mpol_new() + mpol_set_nodemask() +
    /// mpol_new_nodemask() / mpol_new_preferred()
    public static func make(mode: Int, flags: Int, nodes user: NodeMask, memory: NodeMask) throws(Errno) -> MemPolicy? {
        let fixed = flags & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES) != 0
        var kind: Mode
        switch mode {
        case MPOL_DEFAULT:
            guard user.isEmpty else { throw .EINVAL }
            return nil
        case MPOL_PREFERRED where user.isEmpty:
            guard !fixed else { throw .EINVAL }
            kind = .local
        case MPOL_LOCAL:
            guard user.isEmpty, !fixed else { throw .EINVAL }
            kind = .local
        default:
            guard let known = Mode(rawValue: mode), !user.isEmpty else { throw .EINVAL }
            kind = known
        }
        guard kind != .local else { return MemPolicy(mode: .local, flags: flags, nodes: .none) }
        let usable = flags & MPOL_F_RELATIVE_NODES != 0 ? relative(user, onto: memory) : user.intersection(memory)
        guard !usable.isEmpty else { throw .EINVAL }
        // MPOL_PREFERRED keeps one node: the lowest. Linux: mpol_new_preferred()
        let nodes = kind == .preferred ? NodeMask.node(usable.first!) : usable
        return MemPolicy(mode: kind, flags: flags, nodes: nodes, userNodes: fixed ? user : nodes)
    }

    /// `user` read relative to `allowed`: node n means the n-th node of
    /// `allowed`, counting round it. Linux: mpol_relative_nodemask() =
    /// nodes_fold() + nodes_onto()
    public static func relative(_ user: NodeMask, onto allowed: NodeMask) -> NodeMask {
        let targets = allowed.nodes
        guard !targets.isEmpty else { return .none }
        var out = NodeMask.none
        for n in user.nodes { out.insert(targets[n % targets.count]) }
        return out
    }

    /// Reads a user node mask of `maxnode` bits of which Linux uses the first
    /// maxnode - 1 (an off-by-one kept for thirty years), a 64-bit word at a
    /// time through `word(i)` (which throws EFAULT for memory it cannot
    /// read). No mask (`present` false) or maxnode ≤ 1: the empty mask.
    /// EINVAL: more than a page of bits, or a bit at or above maxNumNodes.
    /// Linux: get_nodes() + get_bitmap()
    public static func readNodeMask(maxnode: UInt64, present: Bool,
                                    word: (Int) throws(Errno) -> UInt64) throws(Errno) -> NodeMask {
        var bits = maxnode &- 1
        guard bits != 0, present else { return .none }
        guard bits <= maxUserNodes else { throw .EINVAL }
        // The bits the kernel cannot hold must be zero, checked from the end
        // a word at a time as Linux does (so the first fault is at the top).
        let held = UInt64(maxNumNodes)
        while bits > held {
            let chunk = min(bits, 64)
            var t = try word(Int((bits - 1) / 64))
            if chunk < 64 { t &= (1 << chunk) - 1 }
            if bits - chunk >= held {
                bits -= chunk
            } else {
                bits = held
                t &= ~((held % 64 == 0 ? 0 : (UInt64(1) << (held % 64))) &- 1)
            }
            guard t == 0 else { throw .EINVAL }
        }
        var mask = try word(0)
        if bits < 64 { mask &= (1 << bits) - 1 }
        return NodeMask(rawValue: mask)
    }

    /// How get_mempolicy writes a mask of `maxnode` bits (nil mask pointer:
    /// not asked): the bytes of the node mask to copy, then zero bytes after
    /// them. EINVAL for maxnode below nr_node_ids (checked first of all) or
    /// more than a page to write. Linux: kernel_get_mempolicy()'s nr_node_ids
    /// check + copy_nodes_to_user()
    public static func nodeMaskCopyOut(maxnode: UInt64, nodeIDs: Int) throws(Errno) -> (copy: Int, zero: Int) {
        guard maxnode >= UInt64(nodeIDs) else { throw .EINVAL }
        var copy = ((maxnode - 1 + 63) / 64) * 8
        let held = UInt64((nodeIDs + 63) / 64 * 8)
        var zero: UInt64 = 0
        if copy > held {
            guard copy <= 4096 else { throw .EINVAL }
            zero = copy - held
            copy = held
        }
        return (Int(copy), Int(zero))
    }
}

// MARK: - get_mempolicy

extension MemPolicy {
    /// What get_mempolicy is asked. Linux: do_get_mempolicy()'s flag cases
    public enum Query: Equatable, Sendable {
        /// The policy (mode word and nodes) of the task, or with `address` of
        /// the VMA there (MPOL_F_ADDR).
        case policy(address: UInt64?)
        /// The node the page at `address` is on (MPOL_F_NODE | MPOL_F_ADDR).
        case nodeOfPage(address: UInt64)
        /// The node the task's next interleaved page comes from (MPOL_F_NODE).
        case nextInterleaveNode
        /// The nodes the task may use (MPOL_F_MEMS_ALLOWED).
        case memsAllowed
    }

    /// EINVAL: unknown flags, MEMS_ALLOWED with another flag, an address
    /// without MPOL_F_ADDR. (MPOL_F_NODE without an interleaving task policy
    /// is EINVAL too, found once the policy is known.) Linux: do_get_mempolicy()
    public static func query(flags: UInt64, address: UInt64) throws(Errno) -> Query {
        let f = UInt64(MPOL_F_NODE | MPOL_F_ADDR | MPOL_F_MEMS_ALLOWED)
        guard flags & ~f == 0 else { throw .EINVAL }
        if flags & UInt64(MPOL_F_MEMS_ALLOWED) != 0 {
            guard flags & UInt64(MPOL_F_NODE | MPOL_F_ADDR) == 0 else { throw .EINVAL }
            return .memsAllowed
        }
        let byAddress = flags & UInt64(MPOL_F_ADDR) != 0
        guard byAddress || address == 0 else { throw .EINVAL }
        if flags & UInt64(MPOL_F_NODE) != 0 { return byAddress ? .nodeOfPage(address: address) : .nextInterleaveNode }
        return .policy(address: byAddress ? address : nil)
    }

    /// The int get_mempolicy stores for `policy` (nil: MPOL_DEFAULT): the mode
    /// with the caller's mode flags. Linux: do_get_mempolicy()'s *policy
    public static func modeWord(_ policy: MemPolicy?) -> Int32 {
        guard let policy else { return Int32(MPOL_DEFAULT) }
        return Int32(policy.mode.rawValue | (policy.flags & MPOL_MODE_FLAGS))
    }

    /// The mask get_mempolicy reports: the caller's own for STATIC/RELATIVE,
    /// else the nodes in use (none for local or no policy).
    /// Linux: do_get_mempolicy()'s user_nodemask / get_policy_nodemask()
    public static func reportedNodes(_ policy: MemPolicy?) -> NodeMask {
        guard let policy else { return .none }
        return policy.storesUserNodes ? policy.userNodes : policy.nodes
    }
}

// MARK: - where a page comes from

extension MemPolicy {
    /// The `which`-th node of the policy's nodes, counting round them: the
    /// interleave node of page offset `which`. No allocation: it runs on
    /// every fault of an interleaved region. Linux: offset_il_node()
    public func interleaveNode(_ which: UInt64) -> Int? {
        let count = nodes.count
        guard count > 0 else { return nil }
        var mask = nodes.rawValue
        for _ in 0..<Int(which % UInt64(count)) { mask &= mask - 1 }       // drop the lowest nodes
        return mask.trailingZeroBitCount
    }

    /// The node after `previous` in round-robin order (interleaving outside a
    /// VMA, the task's il_prev). Linux: interleave_nodes() → next_node_in()
    public func nextInterleaveNode(after previous: Int) -> Int? { nodes.next(after: previous) }

    /// Where a page under this policy comes from. `local`: the node of the
    /// CPU asking; `order`: every node, nearest `local` first (its zonelist,
    /// PageAllocator.zonelist); `interleave`: the node an interleave policy
    /// picked (by the page's offset in its VMA, or round robin). MPOL_BIND
    /// and MPOL_PREFERRED_MANY start at their first node in `order`; BIND
    /// allows only its nodes, the others fall back anywhere. Called on every
    /// fault under a policy, so it allocates nothing.
    /// Linux: policy_node() + policy_nodemask() (the local zonelist filtered
    /// by the mask), alloc_pages_preferred_many(), alloc_page_interleave()
    public func nodeChoice(local: Int, order: [Int], interleave: Int?) -> NodeChoice {
        // The policy's node the local zonelist reaches first.
        var nearest: Int { order.first { nodes.contains($0) } ?? nodes.first ?? local }
        switch mode {
        case .local: return NodeChoice(preferred: local)
        case .preferred: return NodeChoice(preferred: nodes.first ?? local)
        case .bind: return NodeChoice(preferred: nearest, allowed: nodes)
        case .preferredMany: return NodeChoice(preferred: nearest)
        case .interleave: return NodeChoice(preferred: interleave ?? nearest, interleaved: true)
        }
    }

    /// The node a page is on fits the policy (mbind's MPOL_MF_STRICT/MOVE
    /// check uses the caller's mask, not the policy's). Linux: queue_folio_required()
    public static func pageFits(node: Int, mask: NodeMask) -> Bool { mask.contains(node) }
}

// MARK: - migrate_pages

extension MemPolicy {
    /// The moves migrate_pages(old → new) makes, in order: each source node's
    /// pages go to the node at the same position of `to` (counting round
    /// it). A node that maps to itself stays; when the masks differ in size,
    /// a source that is also a destination stays too. Linux:
    /// do_migrate_pages()'s loop with node_remap() (bitmap_bitremap())
    public static func migrationPlan(from: NodeMask, to: NodeMask) -> [(source: Int, dest: Int)] {
        var plan: [(source: Int, dest: Int)] = []
        var left = from
        let sources = from.nodes, targets = to.nodes
        func remap(_ node: Int) -> Int {
            guard !targets.isEmpty, let position = sources.firstIndex(of: node) else { return node }
            return targets[position % targets.count]
        }
        // Each round takes the lowest source left whose destination is not
        // a source still to be emptied, or failing that the highest that moves.
        while !left.isEmpty {
            var picked: (source: Int, dest: Int)? = nil
            for s in left.nodes {
                if from.count != to.count && to.contains(s) { continue }
                let d = remap(s)
                if s == d { continue }
                picked = (s, d)
                if !left.contains(d) { break }
            }
            guard let move = picked else { break }
            left.remove(move.source)
            plan.append(move)
        }
        return plan
    }
}
