import XCTest
@testable import KeelCore

/// 256 bytes of configuration space in an array.
private struct FakeConfig: PCIConfigSpace {
    var bytes = [UInt8](repeating: 0, count: 256)
    func read32(_ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
    mutating func put8(_ offset: Int, _ v: UInt8) { bytes[offset] = v }
    mutating func put16(_ offset: Int, _ v: UInt16) { put8(offset, UInt8(v & 0xff)); put8(offset + 1, UInt8(v >> 8)) }
    mutating func put32(_ offset: Int, _ v: UInt32) { put16(offset, UInt16(v & 0xffff)); put16(offset + 2, UInt16(v >> 16)) }
}

/// What QEMU shows for a virtio-blk-pci function: transitional ID, MSI-X, the
/// five virtio capabilities.
private func virtioBlkConfig() -> FakeConfig {
    var c = FakeConfig()
    c.put16(0, 0x1af4); c.put16(2, 0x1001)
    c.put32(8, 0x0100_0000)                     // class 01 00 00, revision 0
    c.put8(0x0e, 0x00)
    c.put16(6, PCIRegister.statusCapabilityList)
    c.put8(0x34, 0x98)
    // MSI-X at 0x98: 2 entries, table in BAR 1 at 0, PBA in BAR 1 at 0x800.
    c.put8(0x98, 0x11); c.put8(0x99, 0x84); c.put16(0x9a, 1); c.put32(0x9c, 1); c.put32(0xa0, 0x801)
    // virtio caps: common (BAR 4, 0x0, 0x1000), isr, device, notify (multiplier 4), pci cfg.
    func virtio(_ at: Int, next: UInt8, kind: UInt8, bar: UInt8, offset: UInt32, length: UInt32, len: UInt8 = 16) {
        c.put8(at, 0x09); c.put8(at + 1, next); c.put8(at + 2, len); c.put8(at + 3, kind); c.put8(at + 4, bar)
        c.put32(at + 8, offset); c.put32(at + 12, length)
    }
    virtio(0x84, next: 0x74, kind: 1, bar: 4, offset: 0, length: 0x1000)
    virtio(0x74, next: 0x64, kind: 3, bar: 4, offset: 0x1000, length: 0x1000)
    virtio(0x64, next: 0x50, kind: 4, bar: 4, offset: 0x2000, length: 0x1000)
    virtio(0x50, next: 0xa4, kind: 2, bar: 4, offset: 0x3000, length: 0x1000, len: 20)
    c.put32(0x50 + 16, 4)
    virtio(0xa4, next: 0x00, kind: 5, bar: 0, offset: 0, length: 4, len: 20)
    return c
}

final class PCITests: XCTestCase {
    func testHeaderOfVirtioBlk() {
        let header = PCIHeader(virtioBlkConfig())!
        XCTAssertEqual(header.vendorID, 0x1af4)
        XCTAssertEqual(header.deviceID, 0x1001)
        XCTAssertEqual(header.classCode, 0x010000)
        XCTAssertEqual(header.barCount, 6)
        XCTAssertFalse(header.multiFunction)
        XCTAssertEqual(header.description, "[1af4:1001] type 00 class 0x010000")
        XCTAssertEqual(PCIAddress(bus: 0, device: 2, function: 0).name, "0000:00:02.0")
        XCTAssertEqual(PCIAddress(bus: 0x1a, device: 0x1f, function: 3).name, "0000:1a:1f.3")
    }

    func testNoFunctionAnswersAllOnes() {
        var c = FakeConfig(bytes: [UInt8](repeating: 0xff, count: 256))
        XCTAssertNil(PCIHeader(c))
        c.put16(0, 0x8086)
        c.put8(0x0e, 0x81)
        XCTAssertEqual(PCIHeader(c)?.headerType, 1)
        XCTAssertEqual(PCIHeader(c)?.multiFunction, true)
        XCTAssertEqual(PCIHeader(c)?.barCount, 2)
    }

    func testBARDecoding() {
        // 64-bit prefetchable 16 KiB at 0xfe000000 (QEMU's virtio BAR 4).
        let bar64 = PCIBar(low: 0xfe00_000c, lowProbe: 0xffff_c00c, high: 0, highProbe: 0xffff_ffff)!
        XCTAssertEqual(bar64, PCIBar(kind: .memory64, base: 0xfe00_0000, size: 0x4000, prefetchable: true))
        XCTAssertEqual(bar64.slots, 2)
        XCTAssertEqual(bar64.description, "[mem 0xfe000000-0xfe003fff 64bit pref]")
        // Above 4 GiB.
        let high = PCIBar(low: 0x0000_0004, lowProbe: 0xfff0_0004, high: 0x8, highProbe: 0xffff_ffff)!
        XCTAssertEqual(high.base, 0x8_0000_0000)
        XCTAssertEqual(high.size, 0x10_0000)
        // 32-bit, 4 KiB.
        let bar32 = PCIBar(low: 0xfebd_5000, lowProbe: 0xffff_f000)!
        XCTAssertEqual(bar32, PCIBar(kind: .memory32, base: 0xfebd_5000, size: 0x1000, prefetchable: false))
        XCTAssertEqual(bar32.description, "[mem 0xfebd5000-0xfebd5fff]")
        // I/O, 128 ports.
        let io = PCIBar(low: 0xc001, lowProbe: 0xffff_ff81)!
        XCTAssertEqual(io, PCIBar(kind: .io, base: 0xc000, size: 0x80, prefetchable: false))
        XCTAssertEqual(io.description, "[io  0xc000-0xc07f]")
        // Not implemented: nothing sticks.
        XCTAssertNil(PCIBar(low: 0, lowProbe: 0))
    }

    func testCapabilityWalk() {
        let c = virtioBlkConfig()
        let caps = PCICapability.list(c, header: PCIHeader(c)!)
        XCTAssertEqual(caps.map(\.offset), [0x98, 0x84, 0x74, 0x64, 0x50, 0xa4])
        XCTAssertEqual(caps.first?.id, PCICapability.msix)
        let msix = MSIXCapability(c, at: 0x98)
        XCTAssertEqual(msix.tableSize, 2)
        XCTAssertEqual(msix.tableBAR, 1)
        XCTAssertEqual(msix.tableOffset, 0)
    }

    func testCapabilityLoopEnds() {
        var c = virtioBlkConfig()
        c.put8(0xa5, 0x98)                       // the last one points back at the first
        XCTAssertEqual(PCICapability.list(c, header: PCIHeader(c)!).count, 48)
        c.put8(0x34, 0x20)                       // a pointer into the header: no list
        XCTAssertEqual(PCICapability.list(c, header: PCIHeader(c)!), [])
        c.put16(6, 0)                            // no capability list bit
        c.put8(0x34, 0x98)
        XCTAssertEqual(PCICapability.list(c, header: PCIHeader(c)!), [])
    }

    func testVirtioCapabilities() {
        let c = virtioBlkConfig()
        let caps = PCICapability.list(c, header: PCIHeader(c)!)
        let common = VirtioPCICapability.find(.common, in: c, capabilities: caps)!
        XCTAssertEqual(common.bar, 4)
        XCTAssertEqual(common.offset, 0)
        XCTAssertEqual(common.length, 0x1000)
        let notify = VirtioPCICapability.find(.notify, in: c, capabilities: caps)!
        XCTAssertEqual(notify.offset, 0x3000)
        XCTAssertEqual(notify.notifyOffsetMultiplier, 4)
        XCTAssertEqual(VirtioPCICapability.find(.device, in: c, capabilities: caps)?.offset, 0x2000)
        XCTAssertEqual(VirtioPCICapability.find(.isr, in: c, capabilities: caps)?.offset, 0x1000)
        var bad = c
        bad.put8(0x84 + 4, 7)                    // BAR 7 does not exist
        XCTAssertNil(VirtioPCICapability.find(.common, in: bad, capabilities: caps))
    }
}

/// Ring memory in an array, with a device side for the tests to play.
private final class RingBytes: VirtqueueMemory {
    var bytes: [UInt8]
    init(_ count: Int) { bytes = [UInt8](repeating: 0, count: count) }
    private func load(_ o: Int, _ n: Int) -> UInt64 { (0..<n).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
    private func store(_ o: Int, _ n: Int, _ v: UInt64) { for i in 0..<n { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
    func load16(_ offset: Int) -> UInt16 { UInt16(load(offset, 2)) }
    func load32(_ offset: Int) -> UInt32 { UInt32(load(offset, 4)) }
    func load64(_ offset: Int) -> UInt64 { load(offset, 8) }
    func store16(_ offset: Int, _ value: UInt16) { store(offset, 2, UInt64(value)) }
    func store32(_ offset: Int, _ value: UInt32) { store(offset, 4, UInt64(value)) }
    func store64(_ offset: Int, _ value: UInt64) { store(offset, 8, value) }
    func barrier() {}
}

/// The device's view: takes what the driver offered and returns it as used.
private struct FakeDevice {
    let layout: VirtqueueLayout
    let memory: RingBytes
    var availSeen: UInt16 = 0
    var usedIndex: UInt16 = 0

    /// The chains offered since last time: each a list of (address, length, flags).
    mutating func take() -> [(head: UInt16, chain: [(UInt64, UInt32, UInt16)])] {
        var result: [(UInt16, [(UInt64, UInt32, UInt16)])] = []
        while availSeen != memory.load16(layout.availOffset + 2) {
            let head = memory.load16(layout.availOffset + 4 + 2 * (Int(availSeen) % layout.size))
            availSeen &+= 1
            var chain: [(UInt64, UInt32, UInt16)] = []
            var i = Int(head)
            while true {
                let o = 16 * i
                let flags = memory.load16(o + 12)
                chain.append((memory.load64(o), memory.load32(o + 8), flags))
                if flags & VirtqueueDescriptorFlags.next == 0 { break }
                i = Int(memory.load16(o + 14))
            }
            result.append((head, chain))
        }
        return result
    }

    mutating func complete(_ id: UInt32, written: UInt32) {
        let slot = layout.usedOffset + 4 + 8 * (Int(usedIndex) % layout.size)
        memory.store32(slot, id)
        memory.store32(slot + 4, written)
        usedIndex &+= 1
        memory.store16(layout.usedOffset + 2, usedIndex)
    }
}

final class VirtqueueTests: XCTestCase {
    func testLayoutFitsAPageAt128() {
        let layout = VirtqueueLayout(size: 128)
        XCTAssertEqual(layout.availOffset, 2048)
        XCTAssertEqual(layout.usedOffset % 4, 0)
        XCTAssertEqual(layout.usedOffset, (2048 + 6 + 256 + 3) & ~3)
        XCTAssertLessThanOrEqual(layout.totalBytes, 4096)
    }

    func testSubmitLinksAChainAndTheDeviceReturnsIt() {
        let memory = RingBytes(VirtqueueLayout(size: 8).totalBytes)
        var queue = Virtqueue(size: 8, memory: memory)
        var device = FakeDevice(layout: queue.layout, memory: memory)
        let chain = [VirtqueueBuffer(address: 0x1000, length: 16, deviceWrites: false),
                     VirtqueueBuffer(address: 0x2000, length: 4096, deviceWrites: true),
                     VirtqueueBuffer(address: 0x1010, length: 1, deviceWrites: true)]
        let head = queue.nextHead
        XCTAssertEqual(queue.submit(chain), head)
        XCTAssertEqual(queue.freeCount, 5)
        let offered = device.take()
        XCTAssertEqual(offered.count, 1)
        XCTAssertEqual(offered[0].head, head)
        XCTAssertEqual(offered[0].chain.map { $0.0 }, [0x1000, 0x2000, 0x1010])
        XCTAssertEqual(offered[0].chain.map { $0.1 }, [16, 4096, 1])
        XCTAssertEqual(offered[0].chain.map { $0.2 }, [1, 3, 2])
        XCTAssertNil(queue.nextUsed())
        device.complete(UInt32(head), written: 4097)
        let used = queue.nextUsed()
        XCTAssertEqual(used?.head, head)
        XCTAssertEqual(used?.written, 4097)
        XCTAssertEqual(queue.freeCount, 8)
        XCTAssertNil(queue.nextUsed())
    }

    func testFullRingRefusesAndOutOfOrderCompletionFreesEverything() {
        let memory = RingBytes(VirtqueueLayout(size: 8).totalBytes)
        var queue = Virtqueue(size: 8, memory: memory)
        var device = FakeDevice(layout: queue.layout, memory: memory)
        let three = [VirtqueueBuffer](repeating: VirtqueueBuffer(address: 0, length: 512, deviceWrites: false), count: 3)
        let a = queue.submit(three)!, b = queue.submit(three)!
        XCTAssertNil(queue.submit(three), "2 descriptors left, 3 wanted")
        XCTAssertNotNil(queue.submit(Array(three.prefix(2))))
        XCTAssertEqual(queue.freeCount, 0)
        XCTAssertEqual(device.take().count, 3)
        device.complete(UInt32(b), written: 0)
        device.complete(UInt32(a), written: 0)
        XCTAssertEqual(queue.nextUsed()?.head, b)
        XCTAssertEqual(queue.nextUsed()?.head, a)
        XCTAssertEqual(queue.freeCount, 6)
    }

    /// Thousands of random submissions and completions, the indices wrapping
    /// past 2^16: every chain comes back exactly once and no descriptor is lost.
    func testRandomTrafficWrapsTheIndices() {
        var rng = SplitMix64(seed: 42)
        let size = 16
        let memory = RingBytes(VirtqueueLayout(size: size).totalBytes)
        var queue = Virtqueue(size: size, memory: memory)
        var device = FakeDevice(layout: queue.layout, memory: memory)
        var inFlight: [UInt16: Int] = [:]
        var pending: [(UInt16, Int)] = []
        var completed = 0
        for step in 0..<70_000 {
            if rng.next() % 2 == 0 {
                let n = Int(rng.next() % 4) + 1
                let chain = (0..<n).map { VirtqueueBuffer(address: UInt64(step * 8 + $0), length: 1, deviceWrites: $0 == n - 1) }
                if let head = queue.submit(chain) {
                    XCTAssertNil(inFlight[head])
                    inFlight[head] = n
                } else {
                    XCTAssertLessThan(queue.freeCount, n)
                }
            }
            for (head, chain) in device.take() { pending.append((head, chain.count)) }
            if !pending.isEmpty && rng.next() % 2 == 0 {
                let (head, count) = pending.remove(at: Int(rng.next() % UInt64(pending.count)))
                XCTAssertEqual(inFlight[head], count)
                device.complete(UInt32(head), written: 1)
            }
            while let (head, _) = queue.nextUsed() {
                XCTAssertNotNil(inFlight.removeValue(forKey: head))
                completed += 1
            }
            XCTAssertEqual(queue.freeCount + inFlight.values.reduce(0, +), size)
        }
        XCTAssertGreaterThan(completed, 30_000)
    }

    func testMadeUpHeadsFromTheDeviceAreIgnored() {
        let memory = RingBytes(VirtqueueLayout(size: 4).totalBytes)
        var queue = Virtqueue(size: 4, memory: memory)
        var device = FakeDevice(layout: queue.layout, memory: memory)
        let head = queue.submit([VirtqueueBuffer(address: 0, length: 1, deviceWrites: true)])!
        device.complete(99, written: 0)                 // out of range
        device.complete(UInt32(head) + 1, written: 0)   // not in flight
        device.complete(UInt32(head), written: 0)
        XCTAssertEqual(queue.nextUsed()?.head, head)
        XCTAssertNil(queue.nextUsed())
        XCTAssertEqual(queue.freeCount, 4)
    }
}

final class VirtioBlkProtocolTests: XCTestCase {
    func testLimitsWithoutSizeMax() {
        // QEMU: seg_max 126, no size_max, Keel's 128-entry ring.
        let l = VirtioBlkLimits(queueSize: 128, segMax: 126, sizeMax: nil, pageBytes: 4096)
        XCTAssertEqual(l.maxSegments, 126)
        XCTAssertEqual(l.maxSegmentBytes, VirtioBlkLimits.requestCap)
        XCTAssertEqual(l.maxRequestBytes, 256 * 1024)
        var segments: [VirtqueueBuffer] = []
        l.segments(address: 0x10_0000, length: 256 * 1024, deviceWrites: true, into: &segments)
        XCTAssertEqual(segments, [VirtqueueBuffer(address: 0x10_0000, length: 256 * 1024, deviceWrites: true)])
    }

    func testLimitsWithSmallSegments() {
        let l = VirtioBlkLimits(queueSize: 16, segMax: 8, sizeMax: 1024, pageBytes: 4096)
        XCTAssertEqual(l.maxSegments, 8)
        XCTAssertEqual(l.maxSegmentBytes, 1024)
        XCTAssertEqual(l.maxRequestBytes, 8 * 1024, "a bounce page needs 4 segments: 2 pages per request")
        var segments: [VirtqueueBuffer] = []
        l.segments(address: 0x2000, length: 2560, deviceWrites: false, into: &segments)
        XCTAssertEqual(segments.map(\.address), [0x2000, 0x2400, 0x2800])
        XCTAssertEqual(segments.map(\.length), [1024, 1024, 512])
        // The ring, not seg_max, is the limit; a tiny size_max rounds to a sector.
        let ring = VirtioBlkLimits(queueSize: 4, segMax: nil, sizeMax: 100, pageBytes: 4096)
        XCTAssertEqual(ring.maxSegments, 2)
        XCTAssertEqual(ring.maxSegmentBytes, 512)
        XCTAssertEqual(ring.maxRequestBytes, 512)
    }

    func testHeader() {
        var bytes = [UInt8](repeating: 0xee, count: 16)
        bytes.withUnsafeMutableBytes { VirtioBlk.writeHeader(.write, sector: 0x0102_0304_0506, to: $0.baseAddress!) }
        XCTAssertEqual(bytes, [1, 0, 0, 0, 0, 0, 0, 0, 6, 5, 4, 3, 2, 1, 0, 0])
    }

    func testSizesAsLinuxPrintsThem() {
        XCTAssertEqual(DiskSize.describe(bytes: 4 << 20, binary: false), "4.19 MB")
        XCTAssertEqual(DiskSize.describe(bytes: 4 << 20, binary: true), "4.00 MiB")
        XCTAssertEqual(DiskSize.describe(bytes: 1 << 20, binary: false), "1.05 MB")
        XCTAssertEqual(DiskSize.describe(bytes: 64 << 20, binary: false), "67.1 MB")
        XCTAssertEqual(DiskSize.describe(bytes: 64 << 20, binary: true), "64.0 MiB")
        XCTAssertEqual(DiskSize.describe(bytes: 256 << 20, binary: false), "268 MB")
        XCTAssertEqual(DiskSize.describe(bytes: 256 << 20, binary: true), "256 MiB")
        XCTAssertEqual(DiskSize.describe(bytes: 8 << 30, binary: false), "8.59 GB")
        // Rounding carries into the number, not the unit: Linux prints "1000 kB" too.
        XCTAssertEqual(DiskSize.describe(bytes: 999_999, binary: false), "1000 kB")
        XCTAssertEqual(DiskSize.describe(bytes: 512, binary: true), "512 B")
    }
}
