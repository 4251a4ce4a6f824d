// Waiting for any of several files at once: poll, ppoll, select and pselect6
// all come here. Each round asks every file which operations would not block
// (the `poll` hook of its driver); the first round also puts the task on the
// wait queue of every file it asks, so that any change to any of them wakes
// it. With nothing ready the task sleeps (until a wake-up, the deadline or a
// signal) and asks again. The queues it joined are left on the way out.
// Linux: fs/select.c (do_poll(), do_select(), poll_wait(), poll_freewait())

/// Linux: the POLL* bits of include/uapi/asm-generic/poll.h
struct PollEvents: OptionSet {
    let rawValue: UInt16
    static let `in` = PollEvents(rawValue: 0x1)
    static let priority = PollEvents(rawValue: 0x2)
    static let out = PollEvents(rawValue: 0x4)
    static let error = PollEvents(rawValue: 0x8)
    static let hangUp = PollEvents(rawValue: 0x10)
    static let invalid = PollEvents(rawValue: 0x20)
    static let readNormal = PollEvents(rawValue: 0x40)
    static let readBand = PollEvents(rawValue: 0x80)
    static let writeNormal = PollEvents(rawValue: 0x100)
    static let writeBand = PollEvents(rawValue: 0x200)
    /// A file that never blocks: regular files, directories, /proc.
    /// Linux: DEFAULT_POLLMASK
    static let neverBlocks: PollEvents = [.in, .out, .readNormal, .writeNormal]
    /// Reported whether asked for or not. Linux: the mask do_pollfd() adds
    static let alwaysReported: PollEvents = [.error, .hangUp, .invalid]
    /// What makes select call a descriptor readable, writable, exceptional.
    /// Linux: POLLIN_SET, POLLOUT_SET, POLLEX_SET
    static let selectRead: PollEvents = [.readNormal, .readBand, .in, .hangUp, .error]
    static let selectWrite: PollEvents = [.writeBand, .writeNormal, .out, .error]
    static let selectExcept: PollEvents = [.priority]
}

/// The wait queues one poll or select call joined. Used by one task only; its
/// size is bounded by the descriptors asked about (at most RLIMIT_NOFILE).
/// Linux: struct poll_wqueues
final class PollTable {
    private var queues: [WaitQueue] = []
    private let task = Scheduler.current

    /// Linux: poll_wait()
    func wait(on queue: WaitQueue) {
        queue.add(task)
        queues.append(queue)
    }

    /// Leaves every queue joined. Linux: poll_freewait()
    func leave() {
        for queue in queues { queue.remove(task) }
        queues.removeAll()
    }
}

enum Poll {
    /// One question: a descriptor (< 0: skipped) and the events wanted;
    /// `ready` is the answer. Linux: struct pollfd
    struct Request {
        var fd: Int32
        /// What counts as ready: the events asked for, and for poll (not
        /// select) errors and hang-ups whether asked for or not.
        var events: PollEvents
        var ready: PollEvents = []

        init(fd: Int32, events: PollEvents, reportingErrors: Bool) {
            self.fd = fd
            self.events = reportingErrors ? events.union(.alwaysReported) : events
        }
    }

    /// Asks until at least one request is ready, `deadline` (CLOCK_MONOTONIC
    /// ns; nil forever, 0 do not wait) passes or a signal comes (EINTR).
    /// Returns how many requests are ready; a descriptor that is not open is
    /// ready with POLLNVAL. Linux: do_poll()
    static func wait(_ requests: inout [Request], deadline: UInt64?) throws(Errno) -> Int {
        let task = Scheduler.current
        let mayWait = deadline != 0
        let table = PollTable()
        defer { table.leave() }
        var joining: PollTable? = mayWait ? table : nil     // only the first round joins queues
        while true {
            // Marked sleeping before the look: a change after it wakes the task.
            if mayWait { Scheduler.prepareToSleep(until: deadline) }
            let ready = scan(&requests, table: joining)
            joining = nil
            let expired = deadline.map { Clock.monotonicNanoseconds >= $0 } ?? false
            let interrupted = Signals.interrupted(task)
            if ready > 0 || !mayWait || expired || interrupted {
                if mayWait { Scheduler.cancelSleep() }
                if ready == 0 && interrupted && !expired { throw .EINTR }
                return ready
            }
            Scheduler.sleepPrepared()
        }
    }

    /// Answers every request once; with `table`, joins the files' queues.
    private static func scan(_ requests: inout [Request], table: PollTable?) -> Int {
        let files = Scheduler.current.files
        var ready = 0
        for i in requests.indices {
            requests[i].ready = []
            guard requests[i].fd >= 0 else { continue }
            do {
                let file = try files.file(Int(requests[i].fd))
                requests[i].ready = file.poll(table: table).intersection(requests[i].events)
            } catch {
                requests[i].ready = .invalid                // not open. Linux: do_pollfd()
            }
            if !requests[i].ready.isEmpty { ready += 1 }
        }
        return ready
    }
}
