// Deliberate failures selected by `test=NAME` on the kernel command line, so the
// layer-3 tests (Tests/Boot) can check the panic report a student will one day
// need to read. Documented in the README.

enum TestHooks {
    static func run(_ name: String) {
        switch name {
        case "panic-pf": panicPageFault()
        case "panic-ud": panicSwiftTrap()
        default: Log.warning("keel: unknown test hook '\(name)' ignored")
        }
    }

    /// A kernel write to an address nothing maps: a not-present #PF, CR2 = 0x7e00dead0000.
    @inline(never)
    static func panicPageFault() {
        let nowhere = UnsafeMutablePointer<UInt64>(bitPattern: 0x0000_7e00_dead_0000)!
        nowhere.pointee = 0x6b6b
    }

    /// A failing `precondition`: Embedded Swift compiles it to `ud2`.
    @inline(never)
    static func panicSwiftTrap() {
        precondition(Boot.commandLine.testHook != "panic-ud", "test=panic-ud")
    }
}
