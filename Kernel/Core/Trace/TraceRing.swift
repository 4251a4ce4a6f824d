// One CPU's trace buffer: a ring of variable-size event records in memory the
// kernel gives it (pages from the page allocator; a host test's array). New
// records go in at the head; when the ring is full the oldest are dropped to
// make room ("overwrite" mode, Linux's default), and counted as overruns, so
// `trace` can print "entries-in-buffer/entries-written: N/M". A record never
// wraps around the end: if it does not fit in the bytes left before the end,
// those bytes become a padding record and it starts again at the beginning.
//
// Positions are byte counters that only grow (the byte is at counter % size),
// so a reader's cursor stays meaningful while writers go on: a cursor below
// `tail` points at records already overwritten, and skips to `tail`.
//
// The ring does no locking of its own: the kernel (Kernel/Trace/Trace.swift)
// writes a CPU's ring only from that CPU with interrupts off, and readers on
// other CPUs take the ring's lock to look.
// Linux: kernel/trace/ring_buffer.c (per-CPU buffers of pages, RB_PADDING,
// entries/overrun counters), far simpler: one flat region, no lockless commit.

/// The fixed part of every record: its length (and whether it is padding), the
/// time, the task's name, then the event's Linux entry (`TraceEvent` fields,
/// starting with common_type). Linux: struct ring_buffer_event + the
/// trace_entry, with comm saved in the record instead of saved_cmdlines.
public enum TraceRecordLayout {
    /// u32: total bytes, a multiple of 8
    public static let length = 0
    /// u32: 0 for padding, 1 for an event
    public static let kind = 4
    /// u64: nanoseconds since boot
    public static let timestamp = 8
    /// char[16]: the task's comm, NUL-padded
    public static let comm = 16
    /// The Linux entry: common_type (u16), common_flags (u8),
    /// common_preempt_count (u8), common_pid (s32), then the event's fields.
    public static let entry = 32
    /// The largest record: the biggest event plus a trace_marker text of up
    /// to `TraceEvent.markerMaxBytes`.
    public static let maxBytes = 1280

    /// Bytes a record with an entry of `entryBytes` takes in the ring.
    public static func recordBytes(entryBytes: Int) -> Int { (entry + entryBytes + 7) & ~7 }
}

/// A copy of one record taken out of a ring, to print with no lock held.
public struct TraceRecord {
    /// The record's bytes, from its length field on.
    public var bytes: [UInt8]
    public var cpu: Int

    public init(bytes: [UInt8], cpu: Int) {
        self.bytes = bytes
        self.cpu = cpu
    }

    /// A record from the bytes `TraceRing.copy` put in a buffer.
    public init(_ buffer: UnsafeRawBufferPointer, cpu: Int) {
        let length = buffer.count >= 4 ? Int(buffer.loadUnaligned(as: UInt32.self)) : 0
        self.init(bytes: Array(buffer.prefix(min(length, buffer.count))), cpu: cpu)
    }

    public func load<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        var value: T = 0
        let size = MemoryLayout<T>.size
        guard offset >= 0, offset + size <= bytes.count else { return 0 }
        for i in 0..<size { value |= T(truncatingIfNeeded: bytes[offset + i]) << (8 * i) }
        return value
    }

    public var timestamp: UInt64 { load(UInt64.self, at: TraceRecordLayout.timestamp) }
    /// The event's id (common_type).
    public var type: UInt16 { load(UInt16.self, at: TraceRecordLayout.entry) }
    public var flags: UInt8 { load(UInt8.self, at: TraceRecordLayout.entry + 2) }
    public var preemptCount: UInt8 { load(UInt8.self, at: TraceRecordLayout.entry + 3) }
    public var pid: Int32 { load(Int32.self, at: TraceRecordLayout.entry + 4) }
    public var comm: String { string(at: TraceRecordLayout.comm, maxBytes: 16) }

    /// A field of the Linux entry, at the offset the `format` file gives.
    public func field<T: FixedWidthInteger>(_ type: T.Type, _ entryOffset: Int) -> T {
        load(type, at: TraceRecordLayout.entry + entryOffset)
    }

    /// A NUL-terminated string of the entry (a char[16] comm, a marker's text).
    public func string(entryOffset: Int, maxBytes: Int) -> String {
        string(at: TraceRecordLayout.entry + entryOffset, maxBytes: maxBytes)
    }

    private func string(at offset: Int, maxBytes: Int) -> String {
        var end = offset
        while end < bytes.count && end < offset + maxBytes && bytes[end] != 0 { end += 1 }
        guard offset < end else { return "" }
        return String(decoding: bytes[offset..<end], as: UTF8.self)
    }
}

/// Linux: struct ring_buffer_per_cpu
public struct TraceRing {
    public private(set) var base: UnsafeMutableRawPointer
    /// Bytes, a multiple of 8.
    public private(set) var size: Int
    /// Where the next record goes (a byte counter; the byte is at head % size).
    public private(set) var head: UInt64 = 0
    /// The oldest record still there.
    public private(set) var tail: UInt64 = 0
    /// Events in the ring now. Linux: ring_buffer_entries_cpu()
    public private(set) var entries = 0
    /// Events dropped to make room. Linux: ring_buffer_overrun_cpu()
    public private(set) var overruns = 0

    /// A ring over `size` bytes at `base` (rounded down to a multiple of 8; at
    /// least one largest record).
    public init(base: UnsafeMutableRawPointer, size: Int) {
        self.base = base
        self.size = size & ~7
    }

    /// Events written since the last reset, kept or not.
    public var written: Int { entries + overruns }

    /// Empties the ring. Linux: ring_buffer_reset_cpu()
    public mutating func reset() {
        head = 0
        tail = 0
        entries = 0
        overruns = 0
    }

    /// Moves the ring to new memory, empty. Linux: ring_buffer_resize() (which keeps what it can)
    public mutating func replaceMemory(_ newBase: UnsafeMutableRawPointer, size newSize: Int) {
        base = newBase
        size = newSize & ~7
        reset()
    }

    private func pointer(_ position: UInt64) -> UnsafeMutableRawPointer { base + Int(position % UInt64(size)) }

    private func lengthAt(_ position: UInt64) -> Int {
        Int(pointer(position).load(fromByteOffset: TraceRecordLayout.length, as: UInt32.self))
    }

    private func isPadding(_ position: UInt64) -> Bool {
        pointer(position).load(fromByteOffset: TraceRecordLayout.kind, as: UInt32.self) == 0
    }

    /// Drops the oldest records until `bytes` more fit.
    private mutating func makeRoom(_ bytes: Int) {
        while head + UInt64(bytes) - tail > UInt64(size) {
            if !isPadding(tail) {
                entries -= 1
                overruns += 1
            }
            tail += UInt64(lengthAt(tail))
        }
    }

    /// Writes one record of `bytes` (a multiple of 8, at most a quarter of the
    /// ring) whose bytes from `TraceRecordLayout.kind + 4` on `fill` writes;
    /// the length and kind fields are set here. False if it cannot fit.
    /// Linux: ring_buffer_lock_reserve() + ring_buffer_unlock_commit()
    @discardableResult
    public mutating func write(bytes: Int, _ fill: (UnsafeMutableRawPointer) -> Void) -> Bool {
        guard bytes >= TraceRecordLayout.entry, bytes & 7 == 0, bytes * 4 <= size else { return false }
        let left = size - Int(head % UInt64(size))
        if left < bytes {
            makeRoom(left)
            pointer(head).storeBytes(of: UInt32(left), toByteOffset: TraceRecordLayout.length, as: UInt32.self)
            pointer(head).storeBytes(of: 0, toByteOffset: TraceRecordLayout.kind, as: UInt32.self)
            head += UInt64(left)
        }
        makeRoom(bytes)
        let record = pointer(head)
        record.storeBytes(of: UInt32(bytes), toByteOffset: TraceRecordLayout.length, as: UInt32.self)
        record.storeBytes(of: 1, toByteOffset: TraceRecordLayout.kind, as: UInt32.self)
        fill(record)
        head += UInt64(bytes)
        entries += 1
        return true
    }

    /// The first event record at or after `cursor` (a cursor below `tail`, whose
    /// records were overwritten, starts at `tail`): where it is and how long,
    /// or nil if there is none yet. Linux: rb_iter_peek()
    public func find(from cursor: UInt64) -> (position: UInt64, bytes: Int)? {
        var position = max(cursor, tail)
        while position < head {
            let length = lengthAt(position)
            if !isPadding(position) { return (position, length) }
            position += UInt64(length)
        }
        return nil
    }

    /// Copies the record at `position` (from `find`) into `buffer` (at least
    /// `bytes` long): no allocation, so it may run under the ring's lock.
    public func copy(at position: UInt64, bytes: Int, into buffer: UnsafeMutableRawBufferPointer) {
        buffer.baseAddress!.copyMemory(from: pointer(position), byteCount: min(bytes, buffer.count))
    }

    /// Removes every record before `position` (a consuming read took them).
    /// Linux: rb_advance_reader()
    public mutating func consume(upTo position: UInt64) {
        while tail < position && tail < head {
            if !isPadding(tail) { entries -= 1 }
            tail += UInt64(lengthAt(tail))
        }
    }
}

/// Merges the per-CPU rings into one stream, oldest record first, as `trace`
/// and `trace_pipe` print them. `peek(cpu, cursor)` gives the record at or
/// after the cursor on that CPU and the cursor after it (under the ring's
/// lock in the kernel). Each CPU's next record is kept until it is the
/// oldest, so a step re-reads only the CPU it took from.
/// Linux: __find_next_entry() over the per-CPU iterators
public struct TraceMerge {
    /// Where each CPU's next record is looked for.
    public private(set) var cursors: [UInt64]
    private var pending: [(record: TraceRecord, next: UInt64)?]
    private var fetched: [Bool]

    public init(cursors: [UInt64]) {
        self.cursors = cursors
        pending = Array(repeating: nil, count: cursors.count)
        fetched = Array(repeating: false, count: cursors.count)
    }

    /// The oldest record not yet returned, and its CPU's cursor moved past it; nil when none is left.
    public mutating func next(_ peek: (Int, UInt64) -> (TraceRecord, UInt64)?) -> TraceRecord? {
        var best = -1
        for cpu in 0..<cursors.count {
            if !fetched[cpu] {
                pending[cpu] = peek(cpu, cursors[cpu])
                fetched[cpu] = true
            }
            if let candidate = pending[cpu] {
                if best < 0 || candidate.record.timestamp < pending[best]!.record.timestamp { best = cpu }
            }
        }
        guard best >= 0, let taken = pending[best] else { return nil }
        cursors[best] = taken.next
        pending[best] = nil
        fetched[best] = false
        return taken.record
    }
}
