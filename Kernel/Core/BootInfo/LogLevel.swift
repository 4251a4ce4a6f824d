// Kernel message priorities, numbered as Linux numbers them so that `loglevel=N`
// on the command line means the same on Keel as on Linux (include/linux/kern_levels.h).

/// Priority of a kernel message; lower is more urgent. A message is shown on the
/// console when its level is below the console log level. Linux: KERN_EMERG…KERN_DEBUG
public enum LogLevel: UInt8, Comparable {
    /// The system is unusable. Linux: KERN_EMERG
    case emerg = 0
    /// Action must be taken immediately. Linux: KERN_ALERT
    case alert = 1
    /// Critical conditions. Linux: KERN_CRIT
    case crit = 2
    /// Error conditions. Linux: KERN_ERR
    case err = 3
    /// Warning conditions. Linux: KERN_WARNING
    case warning = 4
    /// Normal but significant. Linux: KERN_NOTICE
    case notice = 5
    /// Informational. Linux: KERN_INFO
    case info = 6
    /// Debug-level messages. Linux: KERN_DEBUG
    case debug = 7

    public static func < (l: LogLevel, r: LogLevel) -> Bool { l.rawValue < r.rawValue }
}
