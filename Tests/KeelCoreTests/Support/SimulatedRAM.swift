// Simulated physical memory for host tests: a byte buffer standing in for RAM behind
// the PhysicalMemory seam, and a frame allocator over it that remembers which frames are
// out, so a test can prove that code gave back everything it took.

import KeelCore

/// `frameCount` frames of RAM starting at physical address `base`.
/// A class because PhysicalMemory is used like hardware: every copy sees the same bytes.
final class SimulatedRAM: PhysicalMemory {
    let base: PhysAddr
    let frameCount: Int
    private let bytes: UnsafeMutableRawBufferPointer

    init(frames: Int, base: PhysAddr = PhysAddr(0)) {
        precondition(base.isPageAligned)
        self.base = base
        frameCount = frames
        bytes = .allocate(byteCount: frames * Int(pageSize), alignment: Int(pageSize))
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { bytes.deallocate() }

    /// One past the last byte of RAM.
    var end: PhysAddr { base + UInt64(frameCount) * pageSize }

    /// Every frame, lowest first.
    var frames: [PhysAddr] { (0..<frameCount).map { base + UInt64($0) * pageSize } }

    /// Byte offset of [address, address + count) in the buffer; traps outside RAM, like a bus error.
    private func offset(_ address: PhysAddr, _ count: Int) -> Int {
        precondition(address >= base && address.value + UInt64(count) <= end.value,
                     "physical access outside simulated RAM: 0x\(String(address.value, radix: 16))")
        return Int(address - base)
    }

    func read64(_ address: PhysAddr) -> UInt64 {
        bytes.loadUnaligned(fromByteOffset: offset(address, 8), as: UInt64.self)
    }

    func write64(_ address: PhysAddr, _ value: UInt64) {
        bytes.storeBytes(of: value, toByteOffset: offset(address, 8), as: UInt64.self)
    }

    /// One thread in the host tests: a read, then a write.
    func exchange64(_ address: PhysAddr, _ value: UInt64) -> UInt64 {
        let old = read64(address)
        write64(address, value)
        return old
    }
    func clearBits64(_ address: PhysAddr, _ mask: UInt64) -> UInt64 {
        let old = read64(address)
        write64(address, old & ~mask)
        return old
    }
    func zeroFrame(_ frame: PhysAddr) { fill(frame, count: Int(pageSize), with: 0) }

    func readBytes(_ address: PhysAddr, count: Int) -> [UInt8] {
        let start = offset(address, count)
        return Array(bytes[start..<start + count])
    }

    func writeBytes(_ address: PhysAddr, _ data: [UInt8]) {
        let start = offset(address, data.count)
        for (i, byte) in data.enumerated() { bytes[start + i] = byte }
    }

    func fill(_ address: PhysAddr, count: Int, with byte: UInt8) {
        let start = offset(address, count)
        bytes[start..<start + count].initializeMemory(as: UInt8.self, repeating: byte)
    }
}

/// Hands out the frames of a SimulatedRAM, lowest first, and tracks the ones outstanding.
/// Each frame is filled with `poison` when handed out, because FrameAllocator promises
/// no zeroing: code that forgets to zero a frame reads garbage and fails its test.
/// Freeing a frame that is not outstanding traps (double free or foreign frame).
struct SimulatedFrameAllocator: FrameAllocator {
    static let poison: UInt8 = 0xa5

    let ram: SimulatedRAM
    /// Frames handed out and not yet freed.
    private(set) var allocated: Set<PhysAddr> = []
    /// Successful allocations left before the allocator reports exhaustion; nil for no limit.
    var remainingAllocations: Int?
    private var free: [PhysAddr]

    init(ram: SimulatedRAM, remainingAllocations: Int? = nil) {
        self.ram = ram
        self.remainingAllocations = remainingAllocations
        free = ram.frames.reversed()
    }

    var allocatedCount: Int { allocated.count }

    mutating func allocateFrame() -> PhysAddr? {
        if let left = remainingAllocations {
            guard left > 0 else { return nil }
            remainingAllocations = left - 1
        }
        guard let frame = free.popLast() else { return nil }
        allocated.insert(frame)
        ram.fill(frame, count: Int(pageSize), with: Self.poison)
        return frame
    }

    mutating func freeFrame(_ frame: PhysAddr) {
        precondition(allocated.remove(frame) != nil, "freeing a frame that is not allocated: 0x\(String(frame.value, radix: 16))")
        free.append(frame)
    }
}
