import XCTest
@testable import KeelCore

final class CommandLineTests: XCTestCase {
    let linuxEnvironment = ["HOME=/", "TERM=linux"]

    func assertDefaults(_ c: KernelCommandLine, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(c.initPath, "/sbin/init", file: file, line: line)
        XCTAssertEqual(c.consoleLogLevel, 6, file: file, line: line)
        XCTAssertNil(c.testHook, file: file, line: line)
        XCTAssertFalse(c.slabDebug, file: file, line: line)
        XCTAssertEqual(c.initArguments, [], file: file, line: line)
        XCTAssertEqual(c.initEnvironment, linuxEnvironment, file: file, line: line)
        XCTAssertEqual(c.warnings, [], file: file, line: line)
    }

    func testEmptyAndBlankLinesGiveDefaults() {
        assertDefaults(KernelCommandLine())
        assertDefaults(KernelCommandLine(parsing: ""))
        assertDefaults(KernelCommandLine(parsing: "  \t \n"))
    }

    func testEveryKindOfWord() {
        let c = KernelCommandLine(parsing:
            "init=/bin/sh loglevel=3 test=panic-pf slab.debug FOO=bar single -- -x KEY=v quiet --")
        XCTAssertEqual(c.initPath, "/bin/sh")
        XCTAssertEqual(c.consoleLogLevel, 3, "quiet after -- belongs to init")
        XCTAssertEqual(c.testHook, "panic-pf")
        XCTAssertTrue(c.slabDebug)
        XCTAssertEqual(c.initArguments, ["single", "-x", "KEY=v", "quiet", "--"])
        XCTAssertEqual(c.initEnvironment, linuxEnvironment + ["FOO=bar"])
        XCTAssertEqual(c.warnings, [])
    }

    func testRootDevice() {
        XCTAssertNil(KernelCommandLine().rootDevice)
        let c = KernelCommandLine(parsing: "root=/dev/vda ro init=/sbin/init")
        XCTAssertEqual(c.rootDevice, "/dev/vda")
        XCTAssertTrue(c.rootReadOnly)
        XCTAssertEqual(c.initEnvironment, linuxEnvironment, "root= and ro are the kernel's, not init's")
        XCTAssertFalse(KernelCommandLine(parsing: "root=/dev/vda ro rw").rootReadOnly, "the last word wins")
        XCTAssertEqual(KernelCommandLine(parsing: "root=").warnings, [.emptyValue(name: "root")])
    }

    func testSwapDevices() {
        XCTAssertEqual(KernelCommandLine().swapDevices, [])
        let c = KernelCommandLine(parsing: "swap=/dev/vdb,/dev/vdc foo=bar")
        XCTAssertEqual(c.swapDevices, ["/dev/vdb", "/dev/vdc"])
        XCTAssertEqual(c.initEnvironment, linuxEnvironment + ["foo=bar"], "swap= is the kernel's, not init's")
        XCTAssertEqual(KernelCommandLine(parsing: "swap=/dev/vdb").swapDevices, ["/dev/vdb"])
        XCTAssertEqual(KernelCommandLine(parsing: "swap=").warnings, [.emptyValue(name: "swap")])
        XCTAssertEqual(KernelCommandLine(parsing: "swap=,").warnings, [.emptyValue(name: "swap")])
        XCTAssertEqual(KernelCommandLine(parsing: "swap=").initEnvironment, linuxEnvironment)
    }

    func testDoubleDashMustStandAlone() {
        let c = KernelCommandLine(parsing: "--verbose a--b X=-- init=/bin/sh--")
        XCTAssertEqual(c.initArguments, ["--verbose", "a--b"])
        XCTAssertEqual(c.initEnvironment, linuxEnvironment + ["X=--"])
        XCTAssertEqual(c.initPath, "/bin/sh--")
        XCTAssertEqual(KernelCommandLine(parsing: "--").initArguments, [])
        XCTAssertEqual(KernelCommandLine(parsing: "-- -- x").initArguments, ["--", "x"])
    }

    func testRepeatedKeysLastWins() {
        let c = KernelCommandLine(parsing:
            "init=/a init=/b loglevel=1 loglevel=5 test=one test=two FOO=1 BAR=x FOO=2 TERM=vt100")
        XCTAssertEqual(c.initPath, "/b")
        XCTAssertEqual(c.consoleLogLevel, 5)
        XCTAssertEqual(c.testHook, "two")
        XCTAssertEqual(c.initEnvironment, ["HOME=/", "TERM=vt100", "FOO=2", "BAR=x"],
                       "a repeated variable replaces the earlier one in place, as Linux's envp_init does")
    }

    func testVariableNamesMatchWhole() {
        let c = KernelCommandLine(parsing: "HOMEDIR=/x TERM= HOME=/root")
        XCTAssertEqual(c.initEnvironment, ["HOME=/root", "TERM=", "HOMEDIR=/x"])
    }

    func testQuietAndLogLevelApplyInOrder() {
        XCTAssertEqual(KernelCommandLine(parsing: "quiet").consoleLogLevel, 4)
        XCTAssertEqual(KernelCommandLine(parsing: "quiet loglevel=7").consoleLogLevel, 7)
        XCTAssertEqual(KernelCommandLine(parsing: "loglevel=7 quiet").consoleLogLevel, 4)
        XCTAssertEqual(KernelCommandLine(parsing: "loglevel=0").consoleLogLevel, 0)
        XCTAssertEqual(KernelCommandLine(parsing: "loglevel=8").consoleLogLevel, 8)
    }

    func testConsoleShowsLevelsBelowTheLogLevel() {
        let normal = KernelCommandLine()
        XCTAssertTrue(normal.shows(.notice))
        XCTAssertFalse(normal.shows(.info), "Keel's default (6) hides KERN_INFO")
        XCTAssertTrue(KernelCommandLine(parsing: "loglevel=7").shows(.info))
        XCTAssertFalse(KernelCommandLine(parsing: "loglevel=7").shows(.debug))
        let quiet = KernelCommandLine(parsing: "quiet")
        XCTAssertTrue(quiet.shows(.err))
        XCTAssertFalse(quiet.shows(.warning))
        XCTAssertTrue(KernelCommandLine(parsing: "loglevel=8").shows(.debug))
        XCTAssertFalse(KernelCommandLine(parsing: "loglevel=0").shows(.emerg))
    }

    func testBadValuesWarnAndKeepThePreviousSetting() {
        let c = KernelCommandLine(parsing: "loglevel=2 loglevel=x loglevel=9 loglevel= loglevel=-1 init= test=")
        XCTAssertEqual(c.consoleLogLevel, 2)
        XCTAssertEqual(c.initPath, "/sbin/init")
        XCTAssertNil(c.testHook)
        XCTAssertEqual(c.warnings, [.badLogLevel("x"), .badLogLevel("9"), .badLogLevel(""), .badLogLevel("-1"),
                                    .emptyValue(name: "init"), .emptyValue(name: "test")])
        XCTAssertEqual(c.warnings.map(\.message), [
            "loglevel: ignoring bad value 'x' (want 0..8)",
            "loglevel: ignoring bad value '9' (want 0..8)",
            "loglevel: ignoring bad value '' (want 0..8)",
            "loglevel: ignoring bad value '-1' (want 0..8)",
            "init=: ignoring empty value",
            "test=: ignoring empty value",
        ])
    }

    func testDottedNamesAreModuleParametersNotInitWords() {
        let c = KernelCommandLine(parsing: "slab.debg usbcore.autosuspend=1 PATH=/bin:/usr/bin ./run")
        XCTAssertFalse(c.slabDebug)
        XCTAssertEqual(c.initEnvironment, linuxEnvironment + ["PATH=/bin:/usr/bin"], "dots in the value are fine")
        XCTAssertEqual(c.initArguments, [])
        XCTAssertEqual(c.warnings, [.unknownModuleParameter("slab.debg"),
                                    .unknownModuleParameter("usbcore.autosuspend=1"),
                                    .unknownModuleParameter("./run")])
    }

    func testBlanksSeparateAndQuotesAreNotNeededOrSpecial() {
        let c = KernelCommandLine(parsing: "  init=/bin/sh\t\tone  two\nMSG=\"a b\"  ")
        XCTAssertEqual(c.initPath, "/bin/sh")
        XCTAssertEqual(c.initArguments, ["one", "two", "b\""])
        XCTAssertEqual(c.initEnvironment, linuxEnvironment + ["MSG=\"a"])
    }

    func testValueMayContainEquals() {
        let c = KernelCommandLine(parsing: "OPTS=a=b init=/bin/env=x")
        XCTAssertEqual(c.initEnvironment, linuxEnvironment + ["OPTS=a=b"])
        XCTAssertEqual(c.initPath, "/bin/env=x")
    }

    func testLogLevelsAreLinuxNumbers() {
        let all: [LogLevel] = [.emerg, .alert, .crit, .err, .warning, .notice, .info, .debug]
        XCTAssertEqual(all.map(\.rawValue), Array(0...7))
        XCTAssertEqual(all.sorted(by: >).first, .debug)
        XCTAssertTrue(LogLevel.emerg < .debug)
    }

    func testLockdepSwitch() {
        XCTAssertTrue(KernelCommandLine(parsing: "").lockdep, "on by default")
        XCTAssertFalse(KernelCommandLine(parsing: "lockdep=0").lockdep)
        XCTAssertFalse(KernelCommandLine(parsing: "lockdep=off").lockdep)
        XCTAssertTrue(KernelCommandLine(parsing: "lockdep=0 lockdep=1").lockdep, "the last word wins")
        let bad = KernelCommandLine(parsing: "lockdep=maybe")
        XCTAssertTrue(bad.lockdep)
        XCTAssertEqual(bad.warnings, [.badValue(name: "lockdep", "maybe")])
        XCTAssertEqual(bad.warnings.first?.message, "lockdep: ignoring bad value 'maybe'")
        XCTAssertFalse(bad.initEnvironment.contains("lockdep=maybe"), "a kernel parameter never reaches init")
    }
}
