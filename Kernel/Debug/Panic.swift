// Stopping the machine on a kernel bug, with a report a student can act on.
// Linux: panic()

enum Panic {
    static func now(_ message: String) -> Never {
        cpu_cli()
        Console.write("KERNEL PANIC: ")
        Console.write(message)
        Console.write("\n---[ end Kernel panic ]---\n")
        PowerOff.now(.panic)
    }
}

extension Panic {
    static func exception(_ frame: InterruptFrame, cr2: UInt64) -> Never {
        Console.write("KERNEL PANIC: exception \(frame.vector) rip 0x\(Fmt.hex(frame.rip)) cr2 0x\(Fmt.hex(cr2))\n")
        PowerOff.now(.panic)
    }
}
