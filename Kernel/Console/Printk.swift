// The kernel log: messages with a priority, shown on the console when the
// priority is below the console log level (`loglevel=`, `quiet`).
// Linux: printk(), pr_info() and friends

enum Log {
    /// Messages below this level reach the console. Linux: console_loglevel
    nonisolated(unsafe) static var consoleLevel = KernelCommandLine.defaultConsoleLogLevel

    static func printk(_ level: LogLevel, _ message: String) {
        guard level.rawValue < consoleLevel else { return }
        Console.write(message + "\n")      // one write: the line stays whole
    }

    /// Linux: pr_err()
    static func error(_ message: String) { printk(.err, message) }
    /// Linux: pr_warn()
    static func warning(_ message: String) { printk(.warning, message) }
    /// Linux: pr_notice()
    static func notice(_ message: String) { printk(.notice, message) }
    /// Linux: pr_info()
    static func info(_ message: String) { printk(.info, message) }
    /// Linux: pr_debug()
    static func debug(_ message: String) { printk(.debug, message) }

    /// True when a message of `level` would be shown; lets callers skip building
    /// long reports (buddyinfo, slabinfo) nobody will see.
    static func shows(_ level: LogLevel) -> Bool { level.rawValue < consoleLevel }
}
