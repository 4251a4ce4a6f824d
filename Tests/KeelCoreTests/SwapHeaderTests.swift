// The mkswap header (against the bytes util-linux's mkswap writes), the slot
// map (seeded random sequences against a model and the invariants) and the
// /proc/swaps line layout.
import Foundation
import XCTest
@testable import KeelCore

final class SwapHeaderTests: XCTestCase {
    private let uuid: [UInt8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]

    /// The first page of `mkswap -L keel-label -U 01234567-89ab-cdef-0123-456789abcdef` on a
    /// 64 KiB file (util-linux 2.38.1): every byte not listed is 0.
    private func mkswapFixture() -> [UInt8] {
        var page = [UInt8](repeating: 0, count: 4096)
        let info: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] + uuid
            + Array("keel-label".utf8)
        page.replaceSubrange(0x400..<0x400 + info.count, with: info)
        page.replaceSubrange(0xff6..<0x1000, with: Array("SWAPSPACE2".utf8))
        return page
    }

    private func parse(_ page: [UInt8]) throws -> SwapHeader {
        try page.withUnsafeBytes { bytes throws(SwapHeader.ParseError) in try SwapHeader(parsing: bytes) }
    }

    private func written(_ header: SwapHeader) -> [UInt8] {
        var page = [UInt8](repeating: 0xee, count: 4096)
        page.withUnsafeMutableBytes { header.write(into: $0) }
        return page
    }

    func testParsesMkswapOutput() throws {
        let header = try parse(mkswapFixture())
        XCTAssertEqual(header.version, 1)
        XCTAssertEqual(header.lastPage, 15, "16 pages, the header is page 0")
        XCTAssertEqual(header.badPages, [])
        XCTAssertEqual(header.uuid, uuid)
        XCTAssertEqual(header.labelText, "keel-label")
        XCTAssertEqual(try header.slots(devicePages: 16, maxSlots: SwapEntry.maxOffset, isFile: false), 16)
    }

    func testWritesWhatMkswapWrites() {
        let header = SwapHeader(lastPage: 15, uuid: uuid, label: Array("keel-label".utf8))
        XCTAssertEqual(written(header), mkswapFixture())
    }

    func testAgainstTheHostsMkswap() throws {
        let mkswap = ["/usr/sbin/mkswap", "/sbin/mkswap", "/usr/bin/mkswap"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let mkswap else { throw XCTSkip("no mkswap on this host") }
        var random = SplitMix64(seed: 16)
        for _ in 0..<4 {
            let pages = 10 + random.below(2000)
            let path = NSTemporaryDirectory() + "keel-swap-\(pages).img"
            FileManager.default.createFile(atPath: path, contents: Data(count: pages * 4096))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: mkswap)
            process.arguments = ["-L", "l\(pages)", "-U", "01234567-89ab-cdef-0123-456789abcdef", path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0)
            let page = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(4096))
            let header = try parse(page)
            XCTAssertEqual(header.lastPage, UInt32(pages - 1))
            XCTAssertEqual(header.labelText, "l\(pages)")
            XCTAssertEqual(written(SwapHeader(lastPage: UInt32(pages - 1), uuid: uuid, label: Array("l\(pages)".utf8))), page,
                           "Keel writes the same page as mkswap")
        }
    }

    func testRefusesWhatSwaponRefuses() {
        var page = mkswapFixture()
        page[0xfff] = UInt8(ascii: "1")                           // "SWAPSPACE1"
        XCTAssertThrowsError(try parse(page)) { XCTAssertEqual($0 as? SwapHeader.ParseError, .noSignature) }
        page = mkswapFixture()
        page.replaceSubrange(0xff6..<0x1000, with: Array("SWAP-SPACE".utf8))      // the old format
        XCTAssertThrowsError(try parse(page)) { XCTAssertEqual($0 as? SwapHeader.ParseError, .noSignature) }
        page = mkswapFixture()
        page[0x400] = 2
        XCTAssertThrowsError(try parse(page)) { XCTAssertEqual($0 as? SwapHeader.ParseError, .unsupportedVersion(2)) }
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 100).withUnsafeBytes { b throws(SwapHeader.ParseError) in
            try SwapHeader(parsing: b) }) { XCTAssertEqual($0 as? SwapHeader.ParseError, .noSignature) }
        page = mkswapFixture()
        page.replaceSubrange(0x408..<0x40c, with: [0xff, 0xff, 0, 0])          // nr_badpages 65535
        XCTAssertThrowsError(try parse(page)) { XCTAssertEqual($0 as? SwapHeader.ParseError, .badPages) }
    }

    func testByteSwappedHeaderIsAccepted() throws {
        var page = mkswapFixture()
        page.replaceSubrange(0x400..<0x408, with: [0, 0, 0, 1, 0, 0, 0, 0x0f])
        XCTAssertEqual(try parse(page).lastPage, 15)
    }

    func testSlotsCheckTheSizeAndBadPages() throws {
        let header = SwapHeader(lastPage: 15)
        XCTAssertThrowsError(try header.slots(devicePages: 15, maxSlots: 1 << 27, isFile: false)) {
            XCTAssertEqual($0 as? SwapHeader.ParseError, .shorterThanSignature)
        }
        XCTAssertEqual(try header.slots(devicePages: 100, maxSlots: 1 << 27, isFile: false), 16, "a bigger disk is fine")
        XCTAssertEqual(try header.slots(devicePages: 100, maxSlots: 8, isFile: false), 8, "truncated to what entries address")
        XCTAssertThrowsError(try SwapHeader(lastPage: 0).slots(devicePages: 1, maxSlots: 1 << 27, isFile: false)) {
            XCTAssertEqual($0 as? SwapHeader.ParseError, .empty)
        }
        let bad = SwapHeader(lastPage: 3, badPages: [1, 2])
        XCTAssertEqual(try bad.slots(devicePages: 4, maxSlots: 1 << 27, isFile: false), 4)
        XCTAssertThrowsError(try bad.slots(devicePages: 4, maxSlots: 1 << 27, isFile: true)) {
            XCTAssertEqual($0 as? SwapHeader.ParseError, .badPages, "a swap file may not have bad pages")
        }
        XCTAssertThrowsError(try SwapHeader(lastPage: 3, badPages: [4]).slots(devicePages: 4, maxSlots: 1 << 27, isFile: false))
        XCTAssertThrowsError(try SwapHeader(lastPage: 3, badPages: [0]).slots(devicePages: 4, maxSlots: 1 << 27, isFile: false))
        XCTAssertThrowsError(try SwapHeader(lastPage: 2, badPages: [1, 2]).slots(devicePages: 4, maxSlots: 1 << 27, isFile: false)) {
            XCTAssertEqual($0 as? SwapHeader.ParseError, .empty, "no good page left")
        }
        XCTAssertEqual(SwapHeader.maxBadPages, 637, "Linux's MAX_SWAP_BADPAGES")
    }

    // MARK: - /proc/swaps

    func testProcSwapsLayout() {
        XCTAssertEqual(ProcSwapsLine.header, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
        let disk = ProcSwapsLine(path: "/dev/vdb", isFile: false, sizeKiB: 262140, usedKiB: 0, priority: -2)
        XCTAssertEqual(disk.text, "/dev/vdb" + String(repeating: " ", count: 32) + "partition\t262140\t\t0\t\t-2\n")
        let file = ProcSwapsLine(path: "/swap file", isFile: true, sizeKiB: 12_000_000, usedKiB: 10_000_000, priority: 5)
        XCTAssertEqual(file.text, "/swap\\040file" + String(repeating: " ", count: 27) + "file\t\t12000000\t10000000\t5\n")
        let long = ProcSwapsLine(path: "/" + String(repeating: "x", count: 45), isFile: true, sizeKiB: 4, usedKiB: 4, priority: 0)
        XCTAssertTrue(long.text.hasPrefix("/" + String(repeating: "x", count: 45) + " file\t\t4\t\t4\t\t0"))
    }
}

final class SwapMapTests: XCTestCase {
    private final class Storage {
        let bytes: UnsafeMutableRawBufferPointer
        init(_ count: Int) { bytes = .allocate(byteCount: count, alignment: 8) }
        deinit { bytes.deallocate() }
    }

    private func makeMap(slots: Int, cpus: Int = 2, bad: [UInt32] = []) -> (SwapMap, Storage)? {
        let storage = Storage(SwapMap.storageBytes(slots: slots, cpus: cpus))
        guard let map = SwapMap(storage: storage.bytes, slots: slots, cpus: cpus, badPages: bad) else { return nil }
        return (map, storage)
    }

    func testHeaderAndBadPagesAreNeverHandedOut() throws {
        var (map, storage) = try XCTUnwrap(makeMap(slots: 600, bad: [5, 300, 5]))
        XCTAssertEqual(map.usablePages, 597, "header and two bad pages")
        var got: Set<UInt64> = []
        while let slot = map.allocate(cpu: got.count % 2) { XCTAssertTrue(got.insert(slot).inserted, "slot \(slot) twice") }
        XCTAssertEqual(got.count, 597)
        XCTAssertFalse(got.contains(0) || got.contains(5) || got.contains(300))
        XCTAssertEqual(map.freePages, 0)
        XCTAssertNil(map.checkInvariants())
        withExtendedLifetime(storage) {}
    }

    func testACPUFillsItsClusterFrontToBack() throws {
        var (map, storage) = try XCTUnwrap(makeMap(slots: 2048, cpus: 2))
        let first = (0..<10).map { _ in map.allocate(cpu: 0)! }
        let second = (0..<10).map { _ in map.allocate(cpu: 1)! }
        XCTAssertEqual(first, Array(first[0]..<first[0] + 10), "one CPU's slots are consecutive")
        XCTAssertEqual(second, Array(second[0]..<second[0] + 10))
        XCTAssertNotEqual(first[0] / 256, second[0] / 256, "each CPU has its own cluster")
        XCTAssertNotEqual(first[0] / 256, 0, "cluster 0 (with the header) is not free at first")
        XCTAssertNil(map.checkInvariants())
        withExtendedLifetime(storage) {}
    }

    func testBadArguments() {
        XCTAssertNil(makeMap(slots: 1), "only the header")
        XCTAssertNil(makeMap(slots: 10, bad: [10]), "bad page outside")
        XCTAssertNil(makeMap(slots: 3, bad: [1, 2]), "nothing usable")
    }

    func testReferenceCountsAndTheCacheBit() throws {
        var (map, storage) = try XCTUnwrap(makeMap(slots: 64))
        let slot = try XCTUnwrap(map.allocate(cpu: 0))
        XCTAssertTrue(map.hasCachePage(slot))
        XCTAssertEqual(map.count(slot), 0)
        XCTAssertTrue(map.duplicate(slot))
        XCTAssertTrue(map.duplicate(slot))
        XCTAssertFalse(map.claimCache(slot), "already cached (EEXIST)")
        XCTAssertTrue(map.dropCache(slot), "two PTEs still name it")
        XCTAssertTrue(map.claimCache(slot), "a swap-in claims it")
        XCTAssertTrue(map.dropCache(slot))
        XCTAssertTrue(map.put(slot))
        XCTAssertFalse(map.put(slot), "the last reference frees it")
        XCTAssertFalse(map.isInUse(slot))
        XCTAssertFalse(map.duplicate(slot), "a free slot cannot be duplicated (ENOENT)")
        XCTAssertFalse(map.claimCache(slot))
        XCTAssertEqual(map.inUsePages, 0)
        XCTAssertNil(map.checkInvariants())
        withExtendedLifetime(storage) {}
    }

    /// Random allocate / duplicate / put / cache operations on several CPUs,
    /// checked after each step against a model and the map's invariants.
    func testRandomSequencesKeepTheInvariants() throws {
        for seed in UInt64(1)...20 {
            var random = SplitMix64(seed: seed)
            let slots = 300 + random.below(1500)
            let bad = (0..<random.below(4)).map { _ in UInt32(1 + random.below(slots - 1)) }
            var (map, storage) = try XCTUnwrap(makeMap(slots: slots, cpus: 3, bad: bad))
            var model: [UInt64: (count: Int, cache: Bool)] = [:]
            for step in 0..<4000 {
                let inUse = Array(model.keys)
                switch random.below(6) {
                case 0, 1:
                    if let slot = map.allocate(cpu: random.below(3)) {
                        XCTAssertNil(model[slot], "seed \(seed) step \(step): \(slot) handed out while in use")
                        XCTAssertFalse(bad.contains(UInt32(slot)) || slot == 0)
                        model[slot] = (0, true)
                    } else {
                        XCTAssertEqual(model.count, map.usablePages, "seed \(seed): full only when every slot is used")
                    }
                case 2:
                    guard let slot = inUse.randomElement(using: &random) else { continue }
                    XCTAssertTrue(map.duplicate(slot))
                    model[slot]!.count += 1
                case 3:
                    guard let slot = inUse.filter({ model[$0]!.count > 0 }).randomElement(using: &random) else { continue }
                    model[slot]!.count -= 1
                    let stillUsed = model[slot]!.count > 0 || model[slot]!.cache
                    XCTAssertEqual(map.put(slot), stillUsed)
                    if !stillUsed { model[slot] = nil }
                case 4:
                    guard let slot = inUse.filter({ model[$0]!.cache }).randomElement(using: &random) else { continue }
                    model[slot]!.cache = false
                    let stillUsed = model[slot]!.count > 0
                    XCTAssertEqual(map.dropCache(slot), stillUsed)
                    if !stillUsed { model[slot] = nil }
                default:
                    guard let slot = inUse.randomElement(using: &random) else { continue }
                    XCTAssertEqual(map.claimCache(slot), !model[slot]!.cache)
                    model[slot]!.cache = true
                }
                if let broken = map.checkInvariants() { return XCTFail("seed \(seed) step \(step): \(broken)") }
                XCTAssertEqual(map.inUsePages, model.count)
            }
            for (slot, state) in model {
                XCTAssertEqual(map.count(slot), state.count)
                XCTAssertEqual(map.hasCachePage(slot), state.cache)
            }
            withExtendedLifetime(storage) {}
        }
    }

    func testEmptiedClustersComeBack() throws {
        var (map, storage) = try XCTUnwrap(makeMap(slots: 256 * 4, cpus: 1))
        var taken: [UInt64] = []
        while let slot = map.allocate(cpu: 0) { taken.append(slot) }
        XCTAssertEqual(taken.count, 1023)
        for slot in taken { map.dropCache(slot) }
        XCTAssertNil(map.checkInvariants())
        XCTAssertEqual(map.freePages, 1023)
        let again = (0..<300).map { _ in map.allocate(cpu: 0)! }
        XCTAssertEqual(Set(again).count, 300)
        XCTAssertNil(map.checkInvariants())
        withExtendedLifetime(storage) {}
    }
}

extension Array {
    fileprivate func randomElement(using random: inout SplitMix64) -> Element? {
        isEmpty ? nil : self[random.below(count)]
    }
}
