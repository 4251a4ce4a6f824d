// make bench, host part: Keel's allocators against glibc in the same process,
// same run. Prints ns per operation and the ratios the memory issue sets as goals:
//   buddy order-0 alloc+free pair    <= 30 ns
//   slab alloc+free pair             <= 0.5 x glibc malloc/free of the same size
// Everything is measured best-of-N with interleaved runs, since other work may
// share the machine. Build: swift build -c release --product KeelBench
import Glibc
import KeelCore

/// Physical memory for the buddy allocator that never zeroes (GFP.zero unused here).
struct NoMemory: PhysicalMemory {
    func read64(_ address: PhysAddr) -> UInt64 { 0 }
    func write64(_ address: PhysAddr, _ value: UInt64) {}
    func exchange64(_ address: PhysAddr, _ value: UInt64) -> UInt64 { 0 }
    func clearBits64(_ address: PhysAddr, _ mask: UInt64) -> UInt64 { 0 }
    func zeroFrame(_ frame: PhysAddr) {}
}

/// Page blocks for the slab allocator: posix_memalign, aligned to their size.
struct HostPages: SlabPageBackend {
    mutating func allocatePages(order: Int) -> UnsafeMutableRawPointer? {
        var p: UnsafeMutableRawPointer? = nil
        return posix_memalign(&p, 4096 << order, 4096 << order) == 0 ? p : nil
    }
    mutating func freePages(_ block: UnsafeMutableRawPointer, order: Int) { free(block) }
}

nonisolated(unsafe) let escape = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: 1)
nonisolated(unsafe) var sink: UInt64 = 0

func nanoseconds(_ rounds: Int, _ body: () -> Void) -> Double {
    var start = timespec(), end = timespec()
    clock_gettime(CLOCK_MONOTONIC, &start)
    body()
    clock_gettime(CLOCK_MONOTONIC, &end)
    return (Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)) / Double(rounds)
}

func best(_ repeats: Int, _ run: () -> Double) -> Double {
    var b = Double.infinity
    for _ in 0..<repeats { b = min(b, run()) }
    return b
}

/// A fixed-point rendering with `digits` decimals (no Foundation here).
func fmt(_ v: Double, digits: Int = 1) -> String {
    var scale = 1
    for _ in 0..<digits { scale *= 10 }
    let n = Int((v * Double(scale)).rounded())
    var frac = String(n % scale)
    while frac.count < digits { frac = "0" + frac }
    return "\(n / scale).\(frac)"
}

let rounds = 1_000_000, repeats = 7

// ---- buddy: 256 MiB of simulated RAM, as under `make run` ----
func buddyPair(order: Int) -> Double {
    let frames = 65536
    let storage = UnsafeMutablePointer<Page>.allocate(capacity: frames)
    defer { storage.deallocate() }
    var buddy = BuddyAllocator(memMap: MemMap(storage: storage, basePFN: 0, frames: frames), memory: NoMemory())
    buddy.addFreeRange(PhysAddr(1 << 20), PhysAddr(UInt64(frames) << 12))
    // One block stays allocated, as in a running kernel, so the pair does not always
    // split and merge all the way up.
    let resident = buddy.allocate(order: order)!
    let t = nanoseconds(rounds) {
        for _ in 0..<rounds {
            let block = buddy.allocate(order: order)!
            sink &+= block.value
            try! buddy.free(block, order: order)
        }
    }
    try! buddy.free(resident, order: order)
    return t
}

// ---- slab: kmalloc of a size vs glibc malloc of the same size ----
func kmallocPair(_ slab: SlabAllocator<HostPages>, size: Int) -> Double {
    let resident = try! slab.kmalloc(size)
    defer { try! slab.kfree(resident) }
    return nanoseconds(rounds) {
        for i in 0..<rounds {
            let p = try! slab.kmalloc(size)
            p.storeBytes(of: UInt8(truncatingIfNeeded: i), as: UInt8.self)
            escape.pointee = p
            try! slab.kfree(p)
        }
    }
}

func mallocPair(size: Int) -> Double {
    let resident = malloc(size)
    defer { free(resident) }
    return nanoseconds(rounds) {
        for i in 0..<rounds {
            let p = malloc(size)!
            p.storeBytes(of: UInt8(truncatingIfNeeded: i), as: UInt8.self)
            escape.pointee = p
            free(p)
        }
    }
}

print("Keel host benchmarks (ns per alloc+free pair, best of \(repeats) x \(rounds))")
let order0 = best(repeats) { buddyPair(order: 0) }
let order3 = best(repeats) { buddyPair(order: 3) }
print("buddy order-0 pair      \(fmt(order0)) ns   goal <= 30 ns: \(order0 <= 30 ? "met" : "MISSED")")
print("buddy order-3 pair      \(fmt(order3)) ns")
let slab = try! SlabAllocator(backend: HostPages())
for size in [64, 256, 1024] {
    var k = Double.infinity, m = Double.infinity
    for _ in 0..<repeats {
        k = min(k, kmallocPair(slab, size: size))
        m = min(m, mallocPair(size: size))
    }
    let ratio = k / m
    print("kmalloc-\(size) pair" + String(repeating: " ", count: 9 - String(size).count)
          + "\(fmt(k)) ns   glibc malloc/free \(fmt(m)) ns   ratio \(fmt(ratio, digits: 2))x   goal <= 0.5x: \(ratio <= 0.5 ? "met" : "MISSED")")
}
if sink == 42 { print("") }
