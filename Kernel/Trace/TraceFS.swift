// tracefs: the files that control tracing and read its buffers, mounted by
// the kernel at /sys/kernel/tracing and by anyone with
// `mount -t tracefs nodev DIR` (every mount shows the one tree). A fixed tree
// made at boot: the top-level files, and events/<system>/<event>/ with each
// event's enable, format and id.
//
// Every write is a user's bytes: a bad number or an unknown event is EINVAL
// and changes nothing (Kernel/Core/Trace/TraceControl.swift parses them).
// Files that only print are generated text, as /proc's are (PrintedFile);
// files that take writes, and the streams, are SpecialFiles.
// Linux: kernel/trace/trace.c (tracer_init_tracefs), trace_events.c
// (event_trace_add_tracer, event_create_dir), fs/tracefs/inode.c

import Synchronization

enum TraceFS {
    /// One tracefs for the whole system. Linux: TRACEFS_MAGIC, an anonymous device
    static let superBlock = SuperBlock(device: FS.anonymousDevice(), isReadOnly: false, typeName: "tracefs",
                                       magic: FileSystemMagic.tracefs, hasFixedAttributes: true)
    static let root = makeTree()

    /// What mount(2) of "tracefs" mounts; `path` and `covered` are filled in by the caller.
    static var mount: Mount { Mount(source: "tracefs", path: "", covered: nil, root: root, options: "") }

    private static func file(_ special: any SpecialFile, _ permissions: UInt32) -> Inode {
        superBlock.makeInode(.special(special), permissions: permissions)
    }

    private static func directory(_ children: [(String, Inode)]) -> Inode {
        superBlock.makeInode(.directory(FixedTree(children)), permissions: 0o755)
    }

    /// A read-only text printed at each read.
    private static func text(_ show: @escaping () -> String) -> Inode {
        superBlock.makeInode(.generated(PrintedFile { window in window.write(show()) }), permissions: 0o444)
    }

    /// Linux: tracer_init_tracefs() + event_trace_init()
    private static func makeTree() -> Inode {
        var events: [(String, Inode)] = [
            ("enable", file(EnableFile(TraceEvent.enableable), 0o644)),
            ("header_event", text { headerEvent }),
            ("header_page", text { headerPage }),
        ]
        for system in TraceControl.systems + ["ftrace"] {
            let members = TraceEvent.allCases.filter { $0.system == system }
            var children: [(String, Inode)] = system == "ftrace" ? [] : [("enable", file(EnableFile(members), 0o644))]
            for event in members {
                var files: [(String, Inode)] = [
                    ("format", text { event.formatText }),
                    ("id", text { String(event.id) + "\n" }),
                ]
                if event != .marker { files.insert(("enable", file(EnableFile([event]), 0o644)), at: 0) }
                children.append((event.name, directory(files)))
            }
            events.append((system, directory(children)))
        }
        return directory([
            ("available_events", text { TraceControl.availableEventsText() }),
            ("buffer_size_kb", file(ControlFile(show: { String(Trace.bufferKB) + "\n" }, store: setBufferSize), 0o644)),
            ("buffer_total_size_kb", text { String(Trace.bufferKB * Trace.buffers.count) + "\n" }),
            ("events", directory(events)),
            ("set_event", file(SetEventFile(), 0o644)),
            ("trace", file(TraceTextFile(), 0o644)),
            ("trace_marker", file(MarkerFile(), 0o220)),
            ("trace_pipe", file(TracePipeFile(), 0o444)),
            ("tracing_on", file(ControlFile(show: { Trace.tracingOn ? "1\n" : "0\n" }, store: setTracingOn), 0o644)),
        ])
    }

    /// Linux: rb_simple_write(): any number, 0 is off
    private static func setTracingOn(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        Trace.setTracingOn(try TraceControl.parseUnsigned(bytes) != 0)
    }

    /// Linux: tracing_entries_write(): 0 is EINVAL
    private static func setBufferSize(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        let kilobytes = try TraceControl.parseUnsigned(bytes)
        guard kilobytes > 0 else { throw .EINVAL }
        guard kilobytes <= UInt64(Int32.max) else { throw .ENOMEM }
        try Trace.resize(kilobytes: Int(kilobytes))
    }

    /// events/header_page, as Linux describes its buffer page (Keel's rings
    /// are not made of such pages; the text is for tools that expect it).
    /// Linux: ring_buffer_print_page_header()
    static let headerPage = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
        + "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
        + "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
        + "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n"
    /// Linux: ring_buffer_print_entry_header()
    static let headerEvent = "# compressed entry header\n\ttype_len    :    5 bits\n\ttime_delta  :   27 bits\n"
        + "\tarray       :   32 bits\n\n\tpadding     : type == 29\n\ttime_extend : type == 30\n"
        + "\ttime_stamp : type == 31\n\tdata max type_len  == 28\n"
}

/// Copies the part of `text` from `offset` on into `buffer`.
private func readText(_ text: String, into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
    var window = TextWindow(start: offset, capacity: buffer.count)
    window.write(text)
    for (i, byte) in window.bytes.enumerated() { buffer[i] = byte }
    return window.bytes.count
}

/// A word to read and write: tracing_on, buffer_size_kb.
private final class ControlFile: SpecialFile {
    private let show: () -> String
    private let store: (UnsafeRawBufferPointer) throws(Errno) -> Void

    init(show: @escaping () -> String, store: @escaping (UnsafeRawBufferPointer) throws(Errno) -> Void) {
        self.show = show
        self.store = store
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int { readText(show(), into: buffer, at: offset) }

    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        try store(buffer)
        return buffer.count
    }
}

/// An enable file: one event's, a system's (every event in it) or
/// events/enable (all). Reads "0", "1", or "X" for a mix.
/// Linux: event_enable_read/write(), system_enable_read/write()
private final class EnableFile: SpecialFile {
    private let events: [TraceEvent]
    init(_ events: [TraceEvent]) { self.events = events }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        readText(TraceControl.groupEnableText(events, enabledMask: Trace.enabledMask), into: buffer, at: offset)
    }

    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        Trace.setEnabled(events, try TraceControl.parseEnable(buffer))
        return buffer.count
    }
}

/// set_event: lists the enabled events; takes "sys:event" words (a leading
/// '!' turns off); opened with O_TRUNC (not O_APPEND) it turns every event
/// off first, as `echo x > set_event` does. Linux: ftrace_set_event_fops
private final class SetEventFile: SpecialFile {
    func open(flags: OpenFlags) throws(Errno) {
        if flags.allowsWrite && flags.contains(.truncate) && !flags.contains(.append) {
            Trace.setEnabled(TraceEvent.enableable, false)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> Int {
        readText(TraceControl.setEventText(enabledMask: Trace.enabledMask), into: buffer, at: offset)
    }

    /// Every word is checked before any is acted on: one bad word is EINVAL
    /// and nothing changes.
    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        var words: [String] = []
        var word: [UInt8] = []
        for byte in buffer {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t") || byte == 0 {
                if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)) }
                word = []
            } else {
                word.append(byte)
            }
        }
        if !word.isEmpty { words.append(String(decoding: word, as: UTF8.self)) }
        var changes: [(events: [TraceEvent], enable: Bool)] = []
        for w in words { changes.append(try TraceControl.selection(w)) }
        for change in changes { Trace.setEnabled(change.events, change.enable) }
        return buffer.count
    }
}

/// trace_marker: each write becomes a "tracing_mark_write: <text>" line.
/// Linux: tracing_mark_write() (EBADF while tracing is off)
private final class MarkerFile: SpecialFile {
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int { throw .EINVAL }

    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        guard Trace.tracingOn else { throw .EBADF }
        let length = min(buffer.count, TraceEvent.markerMaxBytes - 1)
        let text = UnsafeRawBufferPointer(rebasing: buffer[0..<length])
        // The ip field stays 0: the line always names tracing_mark_write.
        Trace.record(.marker, extraBytes: length + 1) { entry in
            (entry + 16).copyMemory(from: text.baseAddress!, byteCount: length)
            entry.storeBytes(of: 0, toByteOffset: 16 + length, as: UInt8.self)
        }
        return buffer.count
    }
}

/// Where a reader of `trace` was: the text offset where a line starts and
/// each CPU's cursor there, so a read that goes on from there does not print
/// everything before it again; and where the rings ended when the reading
/// began at offset 0, so that records written meanwhile (by the reader's own
/// allocations, with kmem events on) cannot keep it from ever reaching the end.
private struct TraceTextPlace {
    var generation: Int
    var offset: Int
    var cursors: [UInt64]
    var limits: [UInt64]
}

/// `trace`: the header and every record, oldest first, not consumed. Opened
/// with O_TRUNC for writing (`echo > trace`) it empties the buffers; writes
/// are taken and ignored. Records written while it is read may show or not.
/// Linux: tracing_fops (s_show, tracing_open with O_TRUNC)
private final class TraceTextFile: SpecialFile {
    /// The last read's place. Protected by `placeLock`.
    private var place: TraceTextPlace? = nil
    private let placeLock = SleepLock(TraceTextFile.placeLockClass)
    private static let placeLockClass = LockClass("trace_iter_place", sleeping: true)

    func open(flags: OpenFlags) throws(Errno) {
        if flags.allowsWrite && flags.contains(.truncate) { Trace.clear() }
    }

    func write(from buffer: UnsafeRawBufferPointer, at offset: Int) throws(Errno) -> Int { buffer.count }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        let cpus = Trace.buffers.count
        let generation = Trace.generation.load(ordering: .relaxed)
        let saved = placeLock.withLock { place }
        var window: TextWindow
        var merge: TraceMerge
        var textOffset: Int      // where the window's text starts in the file
        let limits: [UInt64]
        if let saved, saved.generation == generation, saved.offset <= offset, offset > 0 {
            window = TextWindow(start: offset - saved.offset, capacity: buffer.count)
            merge = TraceMerge(cursors: saved.cursors)
            textOffset = saved.offset
            limits = saved.limits
        } else {
            window = TextWindow(start: offset, capacity: buffer.count)
            merge = TraceMerge(cursors: Array(repeating: 0, count: cpus))
            textOffset = 0
            limits = Trace.heads()
            let counts = Trace.counts()
            window.write(TracePrinter.header(entries: counts.entries, written: counts.written, cpus: cpus))
        }
        let context = Trace.printContext
        var newPlace: TraceTextPlace? = nil
        try Slab.withBuffer(bytes: TraceRecordLayout.maxBytes) { (scratch) throws(Errno) in
            while window.written < window.start + window.capacity {
                let lineStart = (offset: textOffset + window.written, cursors: merge.cursors)
                guard let record = merge.next({ cpu, cursor in
                    Trace.peek(cpu: cpu, from: cursor, limit: limits[cpu], scratch: scratch)
                }) else {
                    // The end: the read after this one (at the end) finds nothing more.
                    newPlace = TraceTextPlace(generation: generation, offset: textOffset + window.written,
                                              cursors: merge.cursors, limits: limits)
                    break
                }
                window.write(TracePrinter.line(record, context))
                if window.written >= window.start + window.capacity {
                    newPlace = TraceTextPlace(generation: generation, offset: lineStart.offset, cursors: lineStart.cursors,
                                              limits: limits)
                }
            }
        }
        if let newPlace { placeLock.withLock { place = newPlace } }
        for (i, byte) in window.bytes.enumerated() { buffer[i] = byte }
        return window.bytes.count
    }
}

/// `trace_pipe`: the records, oldest first, each gone once read. A read
/// waits for the first record (EAGAIN with O_NONBLOCK, EINTR for a signal),
/// then returns the whole lines that fit. A read too small for even one line
/// gets its start, and the next read the rest (`leftover`): nothing is lost.
/// Writers cannot wake it (a trace point may fire inside the scheduler), so
/// it looks again every 10 ms. Readers take turns (`readerLock`).
/// Linux: tracing_read_pipe() (which wakes readers by irq_work, and keeps a
/// cut line in the open file's seq buffer)
private final class TracePipeFile: SpecialFile {
    private let readerLock = SleepLock(TracePipeFile.readerLockClass)
    private static let readerLockClass = LockClass("&iter->mutex", sleeping: true)
    /// The rest of a line the last read had no room for. Protected by `readerLock`.
    private var leftover: [UInt8] = []
    var isSeekable: Bool { false }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        try read(into: buffer, at: offset, nonBlocking: false)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int, nonBlocking: Bool) throws(Errno) -> Int {
        guard !Trace.buffers.isEmpty else { throw .EAGAIN }
        let task = Scheduler.current
        while true {
            // Another reader may have taken the records meanwhile: then wait again.
            let filled = try take(into: buffer)
            if filled > 0 { return filled }
            if nonBlocking { throw .EAGAIN }
            while !Trace.hasRecords {
                if Signals.interrupted(task) { throw .EINTR }
                Scheduler.sleep(until: Clock.monotonicNanoseconds + 10_000_000) { Signals.interrupted(task) }
            }
        }
    }

    /// Moves the oldest whole lines that fit into `buffer` out of the rings.
    private func take(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        readerLock.lock()
        defer { readerLock.unlock() }
        let context = Trace.printContext
        var filled = min(leftover.count, buffer.count)
        for i in 0..<filled { buffer[i] = leftover[i] }
        leftover.removeFirst(filled)
        if !leftover.isEmpty { return filled }
        try Slab.withBuffer(bytes: TraceRecordLayout.maxBytes) { (scratch) throws(Errno) in
            var merge = TraceMerge(cursors: Array(repeating: 0, count: Trace.buffers.count))
            while filled < buffer.count {
                guard let record = merge.next({ cpu, cursor in Trace.peek(cpu: cpu, from: cursor, scratch: scratch) }) else { break }
                let line = Array(TracePrinter.line(record, context).utf8)
                // A line that does not fit waits for the next read, unless
                // nothing has been given yet: a read smaller than one line
                // gets its start, and the next read the rest.
                if filled + line.count > buffer.count && filled > 0 { break }
                Trace.consume(cpu: record.cpu, upTo: merge.cursors[record.cpu])
                let room = buffer.count - filled
                for byte in line.prefix(room) {
                    buffer[filled] = byte
                    filled += 1
                }
                if line.count > room { leftover = Array(line[room...]) }
            }
        }
        return filled
    }
}
