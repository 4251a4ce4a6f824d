import XCTest
@testable import KeelCore

/// The Core side of Keel's per-node page allocators: one mem_map, a view of it
/// per node, a buddy allocator per view. The kernel's fallback order over the
/// nodes (PageAllocator) is built on these.
final class NodeAllocatorTests: XCTestCase {
    /// Two nodes of 4 MiB (1024 frames) each, split at frame 1024 the way
    /// MemorySetup splits the machine's mem_map.
    private final class TwoNodes {
        let storage = UnsafeMutablePointer<Page>.allocate(capacity: 2048)
        let memory = BuddyTestMemory()
        var nodes: [BuddyAllocator<BuddyTestMemory>] = []
        init(boundary: UInt64 = 1024) {
            let machine = MemMap(storage: storage, basePFN: 0, frames: 2048)
            nodes = [BuddyAllocator(memMap: machine.view(0, boundary), memory: memory, node: 0),
                     BuddyAllocator(memMap: machine.view(boundary, 2048), memory: memory, node: 1)]
            nodes[0].addFreeRange(PhysAddr(pfn: 0), PhysAddr(pfn: boundary))
            nodes[1].addFreeRange(PhysAddr(pfn: boundary), PhysAddr(pfn: 2048))
        }
        deinit { storage.deallocate() }
    }

    func testAViewSharesTheDescriptorsAndKnowsOnlyItsFrames() {
        let storage = UnsafeMutablePointer<Page>.allocate(capacity: 64)
        defer { storage.deallocate() }
        let machine = MemMap(storage: storage, basePFN: 0, frames: 64)
        let view = machine.view(16, 48)
        XCTAssertEqual(view.basePFN, 16)
        XCTAssertEqual(view.endPFN, 48)
        XCTAssertTrue(view.contains(pfn: 16))
        XCTAssertTrue(view.contains(pfn: 47))
        XCTAssertFalse(view.contains(pfn: 15))
        XCTAssertFalse(view.contains(pfn: 48))
        XCTAssertEqual(view.page(20), machine.page(20), "the same descriptor, not a copy")
        XCTAssertEqual(machine.view(8, 8).frameCount, 0, "a node without memory has an empty view")
    }

    func testEachNodeHandsOutOnlyItsOwnFrames() throws {
        let m = TwoNodes()
        XCTAssertEqual(m.nodes[0].managedPages, 1024)
        XCTAssertEqual(m.nodes[1].managedPages, 1024)
        var taken: [[PhysAddr]] = [[], []]
        for n in 0..<2 {
            while let frame = m.nodes[n].allocate(order: 0) { taken[n].append(frame) }
        }
        XCTAssertEqual(taken[0].count, 1024)
        XCTAssertTrue(taken[0].allSatisfy { $0.pfn < 1024 })
        XCTAssertTrue(taken[1].allSatisfy { $0.pfn >= 1024 })
        for n in 0..<2 { for frame in taken[n] { try m.nodes[n].free(frame, order: 0) } }
        XCTAssertEqual(m.nodes[0].freeBlocks(maxOrderIn: .dma), 1, "node 0 coalesced back to one 4 MiB block")
        XCTAssertThrowsError(try m.nodes[0].free(taken[1][0], order: 0), "node 0 refuses node 1's frame") { error in
            XCTAssertEqual(error as? BuddyError, .notOwned(pfn: taken[1][0].pfn))
        }
    }

    func testBuddiesDoNotMergeAcrossANodeBoundary() throws {
        // A boundary inside a 4 MiB block: 512 + 1536 frames. Each node's
        // blocks stay on its side, so freeing everything coalesces only
        // within each node.
        let m = TwoNodes(boundary: 512)
        XCTAssertEqual(m.nodes[0].managedPages, 512)
        XCTAssertEqual(m.nodes[1].managedPages, 1536)
        var all: [PhysAddr] = []
        while let frame = m.nodes[1].allocate(order: 0) { all.append(frame) }
        XCTAssertTrue(all.allSatisfy { $0.pfn >= 512 })
        for frame in all { try m.nodes[1].free(frame, order: 0) }
        XCTAssertEqual(m.nodes[1].freePages, 1536)
        XCTAssertEqual(m.nodes[0].freePages, 512)
        XCTAssertEqual(m.nodes[0].zone(.dma).freeBlocks(order: 9), 1)
        XCTAssertEqual(m.nodes[0].zone(.dma).freeBlocks(order: 10), 0, "no 4 MiB block reaches into node 1")
    }

    func testBuddyInfoNamesTheNode() {
        let m = TwoNodes()
        var text = ""
        m.nodes[1].writeBuddyInfo(to: &text)
        XCTAssertTrue(text.hasPrefix("Node 1, zone      DMA "), text)
    }

    func testTheFirstPassStopsAtTheLowWatermark() {
        let m = TwoNodes()
        // The machine's reserve is shared by both nodes' zones, in proportion.
        m.nodes[0].setMinFreeKilobytes(64 * 4, totalManaged: 2048)
        XCTAssertEqual(m.nodes[0].reservePages, 32, "half the reserve: half the machine")
        let low = m.nodes[0].lowWatermarkPages
        XCTAssertGreaterThan(low, 32)
        var aboveLow = 0
        while m.nodes[0].allocate(order: 0, aboveLow: true) != nil { aboveLow += 1 }
        XCTAssertEqual(aboveLow, 1024 - low, "the first pass leaves the node at its low watermark")
        var aboveMin = 0
        while m.nodes[0].allocate(order: 0) != nil { aboveMin += 1 }
        XCTAssertEqual(aboveMin, low - 32, "the second pass goes down to min")
    }
}

private extension BuddyAllocator {
    /// Free 4 MiB blocks in `zone`.
    func freeBlocks(maxOrderIn zone: ZoneType) -> Int { self.zone(zone).freeBlocks(order: Zone.maxOrder) }
}
