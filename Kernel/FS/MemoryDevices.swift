// The memory devices of major 1: /dev/null swallows writes and reads as empty,
// /dev/zero reads as zeros, /dev/full reads as zeros and is always full, and
// /dev/random and /dev/urandom read as random bytes (RDRAND, as getrandom(2)
// gives them; Keel has no entropy pool to block on, like Linux since 5.6 once
// its pool is ready). Linux: drivers/char/mem.c, drivers/char/random.c

final class MemoryDevice: CharacterDevice {
    enum Kind { case null, zero, full, random }
    let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    nonisolated(unsafe) static let null = MemoryDevice(.null)
    nonisolated(unsafe) static let zero = MemoryDevice(.zero)
    nonisolated(unsafe) static let full = MemoryDevice(.full)
    nonisolated(unsafe) static let random = MemoryDevice(.random)

    /// Linux: the minors of the memory devices (Documentation/admin-guide/devices.txt)
    static let nullNumber = DeviceNumber(major: 1, minor: 3)
    static let zeroNumber = DeviceNumber(major: 1, minor: 5)
    static let fullNumber = DeviceNumber(major: 1, minor: 7)
    static let randomNumber = DeviceNumber(major: 1, minor: 8)
    static let urandomNumber = DeviceNumber(major: 1, minor: 9)

    static func driver(minor: UInt32) -> MemoryDevice? {
        switch minor {
        case 3: null
        case 5: zero
        case 7: full
        case 8, 9: random
        default: nil
        }
    }

    /// Linux: read_null(), read_iter_zero(), urandom_read_iter()
    func read(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int {
        if kind == .null { return 0 }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
        defer { chunk.deallocate() }
        chunk.initializeMemory(as: UInt8.self, repeating: 0)
        var done = 0
        while buffer.remaining > 0 {
            if done > 0 && Signals.interrupted(Scheduler.current) { break }   // a signal ends a long read
            let n = min(chunk.count, buffer.remaining)
            if kind == .random { arc4random_buf(chunk.baseAddress!, n) }
            done += try buffer.copyOut(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
            Scheduler.condResched()
        }
        return done
    }

    /// Linux: write_null(), write_full() (ENOSPC), random_write_iter() (mixes
    /// the bytes into the pool; RDRAND needs none, so they are dropped)
    func write(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int {
        if kind == .full { throw .ENOSPC }
        return buffer.discardAll()
    }

    func ioctl(_ command: UInt32, argument: VirtAddr, file: OpenFile) throws(Errno) -> Int { throw .ENOTTY }

    /// Never makes anyone wait. Linux: DEFAULT_POLLMASK (mem.c has no poll)
    func poll(file: OpenFile, table: PollTable?) -> PollEvents { [.in, .out, .readNormal, .writeNormal] }
}
