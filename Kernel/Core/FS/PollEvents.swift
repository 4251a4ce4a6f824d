// What poll(2) and select(2) report about a descriptor, and how select's three
// bit sets map onto poll's events. Linux: include/uapi/asm-generic/poll.h,
// fs/select.c (POLLIN_SET, POLLOUT_SET, POLLEX_SET)

/// Linux: POLLIN, POLLPRI, POLLOUT, ... (the `events`/`revents` of struct pollfd)
public struct PollEvents: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let input = PollEvents(rawValue: 0x001)          // POLLIN
    public static let priority = PollEvents(rawValue: 0x002)       // POLLPRI
    public static let output = PollEvents(rawValue: 0x004)         // POLLOUT
    public static let error = PollEvents(rawValue: 0x008)          // POLLERR
    public static let hangUp = PollEvents(rawValue: 0x010)         // POLLHUP
    public static let invalid = PollEvents(rawValue: 0x020)        // POLLNVAL
    public static let readNormal = PollEvents(rawValue: 0x040)     // POLLRDNORM
    public static let readBand = PollEvents(rawValue: 0x080)       // POLLRDBAND
    public static let writeNormal = PollEvents(rawValue: 0x100)    // POLLWRNORM
    public static let writeBand = PollEvents(rawValue: 0x200)      // POLLWRBAND
    public static let readHangUp = PollEvents(rawValue: 0x2000)    // POLLRDHUP

    /// What a file that never waits reports: regular files, directories.
    /// Linux: DEFAULT_POLLMASK
    public static let always: PollEvents = [.input, .output, .readNormal, .writeNormal]
    /// Always reported, asked for or not. Linux: EPOLLERR | EPOLLHUP (and POLLNVAL)
    public static let unmaskable: PollEvents = [.error, .hangUp, .invalid]

    /// The events that make select's read, write and except sets true.
    /// Linux: POLLIN_SET, POLLOUT_SET, POLLEX_SET
    public static let selectRead: PollEvents = [.readNormal, .readBand, .input, .hangUp, .error]
    public static let selectWrite: PollEvents = [.writeBand, .writeNormal, .output, .error]
    public static let selectExcept: PollEvents = [.priority]

    /// What poll returns in revents for a descriptor that asked for `wanted`.
    /// Linux: do_pollfd() (mask &= filter | EPOLLERR | EPOLLHUP)
    public func reported(for wanted: PollEvents) -> PollEvents {
        intersection(wanted.union(.unmaskable))
    }
}
