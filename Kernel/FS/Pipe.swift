// Pipes: a 64 KiB ring buffer in the kernel with a read end and a write end.
// A reader with nothing to read sleeps until a writer writes or the last writer
// closes (then it reads end-of-file); a writer with no room sleeps until a reader
// makes some; writing with no reader left raises SIGPIPE and fails with EPIPE.
// Writes of at most PIPE_BUF bytes are never interleaved with other writes.
//
// A read or write holds the pipe's `mutex`, a sleeping lock, for its whole
// work, copies to and from user memory included (such a copy may fault and
// sleep); it lets go only to wait, using the scheduler's two-step sleep so that
// a wake-up between letting go and switching away is kept.
// Linux: fs/pipe.c (struct pipe_inode_info, pipe_read, pipe_write, do_pipe2)

final class Pipe {
    /// Linux: PIPE_DEF_BUFFERS pages
    static let capacity = 65536
    /// Writes up to this size are atomic. Linux: PIPE_BUF
    static let atomicWrite = 4096

    private let ring = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
    private var head = 0
    private(set) var count = 0
    /// Open read and write ends (OpenFile objects; dup and fork share them).
    /// Protected by `mutex`.
    var readers = 0, writers = 0
    /// Readers and writers waiting for a change, and pollers. Linux: pipe->rd_wait, wr_wait
    let waiters = WaitQueue()
    /// Held by a reader or writer over the ring, `count` and the end counts
    /// (an end's last close takes it too). poll peeks at `count` and the end
    /// counts without it (one aligned word each; a change it misses wakes it).
    /// Linux: pipe->mutex
    let mutex = SleepLock(Pipe.mutexClass)
    private static let mutexClass = LockClass("&pipe->mutex", sleeping: true)

    /// The pipe's inode, for fstat (S_IFIFO) and /proc. Linux: the pipefs inode
    let inode = FS.pipefs.makeInode(.pipe, permissions: 0o600)

    var space: Int { Self.capacity - count }

    deinit { ring.deallocate() }

    func take(into buffer: inout UserIOVector) throws(Errno) -> Int {
        let n = min(count, buffer.remaining)
        let first = min(n, Self.capacity - head)
        var done = try buffer.copyOut(UnsafeRawBufferPointer(rebasing: ring[head..<head + first]))
        if done == first && n > first {
            done += try buffer.copyOut(UnsafeRawBufferPointer(rebasing: ring[0..<n - first]))
        }
        head = (head + done) % Self.capacity
        count -= done
        return done
    }

    func put(from buffer: inout UserIOVector, limit: Int) throws(Errno) -> Int {
        let n = min(limit, space, buffer.remaining)
        let tail = (head + count) % Self.capacity
        let first = min(n, Self.capacity - tail)
        var done = try buffer.copyIn(UnsafeMutableRawBufferPointer(rebasing: ring[tail..<tail + first]))
        if done == first && n > first {
            done += try buffer.copyIn(UnsafeMutableRawBufferPointer(rebasing: ring[0..<n - first]))
        }
        count += done
        return done
    }

    /// Lets go of `mutex` and sleeps the current task until the pipe changes or
    /// a signal comes, then takes `mutex` back. The caller looked for a signal
    /// before; one sent between that look and `prepareToSleep` found the task
    /// running and woke nothing, so it looks again once marked sleeping. The
    /// task leaves `waiters` before returning, so no wake-up meant for this
    /// pipe reaches it later in another sleep.
    /// Linux: pipe_wait_readable/writable() → prepare_to_wait_event() (its
    /// signal_pending_state() look) and finish_wait()
    func waitForChange() {
        let me = Scheduler.current
        waiters.add(me)
        Scheduler.prepareToSleep()          // before letting go: a wake from here on counts
        if Signals.interrupted(me) {
            Scheduler.cancelSleep()
        } else {
            mutex.unlock()
            Scheduler.sleepPrepared()
            mutex.lock()
        }
        waiters.remove(me)
    }

    /// Wakes every task sleeping on this pipe or polling it. Linux: wake_up_interruptible_all()
    func wakeAll() {
        waiters.wakeAll()
    }
}

/// One end of a pipe, as the driver behind its OpenFile. Dropping the last
/// OpenFile of an end closes it. Linux: pipefifo_fops and pipe_release()
final class PipeEnd: CharacterDevice {
    let pipe: Pipe
    let isWriteEnd: Bool

    init(_ pipe: Pipe, writeEnd: Bool) {
        self.pipe = pipe
        isWriteEnd = writeEnd
        pipe.mutex.withLock {
            if writeEnd { pipe.writers += 1 } else { pipe.readers += 1 }
        }
    }

    /// The last OpenFile of this end is gone (FileTable lets it go outside its
    /// spinlock, since this sleeps for the mutex). Linux: pipe_release()
    deinit {
        pipe.mutex.withLock {
            if isWriteEnd { pipe.writers -= 1 } else { pipe.readers -= 1 }
            pipe.wakeAll()
        }
    }

    func read(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int {
        guard buffer.remaining > 0 else { return 0 }
        pipe.mutex.lock()
        defer { pipe.mutex.unlock() }
        while pipe.count == 0 {
            if pipe.writers == 0 { return 0 }                          // end of file
            if file.flags.contains(.nonBlocking) { throw .EAGAIN }
            if Signals.interrupted(Scheduler.current) { throw .ERESTARTSYS }       // again after a stop or an SA_RESTART handler
            pipe.waitForChange()
        }
        let n = try pipe.take(into: &buffer)
        pipe.wakeAll()
        return n
    }

    func write(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int {
        let total = buffer.remaining
        var written = 0
        pipe.mutex.lock()
        defer { pipe.mutex.unlock() }
        while buffer.remaining > 0 {
            if pipe.readers == 0 {
                Signals.send(Signal.SIGPIPE, to: Scheduler.current)
                if written > 0 { return written }
                throw .EPIPE
            }
            // A small write goes in whole or waits; a large one goes in pieces.
            let needed = total <= Pipe.atomicWrite ? buffer.remaining : 1
            if pipe.space >= needed {
                written += try pipe.put(from: &buffer, limit: buffer.remaining)
                pipe.wakeAll()
                continue
            }
            if file.flags.contains(.nonBlocking) {
                if written > 0 { return written }
                throw .EAGAIN
            }
            if Signals.interrupted(Scheduler.current) {
                if written > 0 { return written }
                throw .ERESTARTSYS
            }
            pipe.waitForChange()
        }
        return written
    }

    /// The read end is readable with bytes in the pipe and hung up with no
    /// writer left; the write end is writable with room for an atomic write and
    /// in error with no reader left. Linux: pipe_poll()
    func poll(file: OpenFile, table: PollTable?) -> PollEvents {
        table?.wait(on: pipe.waiters)
        var events: PollEvents = []
        if isWriteEnd {
            if pipe.space >= Pipe.atomicWrite { events.formUnion([.out, .writeNormal]) }
            if pipe.readers == 0 { events.insert(.error) }
        } else {
            if pipe.count > 0 { events.formUnion([.in, .readNormal]) }
            if pipe.writers == 0 { events.insert(.hangUp) }
        }
        return events
    }

    func ioctl(_ command: UInt32, argument: VirtAddr, file: OpenFile) throws(Errno) -> Int {
        // FIONREAD: bytes waiting to be read. Linux: pipe_ioctl()
        guard command == 0x541b else { throw .ENOTTY }
        let count = pipe.mutex.withLock { pipe.count }
        try UserCopy.write(Int32(count), at: argument)
        return 0
    }
}

extension FileSyscalls {
    /// pipe(fds) and pipe2(fds, flags). Linux: do_pipe2()
    static func pipe2(_ a: SyscallArgs) throws(Errno) -> Int {
        let flags = OpenFlags(rawValue: UInt32(truncatingIfNeeded: a.number == Syscall.pipe.rawValue ? 0 : a.int(1)))
        guard flags.subtracting([.closeOnExec, .nonBlocking, .direct]).isEmpty else { throw .EINVAL }
        // A bad array is EFAULT before any descriptor exists. Linux: do_pipe2()
        // copies out before fd_install() for the same reason.
        try UserCopy.write((Int32(-1), Int32(-1)), at: a.address(0))
        let pipe = Pipe()
        let name = FS.pipefsRoot.child("pipe:[\(pipe.inode.ino)]", pipe.inode)
        let status = flags.intersection([.nonBlocking, .direct])
        let readEnd = OpenFile.pseudo(name, flags: status, driver: PipeEnd(pipe, writeEnd: false))
        let writeEnd = OpenFile.pseudo(name, flags: status.union(.writeOnly), driver: PipeEnd(pipe, writeEnd: true))
        let files = Scheduler.current.files
        let cloexec = flags.contains(.closeOnExec)
        let readFD = try files.install(readEnd, closeOnExec: cloexec)
        let writeFD: Int
        do { writeFD = try files.install(writeEnd, closeOnExec: cloexec) } catch {
            uninstall(readFD, from: files)
            throw error
        }
        do {
            try UserCopy.write((Int32(readFD), Int32(writeFD)), at: a.address(0))
        } catch {
            uninstall(readFD, from: files)
            uninstall(writeFD, from: files)
            throw error
        }
        return 0
    }

    /// Takes back a descriptor this call installed a moment ago. Another thread
    /// sharing the table may have closed it meanwhile (EBADF here): then it is
    /// gone already, which is all this wants. Linux: put_unused_fd() + fput()
    private static func uninstall(_ fd: Int, from files: FileTable) {
        do { try files.close(fd) } catch {
            // Closed by another thread: nothing left to undo.
        }
    }
}
