// `test=blk` (Tests/Boot blk_selftest): proof on a real disk image that the
// virtio-blk driver reads, writes, flushes and is interrupt driven. The host
// test fills the image's sectors 0-63 with `knownByte` before the boot and
// checks the written sectors after power-off. Here:
//   - sectors 0-63 read in one 32 KiB transfer into page-allocator pages (the
//     direct-map path) and sector 5 alone into a stack buffer (the bounce path)
//   - 512 KiB written at sector 2048 (cut into several requests), read back
//   - sectors 100 and 101 written one at a time from the stack
//   - a flush; a read past the end must fail with EIO, not reach the device
//   - two kernel threads (on two CPUs when there are two) each write 256 KiB
//     from a vmalloc buffer at once and read it back, 8 rounds: they sleep
//     while the device works, and since a bounced 256 KiB request takes 66
//     descriptors, two at once overflow the 128-entry ring and one waits for
//     descriptors. The idle context waits for them, switching to them when
//     they are runnable on its CPU; from here on the boot CPU's tick runs.
// Prints "blk selftest: ok" or what failed, then the driver's counters.
//
// `test=blk-error` (Tests/Boot blk_device_error_is_eio): the host injects a
// read error at sector 4096 (QEMU's blkdebug); that read must fail with EIO,
// and reads on either side of it must still work.

import Synchronization

enum BlockSelfTest {
    /// The byte the host writes at offset `j` of sector `i` (i < 64).
    static func knownByte(sector i: Int, _ j: Int) -> UInt8 { UInt8(truncatingIfNeeded: (i * 7 + j) % 251) }
    /// The byte written at offset `j` of sector `i` of the large write.
    static func writtenByte(sector i: Int, _ j: Int) -> UInt8 { UInt8(truncatingIfNeeded: i * 13 + j * 3 + 1) }

    static let largeWriteSector = 2048
    static let largeWriteOrder = 7                  // 512 KiB

    static let threadCount = 2, threadRounds = 8, threadBytes = 256 * 1024
    /// Where thread `k` writes: sectors 4096 + 512k on.
    static func threadSector(_ k: Int) -> Int { 4096 + k * threadBytes / 512 }
    /// The byte at `offset` of thread `k`'s buffer in `round`.
    static func threadByte(_ k: Int, round: Int, _ offset: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: offset * 7 + offset / 512 + k * 37 + round * 11)
    }
    private static let threadsFinished = Atomic<Int>(0)
    /// Per thread, written only by that thread and read after it finished:
    /// the CPUs it ran on (a bit each), and what went wrong (0: nothing;
    /// an Errno's value; -1 no memory; -2 data read back differs).
    nonisolated(unsafe) private static let threadCPUs = UnsafeMutablePointer<UInt64>.allocate(capacity: threadCount)
    nonisolated(unsafe) private static let threadErrors = UnsafeMutablePointer<Int>.allocate(capacity: threadCount)

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
        checkConcurrentThreads(disk, &failures)
        if failures.isEmpty {
            Console.write("blk selftest: ok\n")
        } else {
            for f in failures { Console.write("blk selftest: FAILED: " + f + "\n") }
        }
        let s = disk.statistics
        Console.write("blk selftest: \(s.interrupts) interrupts, \(s.readRequests) reads (\(s.sectorsRead) sectors), "
                      + "\(s.writeRequests) writes (\(s.sectorsWritten) sectors), \(s.flushRequests) flushes, "
                      + "\(s.errors) errors, \(s.queueFullWaits) waits for a full queue, "
                      + "max request \(disk.limits.maxRequestBytes) bytes\n")
    }

    static func runDeviceError() {
        guard let disk = BlockDevices.virtioDisks.first(where: { $0.name == "vda" }) else {
            Console.write("blk error test: no disk vda\n")
            return
        }
        var failures: [String] = []
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { buffer in
            for (sector, failing) in [(0, false), (4096, true), (1, false)] {
                do throws(Errno) {
                    try disk.read(sector: UInt64(sector), into: buffer)
                    if failing { failures.append("the read at sector \(sector) succeeded") }
                } catch {
                    if !failing || error != .EIO { failures.append("the read at sector \(sector): \(error.name)") }
                }
            }
        }
        if failures.isEmpty {
            Console.write("blk error test: ok\n")
        } else {
            for f in failures { Console.write("blk error test: FAILED: " + f + "\n") }
        }
        let s = disk.statistics
        Console.write("blk error test: \(s.readRequests) reads, \(s.errors) errors\n")
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

    private static func checkConcurrentThreads(_ disk: VirtioBlkDevice, _ failures: inout [String]) {
        threadCPUs.initialize(repeating: 0, count: threadCount)
        threadErrors.initialize(repeating: 0, count: threadCount)
        // The boot CPU's tick, as in the running kernel: a thread that finishes
        // on another CPU changes `threadsFinished` without interrupting this
        // one, so without a tick the halt below could wait for ever. (A tick
        // preempts only user mode: this context keeps its place.)
        LocalAPIC.startTimer()
        let start = Clock.monotonicNanoseconds
        var started = 0
        for k in 0..<threadCount where KernelThread.start("blktest/\(k)", { threadBody(disk, k) }) { started += 1 }
        guard started == threadCount else { return failures.append("no memory for the threads") }
        while threadsFinished.load(ordering: .acquiring) < threadCount {
            CPU.halt { threadsFinished.load(ordering: .acquiring) == threadCount || Scheduler.needResched[PerCPU.cpu] }
            Scheduler.condResched()
        }
        let microseconds = (Clock.monotonicNanoseconds - start) / 1000
        var cpus: UInt64 = 0
        for k in 0..<threadCount {
            cpus |= threadCPUs[k]
            switch threadErrors[k] {
            case 0: break
            case -1: failures.append("thread \(k): no memory")
            case -2: failures.append("thread \(k): data read back differs from what it wrote")
            default: failures.append("thread \(k): error \(threadErrors[k])")
            }
        }
        var list: [String] = []
        for cpu in 0..<64 where cpus & (1 << UInt64(cpu)) != 0 { list.append(String(cpu)) }
        Console.write("blk selftest: \(threadCount) threads x \(threadRounds) rounds of 256 KiB ran on CPUs "
                      + list.joined(separator: ",") + " in \(microseconds / 1000) ms ("
                      + "\(UInt64(2 * threadCount * threadRounds * threadBytes) * 1000 / max(1, microseconds)) KB/s moved)\n")
    }

    /// One kernel thread: write, read back, compare, `threadRounds` times.
    private static func threadBody(_ disk: VirtioBlkDevice, _ k: Int) {
        defer { threadsFinished.add(1, ordering: .releasing) }
        guard let out = Vmalloc.allocate(bytes: threadBytes) else { threadErrors[k] = -1; return }
        defer { Vmalloc.free(out) }
        guard let back = Vmalloc.allocate(bytes: threadBytes) else { threadErrors[k] = -1; return }
        defer { Vmalloc.free(back) }
        let source = UnsafeMutableRawBufferPointer(start: out, count: threadBytes)
        let result = UnsafeMutableRawBufferPointer(start: back, count: threadBytes)
        for round in 0..<threadRounds {
            for i in 0..<threadBytes { source[i] = threadByte(k, round: round, i) }
            do throws(Errno) {
                threadCPUs[k] |= 1 << UInt64(PerCPU.cpu)
                try disk.write(sector: UInt64(threadSector(k)), from: UnsafeRawBufferPointer(source))
                threadCPUs[k] |= 1 << UInt64(PerCPU.cpu)
                try disk.read(sector: UInt64(threadSector(k)), into: result)
            } catch {
                threadErrors[k] = Int(error.rawValue)
                return
            }
            if memcmp(out, back, threadBytes) != 0 {
                threadErrors[k] = -2
                return
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
