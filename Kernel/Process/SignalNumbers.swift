// The signal numbers of x86-64 Linux, with their names for kernel messages.

/// Signal numbers Keel delivers (x86-64 Linux's). Linux: include/uapi/asm-generic/signal.h
enum Signal {
    static let SIGHUP: Int32 = 1, SIGINT: Int32 = 2, SIGQUIT: Int32 = 3, SIGILL: Int32 = 4, SIGTRAP: Int32 = 5
    static let SIGABRT: Int32 = 6, SIGBUS: Int32 = 7, SIGFPE: Int32 = 8, SIGKILL: Int32 = 9, SIGUSR1: Int32 = 10
    static let SIGSEGV: Int32 = 11, SIGUSR2: Int32 = 12, SIGPIPE: Int32 = 13, SIGALRM: Int32 = 14, SIGTERM: Int32 = 15
    static let SIGCHLD: Int32 = 17, SIGCONT: Int32 = 18, SIGSTOP: Int32 = 19, SIGTSTP: Int32 = 20
    static let SIGTTIN: Int32 = 21, SIGTTOU: Int32 = 22, SIGURG: Int32 = 23, SIGWINCH: Int32 = 28

    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGSEGV: "SIGSEGV"
        case SIGPIPE: "SIGPIPE"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }
}
