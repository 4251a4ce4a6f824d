// `test=blk` (Tests/Boot blk_selftest): proof on a real disk image that the
// virtio-blk driver reads, writes, flushes and is interrupt driven. The host
// test fills the image's sectors 0-63 with `knownByte` before the boot and
// checks the written sectors after power-off. Here:
//   - sectors 0-63 read in one 32 KiB transfer into page-allocator pages (the
//     direct-map path) and sector 5 alone into a stack buffer (the bounce path)
//   - 512 KiB written at sector 2048 (cut into several requests), read back
//   - sectors 100 and 101 written one at a time from the stack
//   - a flush; a read past the end must fail with EIO, not reach the device
// Prints "blk selftest: ok" or what failed, then the driver's counters.

enum BlockSelfTest {
    /// The byte the host writes at offset `j` of sector `i` (i < 64).
    static func knownByte(sector i: Int, _ j: Int) -> UInt8 { UInt8(truncatingIfNeeded: (i * 7 + j) % 251) }
    /// The byte written at offset `j` of sector `i` of the large write.
    static func writtenByte(sector i: Int, _ j: Int) -> UInt8 { UInt8(truncatingIfNeeded: i * 13 + j * 3 + 1) }

    static let largeWriteSector = 2048
    static let largeWriteOrder = 7                  // 512 KiB

    static func run() {
        guard let disk = BlockDevices.virtioDisks.first(where: { $0.name == "vda" }) else {
            Console.write("blk selftest: no disk vda (attach one with --disk)\n")
            return
        }
        var failures: [String] = []
        checkKnownSectors(disk, &failures)
        checkLargeWrite(disk, &failures)
        checkSingleSectors(disk, &failures)
        do throws(Errno) { try disk.flush() } catch { failures.append("flush: \(error.name)") }
        checkPastEnd(disk, &failures)
        if failures.isEmpty {
            Console.write("blk selftest: ok\n")
        } else {
            for f in failures { Console.write("blk selftest: FAILED: " + f + "\n") }
        }
        let s = disk.statistics
        Console.write("blk selftest: \(s.interrupts) interrupts, \(s.readRequests) reads (\(s.sectorsRead) sectors), "
                      + "\(s.writeRequests) writes (\(s.sectorsWritten) sectors), \(s.flushRequests) flushes, "
                      + "\(s.errors) errors, max request \(disk.limits.maxRequestBytes) bytes\n")
    }

    private static func checkKnownSectors(_ disk: VirtioBlkDevice, _ failures: inout [String]) {
        guard let frames = PageAllocator.allocate(order: 3) else { return failures.append("no memory") }
        defer { PageAllocator.free(frames, order: 3) }
        let bytes = UnsafeMutableRawBufferPointer(start: DirectMap.pointer(frames, as: UInt8.self), count: 64 * 512)
        do throws(Errno) {
            try disk.read(sector: 0, into: bytes)
            if let bad = firstMismatch(bytes, firstSector: 0, knownByte) { failures.append("sectors 0-63: \(bad)") }
        } catch { failures.append("reading sectors 0-63: \(error.name)") }
        // The stack is vmalloc'ed: not in the direct map, so this goes through a bounce page.
        withUnsafeTemporaryAllocation(byteCount: 512, alignment: 8) { sector in
            do throws(Errno) {
                try disk.read(sector: 5, into: sector)
                if let bad = firstMismatch(sector, firstSector: 5, knownByte) { failures.append("sector 5 (bounced): \(bad)") }
            } catch { failures.append("reading sector 5: \(error.name)") }
        }
    }

    private static func checkLargeWrite(_ disk: VirtioBlkDevice, _ failures: inout [String]) {
        let count = (1 << largeWriteOrder) * Int(pageSize)
        guard let out = PageAllocator.allocate(order: largeWriteOrder) else { return failures.append("no memory") }
        defer { PageAllocator.free(out, order: largeWriteOrder) }
        guard let back = PageAllocator.allocate(order: largeWriteOrder) else { return failures.append("no memory") }
        defer { PageAllocator.free(back, order: largeWriteOrder) }
        let source = UnsafeMutableRawBufferPointer(start: DirectMap.pointer(out, as: UInt8.self), count: count)
        let result = UnsafeMutableRawBufferPointer(start: DirectMap.pointer(back, as: UInt8.self), count: count)
        for i in 0..<count / 512 {
            for j in 0..<512 { source[i * 512 + j] = writtenByte(sector: largeWriteSector + i, j) }
        }
        do throws(Errno) {
            try disk.write(sector: UInt64(largeWriteSector), from: UnsafeRawBufferPointer(source))
            try disk.read(sector: UInt64(largeWriteSector), into: result)
            if let bad = firstMismatch(result, firstSector: largeWriteSector, writtenByte) {
                failures.append("large write read back: \(bad)")
            }
        } catch { failures.append("large write: \(error.name)") }
    }

    /// "keel blk sector N", then zeros.
    private static func checkSingleSectors(_ disk: VirtioBlkDevice, _ failures: inout [String]) {
        for sectorNumber in 100...101 {
            withUnsafeTemporaryAllocation(byteCount: 512, alignment: 8) { sector in
                sector.initializeMemory(as: UInt8.self, repeating: 0)
                for (i, c) in "keel blk sector \(sectorNumber)".utf8.enumerated() { sector[i] = c }
                do throws(Errno) {
                    try disk.write(sector: UInt64(sectorNumber), from: UnsafeRawBufferPointer(sector))
                } catch { failures.append("writing sector \(sectorNumber): \(error.name)") }
            }
        }
    }

    private static func checkPastEnd(_ disk: VirtioBlkDevice, _ failures: inout [String]) {
        withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 8) { two in
            do throws(Errno) {
                try disk.read(sector: disk.sectorCount - 1, into: two)
                failures.append("a read past the end succeeded")
            } catch {
                if error != .EIO { failures.append("a read past the end: \(error.name), not EIO") }
            }
        }
    }

    private static func firstMismatch(_ bytes: UnsafeMutableRawBufferPointer, firstSector: Int,
                                      _ expected: (Int, Int) -> UInt8) -> String? {
        for i in 0..<bytes.count / 512 {
            for j in 0..<512 where bytes[i * 512 + j] != expected(firstSector + i, j) {
                return "sector \(firstSector + i) byte \(j) is \(bytes[i * 512 + j]), expected \(expected(firstSector + i, j))"
            }
        }
        return nil
    }
}
