import XCTest
@testable import KeelCore

/// Multiboot v1 information (as QEMU's -kernel loader writes it) rewritten as a
/// Multiboot2 block, then parsed by the same MultibootInfo the GRUB path uses.
final class Multiboot1Tests: XCTestCase {
    /// A fake physical memory of 64 KiB holding a v1 block at 0x500 and what it points to.
    struct Memory {
        var bytes = [UInt8](repeating: 0, count: 0x10000)

        mutating func put(_ data: [UInt8], at address: Int) {
            bytes.replaceSubrange(address..<address + data.count, with: data)
        }

        mutating func put32(_ value: UInt32, at address: Int) { put(MultibootBlockBuilder.le32(value), at: address) }
    }

    static let info = 0x500

    /// flags, then the fields QEMU fills: memory, command line, modules, memory map, loader name.
    func qemuLikeMemory(flags: UInt32 = 1 << 0 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9) -> Memory {
        var m = Memory()
        m.put32(flags, at: Self.info)
        m.put32(639, at: Self.info + 4)
        m.put32(261_120, at: Self.info + 8)
        m.put32(0x1000, at: Self.info + 16)
        m.put(MultibootBlockBuilder.cString("/tmp/x/keel32.elf init=/bin/sh loglevel=3"), at: 0x1000)
        m.put32(2, at: Self.info + 20)
        m.put32(0x1200, at: Self.info + 24)
        m.put32(0x0020_0000, at: 0x1200); m.put32(0x0020_3400, at: 0x1204); m.put32(0x1300, at: 0x1208)
        m.put32(0x0030_0000, at: 0x1210); m.put32(0x0030_1000, at: 0x1214); m.put32(0x1380, at: 0x1218)
        m.put(MultibootBlockBuilder.cString("build/initramfs.cpio"), at: 0x1300)
        m.put(MultibootBlockBuilder.cString(""), at: 0x1380)
        var map: [UInt8] = []
        for (base, length, type) in MultibootTests.qemu256MiB {
            map += MultibootBlockBuilder.le32(20) + MultibootBlockBuilder.le64(base)
                + MultibootBlockBuilder.le64(length) + MultibootBlockBuilder.le32(type)
        }
        m.put32(UInt32(map.count), at: Self.info + 44)
        m.put32(0x2000, at: Self.info + 48)
        m.put(map, at: 0x2000)
        m.put32(0x1400, at: Self.info + 64)
        m.put(MultibootBlockBuilder.cString("qemu"), at: 0x1400)
        return m
    }

    /// Translates and parses; `capacity` is the output buffer's size.
    func translated(_ memory: Memory, rsdp: [UInt8]? = nil, capacity: Int = 8192,
                    _ body: (MultibootInfo) throws -> Void) throws {
        var out = [UInt8](repeating: 0xcc, count: capacity)
        try memory.bytes.withUnsafeBytes { phys in
            func read(_ address: UInt64, _ count: Int) -> UnsafeRawBufferPointer? {
                guard count >= 0, address <= UInt64(phys.count), UInt64(count) <= UInt64(phys.count) - address else { return nil }
                return UnsafeRawBufferPointer(rebasing: phys[Int(address)..<Int(address) + count])
            }
            let info = UnsafeRawBufferPointer(rebasing: phys[Self.info..<Self.info + Multiboot1.infoSize])
            let size = try out.withUnsafeMutableBytes { buffer in
                try rsdp.withOptionalBytes { r in try Multiboot1.translate(info: info, rsdp: r, read: read, into: buffer) }
            }
            XCTAssertEqual(size % 8, 0)
            try out.withUnsafeBytes { block in
                let parsed = try MultibootInfo(bytes: UnsafeRawBufferPointer(rebasing: block[0..<size]),
                                               physicalAddress: PhysAddr(0x10_0000))
                XCTAssertEqual(parsed.block.count, size)
                try body(parsed)
            }
        }
    }

    func testQEMUInformationReadsLikeGRUBs() throws {
        try translated(qemuLikeMemory(), rsdp: MultibootTests.newRSDP) { info in
            XCTAssertEqual(info.commandLine?.string, "init=/bin/sh loglevel=3", "the kernel's file name is dropped")
            XCTAssertEqual(info.bootLoaderName?.string, "qemu")
            XCTAssertEqual(info.basicMemory?.lowerKiB, 639)
            XCTAssertEqual(info.basicMemory?.upperKiB, 261_120)
            let modules = Array(info.modules)
            XCTAssertEqual(modules.count, 2)
            XCTAssertEqual(modules[0].start, PhysAddr(0x0020_0000))
            XCTAssertEqual(modules[0].end, PhysAddr(0x0020_3400))
            XCTAssertEqual(modules[0].string.string, "build/initramfs.cpio")
            XCTAssertEqual(modules[1].string.bytes.count, 0)
            let map = try XCTUnwrap(info.memoryMap)
            XCTAssertEqual(map.entrySize, 24)
            XCTAssertEqual(Array(map).map { $0.base }, MultibootTests.qemu256MiB.map { PhysAddr($0.0) })
            XCTAssertEqual(Array(map).map { $0.length }, MultibootTests.qemu256MiB.map { $0.1 })
            XCTAssertEqual(Array(map).map { $0.type.rawValue }, MultibootTests.qemu256MiB.map { $0.2 })
            XCTAssertNil(info.acpiOldRSDP)
            XCTAssertEqual(info.acpiNewRSDP.map { Array($0.bytes) }, MultibootTests.newRSDP)
        }
    }

    func testOldRSDPAndCommandLineWithoutArguments() throws {
        var m = qemuLikeMemory()
        m.put(MultibootBlockBuilder.cString("keel32.elf"), at: 0x1000)
        try translated(m, rsdp: MultibootTests.oldRSDP) { info in
            XCTAssertEqual(info.commandLine?.bytes.count, 0)
            XCTAssertEqual(info.acpiOldRSDP.map { Array($0.bytes) }, MultibootTests.oldRSDP)
            XCTAssertNil(info.acpiNewRSDP)
        }
    }

    func testFlagsSayWhichFieldsExist() throws {
        // Only the memory map: the other fields' garbage must not be read.
        var m = qemuLikeMemory(flags: 1 << 6)
        m.put32(0xffff_fff0, at: Self.info + 16)
        m.put32(1000, at: Self.info + 20)
        try translated(m) { info in
            XCTAssertNil(info.commandLine)
            XCTAssertNil(info.bootLoaderName)
            XCTAssertNil(info.basicMemory)
            XCTAssertEqual(Array(info.modules).count, 0)
            XCTAssertEqual(info.memoryMap?.count, MultibootTests.qemu256MiB.count)
            XCTAssertNil(info.rsdp)
        }
    }

    func testBadPointersAndSizesAreReportedNotTrapped() {
        func fails(_ memory: Memory, _ expected: MultibootError, capacity: Int = 8192, line: UInt = #line) {
            XCTAssertThrowsError(try translated(memory, capacity: capacity) { _ in }, line: line) { error in
                XCTAssertEqual(error as? MultibootError, expected, line: line)
            }
        }
        var m = qemuLikeMemory()
        m.put32(0x0100_0000, at: Self.info + 16)                 // command line outside memory
        fails(m, .version1Unreadable(field: 16))
        m = qemuLikeMemory()
        for i in 0x1000..<0x10000 where m.bytes[i] == 0 { m.bytes[i] = 0x41 }   // no NUL anywhere
        fails(m, .version1Unreadable(field: 16))
        m = qemuLikeMemory()
        m.put32(65, at: Self.info + 20)                            // absurd module count
        fails(m, .version1Unreadable(field: 20))
        m = qemuLikeMemory()
        m.put32(0x0020_0000, at: 0x1204)                           // module ends before it starts
        m.put32(0x0020_1000, at: 0x1200)
        fails(m, .badModuleRange(offset: 0, start: 0x0020_1000, end: 0x0020_0000))
        m = qemuLikeMemory()
        m.put32(4, at: 0x2000)                                     // a memory-map entry too small
        fails(m, .memoryMapEntryTooSmall(offset: 0, entrySize: 4))
        m = qemuLikeMemory()
        m.put32(0xffff_ff00, at: Self.info + 44)                   // map length past memory
        fails(m, .version1Unreadable(field: 44))
        fails(qemuLikeMemory(), .version1TooLarge(capacity: 64), capacity: 64)
    }

    /// An ACPI 2.0 RSDP whose checksums hold, as SeaBIOS writes it.
    static var validRSDP: [UInt8] {
        var r = MultibootTests.newRSDP
        r[8] = 0
        r[8] = 0 &- r[0..<20].reduce(0, &+)
        r[32] = 0
        r[32] = 0 &- r[0..<36].reduce(0, &+)
        return r
    }

    func testRSDPScanFindsOnlyAlignedSignaturesWithAGoodChecksum() {
        var area = [UInt8](repeating: 0, count: 0x400)
        area.replaceSubrange(0x18..<0x18 + 36, with: Self.validRSDP)                // not 16-byte aligned
        var bad = Self.validRSDP
        bad[8] ^= 1
        area.replaceSubrange(0x100..<0x100 + 36, with: bad)                          // checksum wrong
        area.replaceSubrange(0x200..<0x200 + 36, with: Self.validRSDP)
        XCTAssertEqual(area.withUnsafeBytes { RSDP.scan($0) }, 0x200)
        XCTAssertNoThrow(try Self.validRSDP.withUnsafeBytes { try RSDP(bytes: $0) }, "a real RSDP")
        XCTAssertNil(area.withUnsafeBytes { RSDP.scan(UnsafeRawBufferPointer(rebasing: $0[0..<0x200])) })
    }
}

private extension Optional where Wrapped == [UInt8] {
    func withOptionalBytes<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        switch self {
        case .some(let bytes): try bytes.withUnsafeBytes { try body($0) }
        case .none: try body(nil)
        }
    }
}
