// The kernel command line (docs/ARCHITECTURE.md, "Command line"), split the way Linux's parse_args() and
// unknown_bootoption() split it (init/main.c): words the kernel understands are
// consumed, the rest are handed to init as arguments or environment.

/// The kernel's parameters and what is left over for init.
public struct KernelCommandLine {
    /// Linux: the default execute_command search starts with /sbin/init.
    public static let defaultInitPath = "/sbin/init"
    /// Console log level without `quiet` or `loglevel=`. Linux: CONSOLE_LOGLEVEL_DEFAULT,
    /// which is 7 there; Keel uses 6 so that `make run` shows notices and above, and
    /// `loglevel=7` adds the KERN_INFO boot details (buddyinfo, slabinfo, CPU features).
    public static let defaultConsoleLogLevel: UInt8 = 6
    /// Console log level after `quiet`. Linux: CONSOLE_LOGLEVEL_QUIET
    public static let quietConsoleLogLevel: UInt8 = 4

    /// Program run as the first process (`init=`). Linux: execute_command
    public var initPath = defaultInitPath
    /// Messages with a level below this reach the console (`loglevel=`, `quiet`);
    /// 8 shows KERN_DEBUG too. Linux: console_loglevel
    public var consoleLogLevel = defaultConsoleLogLevel
    /// The device holding the root file system (`root=/dev/vda`); nil: the
    /// initramfs in a tmpfs. Linux: saved_root_name
    public var rootDevice: String?
    /// Mount the root read-only (`ro`) or read-write (`rw`, the default here;
    /// Linux mounts it read-only until init remounts it). Linux: root_mountflags
    public var rootReadOnly = false
    /// Disks to swap on before init starts (`swap=/dev/vdb[,/dev/vdc]`), each
    /// with the default priority, in order. Keel's own: on Linux init's
    /// scripts run swapon(8) from /etc/fstab.
    public var swapDevices: [String] = []
    /// A Keel test hook to run instead of a normal boot (`test=NAME`, e.g. panic-pf).
    public var testHook: String?
    /// Extra slab consistency checks (`slab.debug`). Linux: slub_debug
    public var slabDebug = false
    /// The lock validator (`lockdep=0` turns it off, as `make bench` does).
    /// Linux: CONFIG_PROVE_LOCKING, a build option there
    public var lockdep = true
    /// init's argv after argv[0] (which the kernel sets to `initPath`). Linux: argv_init
    public var initArguments: [String] = []
    /// init's environment, starting from Linux's defaults. Linux: envp_init
    public var initEnvironment: [String] = ["HOME=/", "TERM=linux"]
    /// Words that were ignored, for the kernel to print after the console is up.
    public var warnings: [CommandLineWarning] = []

    /// The defaults, as for an empty command line.
    public init() {}

    /// Parses `line`: words separated by blanks, processed left to right so a later
    /// word overrides an earlier one. Quotes are ordinary characters (Linux's next_arg()
    /// honours double quotes; Keel's parameters never contain blanks).
    public init(parsing line: String) {
        var afterDashes = false
        for word in line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            if afterDashes {
                initArguments.append(String(word))
            } else if word == "--" {
                afterDashes = true  // Linux: parse_args() stops; the rest is init's
            } else {
                apply(String(word))
            }
        }
    }

    /// True when a message of `level` should reach the console. Linux: suppress_message_printing()
    public func shows(_ level: LogLevel) -> Bool { level.rawValue < consoleLogLevel }

    private mutating func apply(_ word: String) {
        guard let equals = word.firstIndex(of: "=") else {
            switch word {
            case "quiet": consoleLogLevel = Self.quietConsoleLogLevel
            case "ro": rootReadOnly = true
            case "rw": rootReadOnly = false
            case "slab.debug": slabDebug = true
            default: passToInit(word, name: word, isVariable: false)
            }
            return
        }
        let name = String(word[..<equals])
        let value = String(word[word.index(after: equals)...])
        switch name {
        case "init":
            if value.isEmpty { warnings.append(.emptyValue(name: name)) } else { initPath = value }
        case "loglevel":
            if let level = UInt8(value), level <= 8 { consoleLogLevel = level }
            else { warnings.append(.badLogLevel(value)) }
        case "root":
            if value.isEmpty { warnings.append(.emptyValue(name: name)) } else { rootDevice = value }
        case "swap":
            let devices = value.split(separator: ",").map(String.init)
            if devices.isEmpty { warnings.append(.emptyValue(name: name)) } else { swapDevices = devices }
        case "test":
            if value.isEmpty { warnings.append(.emptyValue(name: name)) } else { testHook = value }
        case "lockdep":
            switch value {
            case "0", "off": lockdep = false
            case "1", "on": lockdep = true
            default: warnings.append(.badValue(name: name, value))
            }
        default:
            passToInit(word, name: name, isVariable: true)
        }
    }

    /// An unknown word goes to init: `name=value` as an environment variable (replacing
    /// an earlier one of the same name), anything else as an argument. Linux: unknown_bootoption()
    private mutating func passToInit(_ word: String, name: String, isVariable: Bool) {
        // A dotted name is a module parameter on Linux and never reaches init.
        if name.utf8.contains(UInt8(ascii: ".")) {
            warnings.append(.unknownModuleParameter(word))
        } else if !isVariable {
            initArguments.append(word)
        } else if let i = initEnvironment.firstIndex(where: { $0.utf8.starts(with: (name + "=").utf8) }) {
            initEnvironment[i] = word
        } else {
            initEnvironment.append(word)
        }
    }
}

/// A command-line word the kernel ignored.
public enum CommandLineWarning: Equatable {
    /// `loglevel=` with a value that is not a number from 0 to 8.
    case badLogLevel(String)
    /// `init=` or `test=` with nothing after the '='.
    case emptyValue(name: String)
    /// A known parameter with a value it does not take (`lockdep=maybe`).
    case badValue(name: String, String)
    /// A dotted name other than `slab.debug`; Linux would take it for a module parameter.
    case unknownModuleParameter(String)

    /// One line for the console.
    public var message: String {
        switch self {
        case .badLogLevel(let value): "loglevel: ignoring bad value '" + value + "' (want 0..8)"
        case .emptyValue(let name): name + "=: ignoring empty value"
        case .badValue(let name, let value): name + ": ignoring bad value '" + value + "'"
        case .unknownModuleParameter(let word): "ignoring unknown parameter '" + word + "'"
        }
    }
}
