// /dev/console: the serial line as a terminal. Writes go to the kernel console
// (serial port and VGA mirror); typed bytes go through the line discipline
// (Kernel/Core/FS/LineDiscipline.swift), which edits, echoes and turns ^C, ^\
// and ^Z into signals for the terminal's foreground process group.
//
// Input. The UART's interrupt is off: CPU 0's timer tick looks at its status
// register and, when bytes wait, sets `receivePending`. The bytes are then fed
// to the line discipline in process context, by the next CPU that returns from
// an interrupt or system call to user mode or that idles (`runReceiveWork`):
// sending a signal takes locks no interrupt handler may take. Readers and
// pollers sleep on `waiters` until that work wakes them.
// Linux: the 8250 driver's polling timer (serial8250_timeout) and
// flush_to_ldisc() on a workqueue, n_tty_receive_buf()
//
// Job control. The console is the controlling terminal of at most one session
// (`session`), the first one whose leader opens it (without O_NOCTTY) or asks
// for it (TIOCSCTTY); a process has it as controlling terminal exactly when it
// is in that session. `foregroundGroup` (tcsetpgrp) is the group that may read
// and that gets the keyboard's signals; a background group's read gets
// SIGTTIN. Linux: drivers/tty/tty_io.c, tty_jobctrl.c, n_tty.c

import Synchronization

final class ConsoleDevice: CharacterDevice {
    nonisolated(unsafe) static let shared = ConsoleDevice()

    /// Input typed but not yet read, and the modes. Protected by `lock`. Linux: tty->disc_data
    private var discipline = LineDiscipline()
    /// The session this is the controlling terminal of, 0 for none, and its
    /// foreground process group. Protected by `lock`. Linux: tty->session, tty->pgrp
    private var session: Int32 = 0
    private var foregroundGroup: Int32 = 0
    /// The discipline, the session and the foreground group. A spinlock: the
    /// receive work runs in the idle task too. Taken inside tasklist_lock
    /// (open, TIOCSCTTY, TIOCSPGRP); nothing is taken inside it (the echo,
    /// the signals and the wake-ups come after it is let go).
    /// Linux: tty->ctrl.lock and termios_rwsem, ldata's locks
    private let lock = SpinLock(ConsoleDevice.lockClass, disablesInterrupts: false)
    private static let lockClass = LockClass("&tty->ctrl.lock")
    /// Readers and pollers waiting for input. Linux: tty->read_wait
    private let waiters = WaitQueue()
    /// Set by the tick when the UART holds bytes; taken by the receive work.
    private static let receivePending = Atomic<Bool>(false)

    /// Linux: include/uapi/asm-generic/ioctls.h
    static let TCGETS: UInt32 = 0x5401, TCSETS: UInt32 = 0x5402, TCSETSW: UInt32 = 0x5403, TCSETSF: UInt32 = 0x5404
    static let TCSBRK: UInt32 = 0x5409, TCXONC: UInt32 = 0x540a, TCFLSH: UInt32 = 0x540b
    static let TIOCSCTTY: UInt32 = 0x540e, TIOCGPGRP: UInt32 = 0x540f, TIOCSPGRP: UInt32 = 0x5410
    static let TIOCGWINSZ: UInt32 = 0x5413, TIOCSWINSZ: UInt32 = 0x5414, FIONREAD: UInt32 = 0x541b
    static let TIOCGSID: UInt32 = 0x5429

    // MARK: receiving

    /// From the timer interrupt on CPU 0: one look at the UART. Linux: serial8250_timeout()
    static func timerTick() {
        if PerCPU.cpu == 0 && Serial.hasInput { receivePending.store(true, ordering: .releasing) }
    }

    /// Feeds the bytes the UART holds to the line discipline, echoes them,
    /// sends the signals they ask for and wakes readers. Process context (a
    /// return to user mode, the idle loop, a reader). Linux: flush_to_ldisc()
    static var hasReceiveWork: Bool { receivePending.load(ordering: .relaxed) }

    static func runReceiveWork() {
        guard hasReceiveWork else { return }
        guard receivePending.exchange(false, ordering: .acquiringAndReleasing) else { return }
        shared.receive()
    }

    private func receive() {
        var echo: [UInt8] = []
        var signals: [(LineDiscipline.SignalRequest, group: Int32)] = []
        let gotInput = lock.withLock { () -> Bool in
            var any = false
            while let byte = Serial.read() {
                any = true
                if let request = discipline.receive(byte, echo: &echo) { signals.append((request, foregroundGroup)) }
            }
            return any
        }
        guard gotInput else { return }
        echo.withUnsafeBytes { Console.write($0) }
        for (request, group) in signals where group != 0 {
            let signal = switch request {
            case .interrupt: Signal.SIGINT
            case .quit: Signal.SIGQUIT
            case .suspend: Signal.SIGTSTP
            }
            ProcessGroups.send(signal, toGroup: group, info: SignalFrame.Info(code: 0x80))    // SI_KERNEL
        }
        waiters.wakeAll()
    }

    // MARK: file operations

    /// Canonical mode: one line at most, waiting for it. Raw mode: what VMIN
    /// and VTIME ask, in their basic forms: with VMIN > 0, up to `count` bytes
    /// once min(VMIN, count) are there (VTIME is not used as an inter-byte
    /// timer); with VMIN 0, what is there, waiting up to VTIME tenths of a
    /// second for a first byte (not at all for VTIME 0). O_NONBLOCK gives
    /// EAGAIN instead of a wait; a signal ends the wait (ERESTARTSYS: EINTR
    /// under a handler without SA_RESTART). A background group gets SIGTTIN.
    /// Linux: n_tty_read()
    func read(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int {
        let wanted = buffer.remaining
        guard wanted > 0 else { return 0 }
        try checkForeground(Signal.SIGTTIN)
        let me = Scheduler.current
        let (vmin, vtime, canonical) = lock.withLock { () -> (Int, Int, Bool) in
            let cc = discipline.termios.controlCharacters
            return (Int(cc[Termios.VMIN]), Int(cc[Termios.VTIME]), discipline.isCanonical)
        }
        let timed = !canonical && vmin == 0
        let deadline: UInt64? = timed && vtime > 0 ? Clock.monotonicNanoseconds + UInt64(vtime) * 100_000_000 : nil
        let needed = canonical ? 1 : min(max(vmin, 1), wanted)
        waiters.add(me)
        defer { waiters.remove(me) }
        while true {
            Self.runReceiveWork()
            Scheduler.prepareToSleep(until: deadline)
            let expired = deadline.map { Clock.monotonicNanoseconds >= $0 } ?? false
            let bytes = lock.withLock { () -> [UInt8]? in
                guard canonical || discipline.readableCount >= needed else { return nil }
                return discipline.read(upTo: wanted)
            }
            if let bytes {
                Scheduler.cancelSleep()
                return try bytes.withBytes { (bytes) throws(Errno) in try buffer.copyOut(bytes) }
            }
            if timed && (expired || vtime == 0) {
                Scheduler.cancelSleep()
                return 0
            }
            if file.flags.contains(.nonBlocking) || Signals.interrupted(me) {
                Scheduler.cancelSleep()
                throw file.flags.contains(.nonBlocking) ? .EAGAIN : .ERESTARTSYS
            }
            Scheduler.sleepPrepared()
        }
    }

    /// Linux: tty_write() → n_tty_write() (ONLCR: Console adds CR before LF)
    func write(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int {
        var chunk = [UInt8](repeating: 0, count: 256)
        var written = 0
        // A fault after the first bytes ends the buffer (a short count); a signal
        // ends a long write, as n_tty_write()'s signal_pending() check does.
        while buffer.remaining > 0 && !(written > 0 && Signals.interrupted(Scheduler.current)) {
            let n = try chunk.withMutableBytes { (bytes) throws(Errno) in try buffer.copyIn(bytes) }
            chunk.withUnsafeBytes { Console.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            written += n
            Scheduler.condResched()
        }
        return written
    }

    /// Readable with a line (canonical) or a byte (raw) waiting; always
    /// writable. Linux: n_tty_poll()
    func poll(file: OpenFile, table: PollTable?) -> PollEvents {
        table?.wait(on: waiters)
        var events: PollEvents = [.out, .writeNormal]
        if lock.withLock({ discipline.hasInput }) || Serial.hasInput { events.formUnion([.in, .readNormal]) }
        return events
    }

    /// A session leader without a controlling terminal that opens the console
    /// without O_NOCTTY gets it, if no other session has it.
    /// Linux: tty_open_proc_set_tty()
    func open(file: OpenFile, flags: OpenFlags) throws(Errno) {
        guard !flags.contains(.noControllingTTY) else { return }
        let process = ProcessGroups.process(of: Scheduler.current)
        Task.tasklistLock.withLock {
            guard process.sid == process.pid else { return }
            lock.withLock {
                if session == 0 { (session, foregroundGroup) = (process.sid, process.pgid) }
            }
        }
    }

    /// Linux: tty_ioctl() → tty_jobctrl_ioctl(), n_tty_ioctl_helper(), tty_mode_ioctl()
    func ioctl(_ command: UInt32, argument: VirtAddr, file: OpenFile) throws(Errno) -> Int {
        switch command {
        case Self.TCGETS:
            let termios = lock.withLock { discipline.termios }
            try Self.copyOut(to: argument, count: Termios.byteSize) { termios.write(to: $0) }
        case Self.TCSETS, Self.TCSETSW, Self.TCSETSF:
            let bytes = try UserCopy.copyIn(from: argument, count: Termios.byteSize)
            try checkForeground(Signal.SIGTTOU)
            let termios = bytes.withUnsafeBytes { Termios(from: $0.baseAddress!) }
            lock.withLock {
                if command == Self.TCSETSF { discipline.flushInput() }
                discipline.setTermios(termios)
            }
            waiters.wakeAll()                   // a raw read may be satisfied now
        case Self.TCFLSH:
            if argument.value != 1 { lock.withLock { discipline.flushInput() } }    // TCIFLUSH, TCIOFLUSH
        case Self.TCSBRK, Self.TCXONC:
            break                               // output is never held back
        case Self.TIOCGWINSZ:
            try Self.copyOut(to: argument, count: WindowSize.byteSize) { WindowSize.console.write(to: $0) }
        case Self.TIOCSWINSZ:
            _ = try UserCopy.copyIn(from: argument, count: WindowSize.byteSize)     // the VGA screen does not change
        case Self.FIONREAD:
            try UserCopy.write(Int32(lock.withLock { discipline.readableCount }), at: argument)
        case Self.TIOCSCTTY:
            try setControllingTerminal(steal: argument.value == 1)
        case Self.TIOCGPGRP:
            try UserCopy.write(try controlling { $0.foregroundGroup }, at: argument)
        case Self.TIOCGSID:
            try UserCopy.write(try controlling { $0.session }, at: argument)
        case Self.TIOCSPGRP:
            try setForegroundGroup(try UserCopy.read(Int32.self, at: argument))
        default:
            throw .ENOTTY
        }
        return 0
    }

    // MARK: job control

    /// `read` of this terminal's field for a caller whose controlling terminal
    /// it is; ENOTTY for anyone else. Linux: tiocgpgrp(), tiocgsid()
    private func controlling(_ read: (ConsoleDevice) -> Int32) throws(Errno) -> Int32 {
        let sid = ProcessGroups.ids(of: Scheduler.current).sid
        return try lock.withLock { () throws(Errno) -> Int32 in
            guard session != 0 && session == sid else { throw .ENOTTY }
            return read(self)
        }
    }

    /// TIOCSCTTY: a session leader takes the console as its controlling
    /// terminal; from another session only with `steal` (everyone is root).
    /// Linux: tiocsctty()
    private func setControllingTerminal(steal: Bool) throws(Errno) {
        let process = ProcessGroups.process(of: Scheduler.current)
        try Task.tasklistLock.withLock { () throws(Errno) in
            try lock.withLock { () throws(Errno) in
                if process.sid == process.pid && session == process.sid { return }
                guard process.sid == process.pid else { throw .EPERM }
                guard session == 0 || steal else { throw .EPERM }
                (session, foregroundGroup) = (process.sid, process.pgid)
            }
        }
    }

    /// TIOCSPGRP (tcsetpgrp): a group of the caller's session becomes the
    /// foreground one. Linux: tiocspgrp()
    private func setForegroundGroup(_ pgid: Int32) throws(Errno) {
        try checkForeground(Signal.SIGTTOU)
        guard pgid >= 0 else { throw .EINVAL }
        let sid = ProcessGroups.ids(of: Scheduler.current).sid
        try Task.tasklistLock.withLock { () throws(Errno) in
            let members = ProcessGroups.membersLocked(of: pgid)
            try lock.withLock { () throws(Errno) in
                guard session != 0 && session == sid else { throw .ENOTTY }
                guard !members.isEmpty else { throw .ESRCH }
                guard members.contains(where: { $0.sid == sid }) else { throw .EPERM }
                foregroundGroup = pgid
            }
        }
    }

    /// A process of a background group of this terminal's session may not
    /// read (SIGTTIN) or change the terminal (SIGTTOU): its group gets the
    /// signal, and the call runs again once the job is continued (ERESTARTSYS;
    /// EINTR if a handler without SA_RESTART catches the signal). A process
    /// that ignores or blocks the signal gets EIO for a read and goes ahead
    /// for a change; an orphaned group, which nobody would continue, gets EIO. Linux: __tty_check_change()
    private func checkForeground(_ signal: Int32) throws(Errno) {
        let task = Scheduler.current
        let (pgid, sid) = ProcessGroups.ids(of: task)
        let foreground = lock.withLock { session != 0 && session == sid ? foregroundGroup : nil }
        guard let foreground, foreground != 0, pgid != foreground else { return }
        let handler = task.signals.lock.withLock { task.signals.actions[Int(signal)].handler }
        let refused = handler == SignalAction.SIG_IGN || task.blockedSignals & Signals.bit(signal) != 0
        if refused {
            if signal == Signal.SIGTTIN { throw .EIO }
            return
        }
        if ProcessGroups.isOrphaned(pgid) { throw .EIO }
        ProcessGroups.send(signal, toGroup: pgid, info: SignalFrame.Info(code: 0x80))    // SI_KERNEL
        throw .ERESTARTSYS
    }

    /// The session `sid` loses the terminal (its leader exited, or called
    /// vhangup): the terminal has no session any more, and its foreground group
    /// gets SIGHUP and SIGCONT. Linux: disassociate_ctty(), tty_vhangup_self()
    /// (which also turns every descriptor open on the terminal into a hung-up
    /// file, reading end of file; Keel's descriptors stay as they are)
    func disassociate(session sid: Int32) {
        let group = lock.withLock { () -> Int32 in
            guard session == sid else { return 0 }
            defer { (session, foregroundGroup) = (0, 0) }
            return foregroundGroup
        }
        guard group != 0 else { return }
        ProcessGroups.send(Signal.SIGHUP, toGroup: group, info: SignalFrame.Info(code: 0x80))
        ProcessGroups.send(Signal.SIGCONT, toGroup: group, info: SignalFrame.Info(code: 0x80))
    }

    /// Packs a `count`-byte struct with `fill` and copies it to user space.
    private static func copyOut(to address: VirtAddr, count: Int,
                                _ fill: (UnsafeMutableRawPointer) -> Void) throws(Errno) {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { fill($0.baseAddress!) }
        try bytes.copyOut(to: address)
    }
}

/// /dev/tty: whichever terminal is the caller's controlling terminal (Keel
/// has one, the console); ENXIO for a process without one.
/// Linux: tty_open() → tty_open_current_tty()
final class ControllingTerminal: CharacterDevice {
    nonisolated(unsafe) static let shared = ControllingTerminal()
    private var console: ConsoleDevice { ConsoleDevice.shared }

    func open(file: OpenFile, flags: OpenFlags) throws(Errno) {
        guard console.isControllingTerminal(of: Scheduler.current) else { throw .ENXIO }
    }
    func read(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int { try console.read(&buffer, file: file) }
    func write(_ buffer: inout UserIOVector, file: OpenFile) throws(Errno) -> Int { try console.write(&buffer, file: file) }
    func ioctl(_ command: UInt32, argument: VirtAddr, file: OpenFile) throws(Errno) -> Int {
        try console.ioctl(command, argument: argument, file: file)
    }
    func poll(file: OpenFile, table: PollTable?) -> PollEvents { console.poll(file: file, table: table) }
}

extension ConsoleDevice {
    /// Whether `task`'s session is the one this terminal belongs to.
    func isControllingTerminal(of task: Task) -> Bool {
        let sid = ProcessGroups.ids(of: task).sid
        return lock.withLock { session != 0 && session == sid }
    }
}
