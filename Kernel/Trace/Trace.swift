// Tracing: per-CPU ring buffers of event records, and the trace points that
// fill them (page faults, the page and slab allocators, the scheduler, system
// call entry and exit). tracefs (Kernel/Trace/TraceFS.swift) shows them.
//
// A trace point costs, while its event is off, one load of `enabledMask` and
// one predictable branch: the check is inlined at the trace point, the
// recording function is out of line (@inline(never)) and the branch is marked
// unlikely (_slowPath), so the compiler moves the call off the straight path.
//
// Locking. A trace point fires anywhere: inside the page allocator (under
// zone->lock), the scheduler (its lock held, interrupts off), interrupt
// handlers. So recording takes no sleeping lock, allocates nothing and calls
// nothing that is traced (a record is written in place in the ring). Each
// CPU's ring is written only by its own CPU, with interrupts off for the
// write, under that ring's `busy` flag: a raw spinning flag (like Linux's
// arch_spinlock_t, not validated by lockdep, which itself may not run here),
// innermost of all locks: nothing is taken, allocated or traced while it is
// held. Readers on any CPU take the same flag, interrupts off, only to find
// and copy one record out (into a buffer they allocated before); they format
// it after letting go. The enable mask and tracing_on are single words
// written under `controlLock` (a sleeping lock: only tracefs writes take it)
// and read with one racy load at trace points: an event switched on or off
// takes effect at the next trace point on each CPU.
// Buffer memory comes from vmalloc (pages of the page allocator); resizing
// (buffer_size_kb) allocates every new ring first (ENOMEM changes nothing),
// swaps each under its busy flag, then frees the old ones: the rings start empty.
// Linux: kernel/trace/trace.c, ring_buffer.c, trace_events.c; the
// TRACE_EVENT() trace points (static keys where Keel has a flag word)

import Synchronization

enum Trace {
    /// One bit per event (TraceEvent.bit) that is on. Read by every trace
    /// point with one load; written under `controlLock`. Linux: each event's
    /// static key (tracepoint.key) and TRACE_EVENT_FL_ENABLED
    nonisolated(unsafe) static var enabledMask: UInt32 = 0
    /// tracing_on: records are kept only while true (trace points still fire).
    /// Linux: ring_buffer_record_on/off() (tracer_tracing_is_on())
    nonisolated(unsafe) static var tracingOn = true
    /// Serializes tracefs's writes (enable bits, resizing, clearing).
    /// Linux: event_mutex, trace_types_lock
    static let controlLock = SleepLock(LockClass("event_mutex", sleeping: true))

    /// Each CPU's buffer; made once at boot, never resized (the rings inside are).
    nonisolated(unsafe) private(set) static var buffers: [CPUTraceBuffer] = []
    /// Kilobytes per CPU ring. Protected by `controlLock`. Linux: buffer_size_kb
    nonisolated(unsafe) private(set) static var bufferKB = 128
    /// Bumped by every clear and resize, so a reader of `trace` knows its place is gone.
    static let generation = Atomic<Int>(0)

    /// Is `event` on? The whole cost of a trace point that is off: inline it.
    @inline(__always)
    static func isOn(_ event: TraceEvent) -> Bool { _slowPath(enabledMask & event.bit != 0) }

    /// Makes every CPU's ring; a machine too short of memory for them boots
    /// without tracing (tracefs's files then show empty buffers).
    static func initialize(cpus: Int) {
        var made: [CPUTraceBuffer] = []
        for _ in 0..<cpus {
            guard let memory = Vmalloc.allocate(bytes: bufferKB * 1024) else {
                Log.error("trace: no memory for the ring buffers; tracing is off")
                for buffer in made { Vmalloc.free(buffer.ring.base) }
                return
            }
            made.append(CPUTraceBuffer(TraceRing(base: memory, size: bufferKB * 1024)))
        }
        buffers = made
    }

    // MARK: writing

    /// Writes one record of `event` (with `extraBytes` after its fixed entry,
    /// for a marker's text) on this CPU: the common header here, the fields by
    /// `fill`, given the entry's start. Never inlined, and kept off the trace
    /// point's straight path. Linux: trace_event_buffer_reserve() + _commit()
    @inline(never)
    static func record(_ event: TraceEvent, extraBytes: Int = 0, _ fill: (UnsafeMutableRawPointer) -> Void) {
        guard tracingOn, !buffers.isEmpty else { return }
        let bytes = TraceRecordLayout.recordBytes(entryBytes: event.entryBytes + extraBytes)
        let interruptsWereOn = CPU.interruptsEnabled
        CPU.disableInterrupts()
        let cpu = PerCPU.cpu
        let buffer = buffers[cpu]
        var flags: UInt8 = interruptsWereOn ? 0 : TraceFlags.irqsOff
        if Scheduler.needResched[cpu] { flags |= TraceFlags.needResched | TraceFlags.preemptResched }
        let task = Scheduler.current
        buffer.lock()
        buffer.ring.write(bytes: bytes) { record in
            _ = memset(record + TraceRecordLayout.timestamp, 0, bytes - TraceRecordLayout.timestamp)
            record.storeBytes(of: Clock.monotonicNanoseconds, toByteOffset: TraceRecordLayout.timestamp, as: UInt64.self)
            copyName(task.name, to: record + TraceRecordLayout.comm)
            let entry = record + TraceRecordLayout.entry
            entry.storeBytes(of: UInt16(event.id), as: UInt16.self)
            entry.storeBytes(of: flags, toByteOffset: 2, as: UInt8.self)
            entry.storeBytes(of: task.pid, toByteOffset: 4, as: Int32.self)
            fill(entry)
        }
        buffer.unlock()
        if interruptsWereOn { CPU.enableInterrupts() }
    }

    /// Copies a task name's first 15 bytes, NUL-terminated (TASK_COMM_LEN 16),
    /// without allocating.
    static func copyName(_ name: String, to destination: UnsafeMutableRawPointer) {
        var i = 0
        for byte in name.utf8 {
            if i == 15 { break }
            destination.storeBytes(of: byte, toByteOffset: i, as: UInt8.self)
            i += 1
        }
        destination.storeBytes(of: 0, toByteOffset: i, as: UInt8.self)
    }

    // MARK: reading

    /// For a merge: a copy of the record
    /// at or after `cursor` on `cpu`, and where the one after it starts; nil
    /// if there is none. `scratch` (at least TraceRecordLayout.maxBytes)
    /// holds the copy while the ring is locked. Linux: ring_buffer_iter_peek()
    /// Records at or past `limit` are not looked at (a reader of `trace`
    /// stops where the rings ended when it began).
    static func peek(cpu: Int, from cursor: UInt64, limit: UInt64 = .max,
                     scratch: UnsafeMutableRawBufferPointer) -> (TraceRecord, UInt64)? {
        let buffer = buffers[cpu]
        let interrupts = buffer.lockSavingInterrupts()
        guard let (position, bytes) = buffer.ring.find(from: cursor), position < limit else {
            buffer.unlockRestoring(interrupts)
            return nil
        }
        buffer.ring.copy(at: position, bytes: bytes, into: scratch)
        buffer.unlockRestoring(interrupts)
        let record = TraceRecord(UnsafeRawBufferPointer(rebasing: scratch[0..<min(bytes, scratch.count)]), cpu: cpu)
        return (record, position + UInt64(bytes))
    }

    /// Drops `cpu`'s records before `position` (trace_pipe read them).
    static func consume(cpu: Int, upTo position: UInt64) {
        let buffer = buffers[cpu]
        let interrupts = buffer.lockSavingInterrupts()
        buffer.ring.consume(upTo: position)
        buffer.unlockRestoring(interrupts)
    }

    /// Where each ring's next record will go.
    static func heads() -> [UInt64] {
        buffers.map { buffer in
            let interrupts = buffer.lockSavingInterrupts()
            defer { buffer.unlockRestoring(interrupts) }
            return buffer.ring.head
        }
    }

    /// Entries in the rings and entries written, for `trace`'s header.
    /// Linux: get_total_entries()
    static func counts() -> (entries: Int, written: Int) {
        var entries = 0, written = 0
        for buffer in buffers {
            let interrupts = buffer.lockSavingInterrupts()
            entries += buffer.ring.entries
            written += buffer.ring.written
            buffer.unlockRestoring(interrupts)
        }
        return (entries, written)
    }

    /// Is there a record left for trace_pipe?
    static var hasRecords: Bool { counts().entries > 0 }

    // MARK: control (tracefs writes)

    /// Empties every ring. Linux: tracing_reset_online_cpus()
    static func clear() {
        controlLock.withLock {
            for buffer in buffers {
                let interrupts = buffer.lockSavingInterrupts()
                buffer.ring.reset()
                buffer.unlockRestoring(interrupts)
            }
            generation.add(1, ordering: .relaxed)
        }
    }

    /// Turns events on or off. Linux: ftrace_event_enable_disable()
    static func setEnabled(_ events: [TraceEvent], _ on: Bool) {
        controlLock.withLock {
            var mask = enabledMask
            for event in events { mask = on ? mask | event.bit : mask & ~event.bit }
            enabledMask = mask
        }
    }

    /// Linux: tracer_tracing_on()/off()
    static func setTracingOn(_ on: Bool) {
        controlLock.withLock { tracingOn = on }
    }

    /// Gives every CPU a ring of `kilobytes` (empty). ENOMEM leaves them as
    /// they were. Linux: tracing_resize_ring_buffer()
    static func resize(kilobytes: Int) throws(Errno) {
        // At most a quarter of memory in all, as a sanity limit on a user's number.
        let pagesEach = (kilobytes * 1024 + Int(pageSize) - 1) / Int(pageSize)
        guard kilobytes > 0, !buffers.isEmpty, pagesEach * buffers.count <= PageAllocator.managedPages / 4 else { throw .ENOMEM }
        try controlLock.withLock { () throws(Errno) in
            var memories: [UnsafeMutableRawPointer] = []
            for _ in buffers {
                guard let memory = Vmalloc.allocate(bytes: kilobytes * 1024) else {
                    for made in memories { Vmalloc.free(made) }
                    throw .ENOMEM
                }
                memories.append(memory)
            }
            var old: [UnsafeMutableRawPointer] = []
            for (buffer, memory) in zip(buffers, memories) {
                let interrupts = buffer.lockSavingInterrupts()
                old.append(buffer.ring.base)
                buffer.ring.replaceMemory(memory, size: kilobytes * 1024)
                buffer.unlockRestoring(interrupts)
            }
            for memory in old { Vmalloc.free(memory) }
            bufferKB = kilobytes
            generation.add(1, ordering: .relaxed)
        }
    }

    /// How the printers find kernel symbols (%ps, %pS) and struct pages (%p of page=).
    static var printContext: TracePrintContext {
        TracePrintContext(symbol: { address in
            address >= KernelLayout.kernelBase ? KernelSymbols.table.lookup(address) : nil
        }, pageAddress: { pfn in
            UInt64(UInt(bitPattern: PageAllocator.page(PhysAddr(pfn << 12))))
        })
    }
}

/// One CPU's ring and the flag that guards it (see the file header).
/// Linux: struct ring_buffer_per_cpu with its reader_lock
final class CPUTraceBuffer: @unchecked Sendable {   // `ring` is only touched with `busy` held
    var ring: TraceRing
    private let busy = Atomic<Bool>(false)

    init(_ ring: TraceRing) {
        self.ring = ring
    }

    /// Interrupts must be off.
    @inline(__always)
    func lock() {
        while busy.exchange(true, ordering: .acquiring) {
            while busy.load(ordering: .relaxed) { CPU.relax() }
        }
    }

    @inline(__always)
    func unlock() { busy.store(false, ordering: .releasing) }

    /// For readers, who may have interrupts on.
    func lockSavingInterrupts() -> Bool {
        let wereOn = CPU.interruptsEnabled
        CPU.disableInterrupts()
        lock()
        return wereOn
    }

    func unlockRestoring(_ interruptsWereOn: Bool) {
        unlock()
        if interruptsWereOn { CPU.enableInterrupts() }
    }
}
