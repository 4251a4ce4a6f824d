import XCTest
@testable import KeelCore

/// The checks of set_mempolicy/mbind/get_mempolicy and the node choices, as
/// Linux 6.1's mm/mempolicy.c makes them.
final class MemPolicyTests: XCTestCase {
    private typealias P = MemPolicy
    private let two = NodeMask.first(2)

    private func failure<T>(_ body: () throws -> T) -> Errno? {
        do { _ = try body() } catch { return error as? Errno }
        return nil
    }

    private func make(_ mode: Int, _ nodes: UInt64, memory: NodeMask? = nil) throws(Errno) -> MemPolicy? {
        let (m, f) = try P.sanitize(mode)
        return try P.make(mode: m, flags: f, nodes: NodeMask(rawValue: nodes), memory: memory ?? two)
    }

    func testSanitize() throws {
        XCTAssertEqual(try P.sanitize(P.MPOL_BIND | P.MPOL_F_STATIC_NODES).mode, P.MPOL_BIND)
        XCTAssertEqual(try P.sanitize(P.MPOL_BIND | P.MPOL_F_STATIC_NODES).flags, P.MPOL_F_STATIC_NODES)
        XCTAssertEqual(failure { try P.sanitize(6) }, .EINVAL, "MPOL_WEIGHTED_INTERLEAVE is not in 6.1")
        XCTAssertEqual(failure { try P.sanitize(-1) }, .EINVAL)
        XCTAssertEqual(failure { try P.sanitize(P.MPOL_BIND | P.MPOL_F_STATIC_NODES | P.MPOL_F_RELATIVE_NODES) }, .EINVAL)
        XCTAssertEqual(failure { try P.sanitize(P.MPOL_INTERLEAVE | P.MPOL_F_NUMA_BALANCING) }, .EINVAL)
        XCTAssertNil(failure { try P.sanitize(P.MPOL_BIND | P.MPOL_F_NUMA_BALANCING) })
        XCTAssertEqual(try P.sanitize(P.MPOL_PREFERRED_MANY).mode, 5, "6.1 has MPOL_PREFERRED_MANY")
        XCTAssertEqual(try P.sanitize(1 << 32 | P.MPOL_BIND).mode, P.MPOL_BIND, "the mode is an int")
    }

    func testMakeTruthTable() throws {
        XCTAssertNil(try make(P.MPOL_DEFAULT, 0))
        XCTAssertEqual(failure { try make(P.MPOL_DEFAULT, 1) }, .EINVAL)
        XCTAssertEqual(try make(P.MPOL_PREFERRED, 0)?.mode, .local, "empty MPOL_PREFERRED is local")
        XCTAssertEqual(failure { try make(P.MPOL_PREFERRED | P.MPOL_F_STATIC_NODES, 0) }, .EINVAL)
        XCTAssertEqual(try make(P.MPOL_PREFERRED, 0b10)?.nodes, .node(1))
        XCTAssertEqual(try make(P.MPOL_PREFERRED, 0b11)?.nodes, .node(0), "preferred keeps the lowest node")
        XCTAssertEqual(try make(P.MPOL_LOCAL, 0)?.mode, .local)
        XCTAssertEqual(failure { try make(P.MPOL_LOCAL, 1) }, .EINVAL)
        XCTAssertEqual(failure { try make(P.MPOL_LOCAL | P.MPOL_F_RELATIVE_NODES, 0) }, .EINVAL)
        for mode in [P.MPOL_BIND, P.MPOL_INTERLEAVE, P.MPOL_PREFERRED_MANY] {
            XCTAssertEqual(failure { try make(mode, 0) }, .EINVAL, "mode \(mode) needs nodes")
            XCTAssertEqual(failure { try make(mode, 0b100) }, .EINVAL, "node 2 is not online")
            XCTAssertEqual(try make(mode, 0b101)?.nodes, .node(0), "offline nodes are dropped when some are left")
            XCTAssertEqual(try make(mode, 0b11)?.nodes, two)
        }
        // STATIC keeps the caller's mask for get_mempolicy; RELATIVE maps it.
        let fixed = try make(P.MPOL_BIND | P.MPOL_F_STATIC_NODES, 0b101)
        XCTAssertEqual(fixed?.nodes, .node(0))
        XCTAssertEqual(P.reportedNodes(fixed), NodeMask(rawValue: 0b101))
        XCTAssertEqual(P.modeWord(fixed), Int32(P.MPOL_BIND | P.MPOL_F_STATIC_NODES))
        let relative = try make(P.MPOL_INTERLEAVE | P.MPOL_F_RELATIVE_NODES, 0b100, memory: two)
        XCTAssertEqual(relative?.nodes, .node(0), "relative node 2 of two nodes is node 0")
        XCTAssertEqual(P.relative(NodeMask(rawValue: 0b110), onto: NodeMask(rawValue: 0b1010)), NodeMask(rawValue: 0b1010))
        XCTAssertEqual(P.modeWord(nil), 0)
        XCTAssertEqual(P.reportedNodes(try make(P.MPOL_LOCAL, 0)), .none)
    }

    func testReadNodeMask() throws {
        let words: [UInt64] = [0b111, 0, 0, 1]
        func read(_ maxnode: UInt64, _ w: [UInt64] = words, present: Bool = true) throws(Errno) -> NodeMask {
            try P.readNodeMask(maxnode: maxnode, present: present) { (i) throws(Errno) -> UInt64 in
                guard i < w.count else { throw .EFAULT }
                return w[i]
            }
        }
        XCTAssertEqual(try read(0, present: false), .none)
        XCTAssertEqual(failure { try read(0) }, .EINVAL, "maxnode 0 wraps round to a huge count")
        XCTAssertEqual(try read(1), .none, "maxnode 1: no bits")
        XCTAssertEqual(try read(2), .node(0), "maxnode 2: one bit")
        XCTAssertEqual(try read(3), NodeMask(rawValue: 0b11))
        XCTAssertEqual(try read(65), NodeMask(rawValue: 0b111))
        XCTAssertEqual(try read(193), NodeMask(rawValue: 0b111), "zero words above 64 nodes are fine")
        XCTAssertEqual(failure { try read(194) }, .EINVAL, "bit 192 is above MAX_NUMNODES")
        XCTAssertEqual(failure { try read(1025) }, .EFAULT, "the top word is read first")
        XCTAssertEqual(try read(1025, [5] + [UInt64](repeating: 0, count: 15)), NodeMask(rawValue: 5))
        XCTAssertEqual(failure { try read(P.maxUserNodes + 2) }, .EINVAL)
        XCTAssertEqual(failure { try read(P.maxUserNodes + 1, [UInt64](repeating: 0, count: 1)) }, .EFAULT,
                       "a page of bits is allowed")
    }

    func testCopyOut() throws {
        XCTAssertEqual(failure { try P.nodeMaskCopyOut(maxnode: 1, nodeIDs: 2) }, .EINVAL)
        XCTAssertTrue(try P.nodeMaskCopyOut(maxnode: 1, nodeIDs: 1) == (0, 0), "maxnode 1 writes nothing")
        XCTAssertTrue(try P.nodeMaskCopyOut(maxnode: 2, nodeIDs: 2) == (8, 0))
        XCTAssertTrue(try P.nodeMaskCopyOut(maxnode: 1025, nodeIDs: 2) == (8, 120))
        XCTAssertTrue(try P.nodeMaskCopyOut(maxnode: 32769, nodeIDs: 2) == (8, 4088))
        XCTAssertEqual(failure { try P.nodeMaskCopyOut(maxnode: 32770, nodeIDs: 2) }, .EINVAL)
    }

    func testQuery() throws {
        XCTAssertEqual(try P.query(flags: 0, address: 0), .policy(address: nil))
        XCTAssertEqual(failure { try P.query(flags: 0, address: 0x1000) }, .EINVAL)
        XCTAssertEqual(try P.query(flags: 2, address: 0x1000), .policy(address: 0x1000))
        XCTAssertEqual(try P.query(flags: 3, address: 0x1000), .nodeOfPage(address: 0x1000))
        XCTAssertEqual(try P.query(flags: 1, address: 0), .nextInterleaveNode)
        XCTAssertEqual(try P.query(flags: 4, address: 0x1000), .memsAllowed, "the address is not looked at")
        XCTAssertEqual(failure { try P.query(flags: 5, address: 0) }, .EINVAL)
        XCTAssertEqual(failure { try P.query(flags: 8, address: 0) }, .EINVAL)
    }

    func testNodeChoice() throws {
        let order = [1, 2, 0]          // node 1's zonelist (Linux puts equally near nodes above it first)
        let fromZero = [0, 1, 2]
        let three = NodeMask.first(3)
        let bind = try make(P.MPOL_BIND, 0b101, memory: three)!
        XCTAssertEqual(bind.nodeChoice(local: 1, order: order, interleave: nil),
                       NodeChoice(preferred: 2, allowed: NodeMask(rawValue: 0b101)), "its first node in the zonelist")
        XCTAssertEqual(try make(P.MPOL_PREFERRED, 0b100, memory: three)!.nodeChoice(local: 1, order: order, interleave: nil),
                       NodeChoice(preferred: 2))
        XCTAssertEqual(try make(P.MPOL_LOCAL, 0)!.nodeChoice(local: 1, order: order, interleave: nil), NodeChoice(preferred: 1))
        let il = try make(P.MPOL_INTERLEAVE, 0b101, memory: three)!
        XCTAssertEqual((0..<4).map { il.interleaveNode($0) }, [0, 2, 0, 2])
        XCTAssertEqual(il.nextInterleaveNode(after: 63), 0, "il_prev starts at MAX_NUMNODES - 1")
        XCTAssertEqual(il.nextInterleaveNode(after: 0), 2)
        XCTAssertEqual(il.nextInterleaveNode(after: 2), 0)
        XCTAssertEqual(il.nodeChoice(local: 1, order: order, interleave: 2), NodeChoice(preferred: 2, interleaved: true))
        XCTAssertEqual(try make(P.MPOL_BIND, 0b110, memory: three)!.nodeChoice(local: 1, order: order, interleave: nil),
                       NodeChoice(preferred: 1, allowed: NodeMask(rawValue: 0b110)), "the local node when bound to it")
        XCTAssertEqual(try make(P.MPOL_PREFERRED_MANY, 0b100, memory: three)!.nodeChoice(local: 0, order: fromZero,
                                                                                         interleave: nil),
                       NodeChoice(preferred: 2), "preferred-many: its nearest node, no restriction")
        let four = try make(P.MPOL_INTERLEAVE, 0b1011, memory: .first(4))!
        XCTAssertEqual((0..<5).map { four.interleaveNode($0) }, [0, 1, 3, 0, 1])
    }

    func testMigrationPlan() {
        func plan(_ from: UInt64, _ to: UInt64) -> [[Int]] {
            P.migrationPlan(from: NodeMask(rawValue: from), to: NodeMask(rawValue: to)).map { [$0.source, $0.dest] }
        }
        XCTAssertEqual(plan(0b1, 0b10), [[0, 1]])
        XCTAssertEqual(plan(0b10, 0b1), [[1, 0]])
        XCTAssertEqual(plan(0b11, 0b11), [], "each node maps to itself")
        XCTAssertEqual(plan(0b11, 0b1), [[1, 0]], "node 0 is a destination: it stays")
        XCTAssertEqual(plan(0b11, 0b110), [[1, 2], [0, 1]], "empty node 1 before filling it")
        XCTAssertEqual(plan(0b1, 0), [], "nowhere to go")
    }
}
