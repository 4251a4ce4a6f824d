// The lock validator in the kernel (Linux: kernel/locking/lockdep.c). Every
// lock names its class (`LockClass`); each acquisition and release is reported
// here, which keeps the locks each CPU holds and asks Kernel/Core's
// LockDependencyGraph whether the new one could deadlock. The first problem is
// printed the way Linux prints it, with call traces, and then the validator
// turns itself off (Linux: debug_locks_off()): one report is what a student
// needs, and a second would come from the same bug.
//
// Held locks are kept per CPU: a spinning lock is held only by the CPU that
// took it, and never across a context switch. The scheduler lock is handed from the task that switches away to the one that
// runs next, on the same CPU, so it stays on that CPU's list. A sleeping lock
// (a mutex, a semaphore) is held across a switch and may be let go on another
// CPU, so it belongs to its task: the switch moves the outgoing task's sleeping
// locks off the CPU's list into the task, and the incoming task's back
// (`switchTasks`). Linux keeps every held lock per task (task_struct.held_locks).
//
// What protects the validator's own state: a raw spinning flag with interrupts
// off (Linux: lockdep's graph_lock, an arch_spinlock_t), never itself validated;
// each CPU's held list is touched only by that CPU with interrupts off.
// `lockdep=0` on the command line turns it off (make bench does).

import Synchronization

/// A kind of lock: its name, and its number in the graph, given at first use.
/// Make one per place locks are defined (a `static let`), not one per lock.
/// Linux: struct lock_class_key
final class LockClass: @unchecked Sendable {   // its index is set once, under the graph lock
    let name: StaticString
    /// A lock whose holder may sleep (a mutex or semaphore), not a spinning one.
    let sleeping: Bool
    fileprivate var index = -1

    init(_ name: StaticString, sleeping: Bool = false) {
        self.name = name
        self.sleeping = sleeping
    }
}

enum Lockdep {
    /// Locks one CPU may hold at once. Linux: MAX_LOCK_DEPTH (48)
    static let maxDepth = 16

    /// A held lock. Plain values only: this is written on every acquisition,
    /// where no reference may be counted and nothing allocated.
    struct Held {
        fileprivate var classIndex: Int
        /// Where it was taken: the return address into the caller of lock().
        fileprivate var acquiredAt: UInt64
        fileprivate var inInterrupt: Bool
        fileprivate var sleeping: Bool
        static let none = Held(classIndex: -1, acquiredAt: 0, inInterrupt: false, sleeping: false)
    }

    /// The sleeping locks a task holds while it does not run (at most 4, kept in
    /// the task). Linux: task_struct.held_locks / lockdep_depth
    struct TaskLocks {
        fileprivate var slots = InlineArray<4, Held>(repeating: .none)
        fileprivate var count = 0
        init() {}
    }

    /// Set once the heap exists and the command line allows it; cleared by the first report.
    nonisolated(unsafe) private(set) static var enabled = false
    nonisolated(unsafe) private static var graph = LockDependencyGraph()
    nonisolated(unsafe) private static var classes: [LockClass?] = []
    /// maxDepth slots per CPU, and how many of each CPU's are in use.
    nonisolated(unsafe) private static var held: UnsafeMutablePointer<Held>? = nil
    nonisolated(unsafe) private static var depth: UnsafeMutablePointer<Int>? = nil
    /// Where each edge a -> b of the graph was first recorded (the site that took
    /// b while holding a), at [a * maxClasses + b], for the report's chain.
    /// Linux: lock_list.trace
    nonisolated(unsafe) private static var edgeSites: UnsafeMutablePointer<UInt64>? = nil
    /// Hardware-interrupt nesting per CPU (Linux: hardirq_count()).
    nonisolated(unsafe) private static var interruptNesting: UnsafeMutablePointer<Int>? = nil
    private static let graphLock = Atomic<Bool>(false)
    /// Per CPU: the validator is running on it. Locks it takes itself (the
    /// console's, for a report) are not validated, and what it allocates (a
    /// report's text, a cycle's chain) comes from the early heap, since the
    /// lock that set it off may be the slab's own. Linux: current->lockdep_recursion
    nonisolated(unsafe) private static var inside: UnsafeMutablePointer<Bool>? = nil

    /// Linux: lockdep_init()
    static func initialize(enabled on: Bool) {
        guard on else {
            Log.info("lockdep: off (lockdep=0)")
            return
        }
        graph = LockDependencyGraph()       // made now: made on first use it would allocate inside a check
        classes = [LockClass?](repeating: nil, count: LockDependencyGraph.maxClasses)
        let recursion = UnsafeMutablePointer<Bool>.allocate(capacity: SMP.maxCPUs)
        recursion.initialize(repeating: false, count: SMP.maxCPUs)
        inside = recursion
        let slots = UnsafeMutablePointer<Held>.allocate(capacity: SMP.maxCPUs * maxDepth)
        slots.initialize(repeating: .none, count: SMP.maxCPUs * maxDepth)
        held = slots
        depth = UnsafeMutablePointer<Int>.allocate(capacity: SMP.maxCPUs)
        depth!.initialize(repeating: 0, count: SMP.maxCPUs)
        let edges = LockDependencyGraph.maxClasses * LockDependencyGraph.maxClasses
        edgeSites = UnsafeMutablePointer<UInt64>.allocate(capacity: edges)
        edgeSites!.initialize(repeating: 0, count: edges)
        interruptNesting = UnsafeMutablePointer<Int>.allocate(capacity: SMP.maxCPUs)
        interruptNesting!.initialize(repeating: 0, count: SMP.maxCPUs)
        enabled = true
        Log.info("lockdep: lock dependency validator on, \(LockDependencyGraph.maxClasses) classes, depth \(maxDepth)")
    }

    /// A hardware interrupt handler runs `body`; locks it takes are marked as
    /// taken in interrupt context. Linux: irq_enter() / irq_exit()
    @inline(__always)
    static func inInterrupt<R>(_ body: () -> R) -> R {
        guard enabled, let nesting = interruptNesting else { return body() }
        let cpu = PerCPU.cpu
        nesting[cpu] += 1
        defer { nesting[cpu] -= 1 }
        return body()
    }

    /// Reports taking a lock of `lockClass`, about to spin for it or just got.
    /// `interruptsOn` says whether interrupts stay on while it is held. With the
    /// validator off it costs one test: the class is not even looked up.
    /// Linux: lock_acquire()
    @inline(__always)
    static func acquire(_ lockClass: @autoclosure () -> LockClass, interruptsOn: @autoclosure () -> Bool) {
        if enabled { check(lockClass(), interruptsOn: interruptsOn()) }
    }

    /// Reports a lock taken by a try-lock: held from now on, so locks taken
    /// inside it order after it, but taking it adds no dependency (a
    /// try-lock never waits, so it cannot close a deadlock cycle).
    /// Linux: lock_acquire() with trylock = 1
    @inline(__always)
    static func acquireTry(_ lockClass: @autoclosure () -> LockClass) {
        if enabled { checkTry(lockClass()) }
    }

    @inline(never)
    private static func checkTry(_ lockClass: LockClass) {
        let callerAddress = lockCallerAddress()
        onThisCPU { cpu, mine, _ in
            let count = depth![cpu]
            var index = lockClass.index
            if index < 0 {
                lockGraph()
                index = classID(lockClass)?.index ?? -1
                unlockGraph()
            }
            guard index >= 0, count < maxDepth else {
                report(title: index < 0 ? "BUG: MAX_LOCKDEP_KEYS too low!" : "BUG: MAX_LOCK_DEPTH too low!", [])
                return
            }
            mine[count] = Held(classIndex: index, acquiredAt: callerAddress, inInterrupt: interruptNesting![cpu] > 0,
                               sleeping: lockClass.sleeping)
            depth![cpu] = count + 1
        }
    }

    /// Reports letting go of a lock of `lockClass`. Linux: lock_release()
    @inline(__always)
    static func release(_ lockClass: @autoclosure () -> LockClass) {
        if enabled { forget(lockClass()) }
    }

    @inline(never)
    private static func check(_ lockClass: LockClass, interruptsOn: Bool) {
        let callerAddress = lockCallerAddress()
        onThisCPU { cpu, mine, _ in record(lockClass, interruptsOn: interruptsOn, at: callerAddress, cpu: cpu, mine) }
    }

    private static func record(_ lockClass: LockClass, interruptsOn: Bool, at callerAddress: UInt64, cpu: Int,
                               _ mine: UnsafeMutablePointer<Held>) {
        let count = depth![cpu]
        let inIRQ = interruptNesting![cpu] > 0
        var index = lockClass.index
        if index < 0 {
            lockGraph()
            index = classID(lockClass)?.index ?? -1
            unlockGraph()
            guard index >= 0 else {
                report(title: "BUG: MAX_LOCKDEP_KEYS too low!", [])
                return
            }
        }
        // Only locks taken in the same context order against each other: an
        // interrupt handler's lock and the code it interrupted are related by
        // the interrupt-safety rule instead. Linux: check_prevs_add()
        let problem = withUnsafeTemporaryAllocation(of: LockClassID.self, capacity: maxDepth) { context -> LockProblem? in
            var n = 0
            for i in 0..<count where mine[i].inInterrupt == inIRQ {
                context[n] = LockClassID(mine[i].classIndex)
                n += 1
            }
            lockGraph()
            defer { unlockGraph() }
            let holding = UnsafeBufferPointer(rebasing: context[0..<n])
            var newEdges: UInt64 = 0
            for h in holding where !graph.dependsOn(h, LockClassID(index)) { newEdges |= 1 << UInt64(h.index) }
            let problem = graph.acquire(LockClassID(index), holding: holding, inInterrupt: inIRQ, interruptsOn: interruptsOn)
            if problem == nil {
                while newEdges != 0 {
                    let h = newEdges.trailingZeroBitCount
                    newEdges &= newEdges - 1
                    edgeSites![h * LockDependencyGraph.maxClasses + index] = callerAddress
                }
            }
            return problem
        }
        if let problem {
            reportProblem(problem, taking: lockClass, at: callerAddress, heldOn: cpu)
            return
        }
        guard count < maxDepth else {
            report(title: "BUG: MAX_LOCK_DEPTH too low!", [])
            return
        }
        mine[count] = Held(classIndex: index, acquiredAt: callerAddress, inInterrupt: inIRQ, sleeping: lockClass.sleeping)
        depth![cpu] = count + 1
    }

    private static func forget(_ lockClass: LockClass) {
        onThisCPU { cpu, mine, _ in drop(lockClass, cpu: cpu, mine) }
    }

    private static func drop(_ lockClass: LockClass, cpu: Int, _ mine: UnsafeMutablePointer<Held>) {
        var count = depth![cpu]
        // Usually the innermost; locks may be released out of order.
        let index = lockClass.index
        var i = count - 1
        while i >= 0 && mine[i].classIndex != index { i -= 1 }
        guard i >= 0, index >= 0 else {
            reportUnheld(lockClass)
            return
        }
        for j in i..<(count - 1) { mine[j] = mine[j + 1] }   // (empty when i is the last)
        count -= 1
        depth![cpu] = count
    }

    /// The caller is about to sleep (give up the CPU until woken): no spinning
    /// lock may be held (sleeping locks may), and no interrupt handler may sleep. Otherwise the report Linux prints for
    /// it. Linux: might_sleep() → __might_sleep()
    @inline(__always)
    static func mightSleep() {
        if enabled { checkMaySleep() }
    }

    @inline(never)
    private static func checkMaySleep() {
        let caller = UnsafePointer<UInt64>(bitPattern: UInt(CPU.framePointer))![1]   // into mightSleep()'s caller
        onThisCPU { cpu, mine, interruptsWereOn in reportIfAtomic(caller: caller, cpu: cpu, mine, interruptsWereOn) }
    }

    private static func reportIfAtomic(caller: UInt64, cpu: Int, _ mine: UnsafeMutablePointer<Held>,
                                       _ interruptsWereOn: Bool) {
        var spinning = 0
        for i in 0..<depth![cpu] where !mine[i].sleeping { spinning += 1 }
        let inIRQ = interruptNesting![cpu] > 0
        guard spinning > 0 || inIRQ else { return }
        let task = Scheduler.current
        var lines = ["in_atomic(): \(spinning > 0 ? 1 : 0), irqs_disabled(): \(interruptsWereOn ? 0 : 1), in hardirq: \(inIRQ ? 1 : 0), pid: \(task.pid), name: \(task.name)",
                     "called from: \(symbol(caller))",
                     "locks held by \(task.name)/\(task.pid) on CPU \(cpu):"]
        for i in 0..<depth![cpu] {
            lines.append(" #\(i): (\(name(LockClassID(mine[i].classIndex)))), at: \(symbol(mine[i].acquiredAt))")
        }
        report(title: "BUG: sleeping function called from invalid context", lines)
    }

    /// The context switch from `previous` to `next` on this CPU (scheduler lock
    /// held, interrupts off): `previous`'s sleeping locks leave the CPU's list
    /// with it, `next`'s come back. Linux needs no such step: its lists are per task.
    static func switchTasks(saving previous: inout TaskLocks, restoring next: inout TaskLocks) {
        guard enabled, let depth else { return }
        let cpu = PerCPU.cpu
        let mine = held! + cpu * maxDepth
        var kept = 0
        for i in 0..<depth[cpu] {
            if mine[i].sleeping {
                guard previous.count < previous.slots.count else {
                    report(title: "BUG: MAX_LOCK_DEPTH too low!", ["more than \(previous.slots.count) sleeping locks held across a sleep"])
                    return
                }
                previous.slots[previous.count] = mine[i]
                previous.count += 1
            } else {
                mine[kept] = mine[i]
                kept += 1
            }
        }
        for i in 0..<next.count where kept < maxDepth {
            mine[kept] = next.slots[i]
            kept += 1
        }
        next.count = 0
        depth[cpu] = kept
    }

    /// Runs `body` with this CPU's held-lock list and interrupts off: the list is
    /// touched only by its own CPU, so keeping interrupt handlers out is all the
    /// protection it needs. `body` also learns whether interrupts were on.
    private static func onThisCPU(_ body: (_ cpu: Int, _ held: UnsafeMutablePointer<Held>, _ interruptsWereOn: Bool) -> Void) {
        let wasOn = CPU.interruptsEnabled
        CPU.disableInterrupts()
        defer { if wasOn { CPU.enableInterrupts() } }
        let cpu = PerCPU.cpu
        guard !inside![cpu] else { return }
        inside![cpu] = true
        body(cpu, held! + cpu * maxDepth, wasOn)
        inside![cpu] = false
    }

    /// Whether an allocation now must come from the early heap: this CPU is
    /// inside the validator. Linux: lockdep_recursion (its reports use static buffers)
    @inline(__always)
    static var allocatesEarly: Bool {
        guard let inside else { return false }
        return inside[PerCPU.cpu]
    }

    // MARK: - the graph's own lock and class numbers

    private static func lockGraph() {
        while graphLock.exchange(true, ordering: .acquiring) {
            while graphLock.load(ordering: .relaxed) { CPU.relax() }
        }
    }

    private static func unlockGraph() { graphLock.store(false, ordering: .releasing) }

    /// The class's number, given now if it has none; nil when all are taken.
    /// Called with the graph lock held. Linux: register_lock_class()
    private static func classID(_ lockClass: LockClass) -> LockClassID? {
        if lockClass.index >= 0 { return LockClassID(lockClass.index) }
        guard let free = classes.firstIndex(where: { $0 == nil }) else { return nil }
        classes[free] = lockClass
        lockClass.index = free
        return LockClassID(free)
    }

    // MARK: - reports, in Linux's words

    /// Where the lock is being taken: the return address into the caller of the
    /// lock's `lock()` (`check`'s caller, as `acquire` is inlined into it). Reads
    /// the frame-pointer chain directly: this runs on every acquisition, on a
    /// stack known to be sound.
    @inline(__always)
    private static func lockCallerAddress() -> UInt64 {
        let frame = UnsafePointer<UInt64>(bitPattern: UInt(CPU.framePointer))!   // check()'s frame
        let lockFrame = UnsafePointer<UInt64>(bitPattern: UInt(frame.pointee))    // lock()'s frame
        return lockFrame.map { $0[1] } ?? frame[1]
    }

    private static func reportProblem(_ problem: LockProblem, taking lockClass: LockClass, at address: UInt64, heldOn cpu: Int) {
        let task = Scheduler.current
        let who = "\(task.name)/\(task.pid)"
        var lines: [String] = []
        switch problem {
        case .circularDependency(let heldID, _, let chain):
            lines.append("\(who) is trying to acquire lock:")
            lines.append(" (\(lockClass.name)), at: \(symbol(address))")
            lines.append("")
            lines.append("but task is already holding lock:")
            lines.append(" (\(name(heldID))), at: \(symbol(heldAddress(heldID, cpu: cpu)))")
            lines.append("")
            lines.append("which lock already depends on the new lock.")
            lines.append("")
            lines.append("the existing dependency chain (in reverse order) is:")
            // chain[0] is the lock being taken, chain.last the one held; each
            // link b was once taken while a was held, at the recorded site.
            for k in stride(from: chain.count - 1, through: 1, by: -1) {
                let a = chain[k - 1], b = chain[k]
                lines.append("")
                lines.append("-> #\(k - 1) (\(name(b))):")
                lines.append("       taken while holding (\(name(a))) at: "
                             + symbol(edgeSites![a.index * LockDependencyGraph.maxClasses + b.index]))
            }
            lines.append("")
            lines.append(" Possible unsafe locking scenario:")
            lines.append("")
            lines.append("       CPU0                    CPU1")
            lines.append("       ----                    ----")
            lines.append("  lock(\(name(heldID)));")
            lines.append("                               lock(\(lockClass.name));")
            lines.append("                               lock(\(name(heldID)));")
            lines.append("  lock(\(lockClass.name));")
            lines.append("")
            lines.append(" *** DEADLOCK ***")
            report(title: "WARNING: possible circular locking dependency detected", lines)
        case .recursiveLocking:
            lines.append("\(who) is trying to acquire lock:")
            lines.append(" (\(lockClass.name)), at: \(symbol(address))")
            lines.append("")
            lines.append("but task is already holding lock:")
            lines.append(" (\(lockClass.name)), at: \(symbol(heldAddress(LockClassID(lockClass.index), cpu: cpu)))")
            lines.append("")
            lines.append(" *** DEADLOCK ***")
            report(title: "WARNING: possible recursive locking detected", lines)
        case .interruptUnsafe:
            lines.append("inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage.")
            lines.append("\(who) takes (\(lockClass.name)) at: \(symbol(address))")
            lines.append("a lock taken in a hardware interrupt handler is also held with interrupts on:")
            lines.append("an interrupt on the CPU holding it would spin forever.")
            lines.append("")
            lines.append(" *** DEADLOCK ***")
            report(title: "WARNING: inconsistent lock state", lines)
        }
    }

    private static func reportUnheld(_ lockClass: LockClass) {
        let task = Scheduler.current
        report(title: "WARNING: bad unlock balance detected!",
               ["\(task.name)/\(task.pid) is trying to release lock (\(lockClass.name)) but there are no more locks to release!"])
    }

    /// Prints the report with the current call trace, then stops validating.
    private static func report(title: StaticString, _ lines: [String]) {
        enabled = false
        let rule = "======================================================"
        Console.write("\n" + rule + "\n")
        Console.write(title)
        Console.write("\n" + String(repeating: "-", count: rule.utf8.count) + "\n")
        for line in lines { Console.write(line + "\n") }
        Console.write("\nstack backtrace:\n")
        for address in FramePointerUnwinder(memory: KernelMemoryReader(), framePointer: CPU.framePointer) {
            Console.write(" [<" + Fmt.hex(address, digits: 16) + ">] " + symbol(address) + "\n")
        }
        Console.write("lockdep: turning off the validator after this report (Linux: debug_locks_off)\n")
    }

    private static func name(_ id: LockClassID) -> String {
        classes[id.index].map { "\($0.name)" } ?? "class \(id.index)"
    }

    /// Where this CPU took its lock of class `id`.
    private static func heldAddress(_ id: LockClassID, cpu: Int) -> UInt64 {
        let mine = held! + cpu * maxDepth
        for i in 0..<depth![cpu] where mine[i].classIndex == id.index { return mine[i].acquiredAt }
        return 0
    }

    /// "function+0x12/0x80", or the bare address.
    private static func symbol(_ address: UInt64) -> String {
        guard address > 0, var location = KernelSymbols.table.lookup(address - 1) else { return Fmt.hex(address) }
        location.offset += 1
        return location.description
    }
}
