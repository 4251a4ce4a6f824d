// Deliberate failures selected by `test=NAME` on the kernel command line, so the
// layer-3 tests (Tests/Boot) can check the panic report a student will one day
// need to read. Documented in the README.

enum TestHooks {
    static func run(_ name: String) {
        switch name {
        case "panic-pf": panicPageFault()
        case "panic-ud": panicSwiftTrap()
        case "stack-overflow": _ = overflowStack(0)
        case "double-free": doubleFree()
        case "slab-double-free": slabDoubleFree()
        case "mm": MemorySelfTest.run()
        case "smp": SMPSelfTest.run()
        case "blk": BlockSelfTest.run()
        case "blk-error": BlockSelfTest.runDeviceError()
        case "lockdep": lockdepSelfTest()
        case "might-sleep": mightSleepSelfTest()
        default: Log.warning("keel: unknown test hook '\(name)' ignored")
        }
    }

    /// Two locks taken in one order, then in the other: harmless on one CPU in
    /// sequence, a deadlock the day two CPUs do it at once. The validator must
    /// report it the first time the second order happens. Linux: the AA/ABBA
    /// cases of lib/locking-selftest.c
    @inline(never)
    static func lockdepSelfTest() {
        guard Lockdep.enabled else {
            Log.error("lockdep self-test: the validator is off (lockdep=0)")
            return
        }
        let a = SpinLock(LockClass("lockdep_test_a")), b = SpinLock(LockClass("lockdep_test_b"))
        Console.write("lockdep self-test: a then b\n")
        a.lock(); b.lock(); b.unlock(); a.unlock()
        Console.write("lockdep self-test: b then a\n")
        b.lock(); a.lock(); a.unlock(); b.unlock()
        Console.write("lockdep self-test: done, validator \(Lockdep.enabled ? "still on: no report" : "reported and off")\n")
    }

    /// A spinlock held where the code says it may sleep: the check every sleep
    /// makes must report it (the test stops short of sleeping for real, which
    /// would hang the CPU). Linux: might_sleep() under spin_lock()
    @inline(never)
    static func mightSleepSelfTest() {
        let lock = SpinLock(LockClass("might_sleep_test"))
        Lockdep.mightSleep()                  // nothing held: silent
        Console.write("might_sleep self-test: sleeping with a spinlock held\n")
        lock.lock()
        Lockdep.mightSleep()
        lock.unlock()
        Console.write("might_sleep self-test: done\n")
    }

    /// A kernel write to an address nothing maps: a not-present #PF, CR2 = 0x7e00dead0000.
    @inline(never)
    static func panicPageFault() {
        let nowhere = UnsafeMutablePointer<UInt64>(bitPattern: 0x0000_7e00_dead_0000)!
        nowhere.pointee = 0x6b6b
    }

    /// A failing `precondition`: Embedded Swift compiles it to `ud2`.
    @inline(never)
    static func panicSwiftTrap() {
        precondition(Boot.commandLine.testHook != "panic-ud", "test=panic-ud")
    }

    /// Recursion with a 64-byte frame per call and no end in sight (the limit is
    /// a variable, so the compiler cannot turn the recursion into a loop): the
    /// kernel stack runs into its guard page.
    nonisolated(unsafe) static var recursionLimit = UInt64.max
    nonisolated(unsafe) static var lastFrame: UnsafeMutableRawPointer? = nil

    @inline(never)
    static func overflowStack(_ depth: UInt64) -> UInt64 {
        guard depth < recursionLimit else { return depth }
        var frame: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (depth, 0, 0, 0, 0, 0, 0, 0)
        frame.1 = overflowStack(depth &+ 1)
        withUnsafeMutableBytes(of: &frame) { lastFrame = $0.baseAddress }
        return frame.1
    }

    /// Freeing the same page twice: the buddy allocator refuses and the kernel panics.
    @inline(never)
    static func doubleFree() {
        guard let frame = PageAllocator.allocate() else { return }
        PageAllocator.free(frame)
        PageAllocator.free(frame)
    }

    /// kfree() of the same object twice: the slab layer refuses, naming the cache.
    @inline(never)
    static func slabDoubleFree() {
        guard let object = Slab.kmalloc(64) else { return }
        Slab.kfree(object)
        Slab.kfree(object)
        // Not reached; it also keeps the second kfree from being a tail call
        // (kfree is never inlined), so this frame is in the panic's trace.
        Log.error("slab: a second kfree of one object was not refused")
    }
}
