// The last thing the kernel prints, shaped like a Linux oops so students can read one
// with the same eyes:
//
//   KERNEL PANIC: page fault (#PF) at 0x00007f8000001234 <foo+0x1d/0x80>
//   BUG: kernel NULL pointer dereference, address: 0x0000000000000010
//   #PF: supervisor write access in kernel mode
//   #PF: error_code(0x0002) - not-present page
//   RIP: 0x08:0x00007f8000001234 <foo+0x1d/0x80>
//   RSP: 0x10:0x00007f80000fff00 RFLAGS: 0x00010246
//   RAX: 0x0000000000000000 RBX: 0x… RCX: 0x…          (five lines, three per line)
//   CR2: 0x0000000000000010 CR3: 0x0000000000101000
//   Call Trace:
//    [<00007f8000001300>] bar+0x10/0x40
//   ---[ end Kernel panic ]---
//
// It writes line by line into the sink and keeps only one line's text at a time, so it
// still works when the heap is nearly gone. Linux: show_fault_oops(), __show_regs(),
// show_trace_log_lvl()

/// Formats a panic. Linux: die() / panic() output
public struct PanicReport<Symbols: Symbolizer, Memory: StackMemory> {
    public var reason: PanicReason
    /// Page-table root at the time of the panic (which address space was live).
    public var cr3: UInt64
    public var symbols: Symbols
    /// Memory the call trace is read from.
    public var memory: Memory

    public init(reason: PanicReason, cr3: UInt64, symbols: Symbols, memory: Memory) {
        self.reason = reason
        self.cr3 = cr3
        self.symbols = symbols
        self.memory = memory
    }

    public func write<Sink: TextSink>(to sink: inout Sink) {
        sink.write("KERNEL PANIC: ")
        sink.write(headline)
        sink.write("\n")
        writeDetails(to: &sink)
        if let frame = reason.frame { writeRegisters(frame, to: &sink) }
        writeCallTrace(to: &sink)
        sink.write("---[ end Kernel panic ]---\n")
    }

    private var headline: String {
        switch reason {
        case .exception(let vector, let frame, _):
            return vector.name + " (" + vector.shortName + ") at " + location(frame.rip)
        case .swiftTrap(let frame):
            return "Swift runtime trap (precondition failure, overflow, bounds or force-unwrap) at "
                + location(frame.rip)
        case .stackOverflow(_, let frame):
            return "kernel stack overflow at " + location(frame.rip)
        case .explicit(let message, _):
            return message
        }
    }

    /// The decoded error code and faulting address, where the reason has them.
    private func writeDetails<Sink: TextSink>(to sink: inout Sink) {
        switch reason {
        case .exception(.pageFault, let frame, let cr2):
            let code = PageFaultErrorCode(rawValue: frame.errorCode)
            // Linux: show_fault_oops() calls the first page a NULL dereference.
            sink.write(cr2 < pageSize && !frame.isUserMode
                       ? "BUG: kernel NULL pointer dereference, address: "
                       : "BUG: unable to handle page fault for address: ")
            sink.write(Self.hex(cr2) + "\n")
            sink.write("#PF: " + code.accessDescription(userMode: frame.isUserMode) + "\n")
            sink.write("#PF: " + code.errorCodeDescription + "\n")
        case .exception(let vector, let frame, _) where vector.pushesErrorCode:
            var line = vector.shortName + ": error_code(0x" + Fmt.hex(frame.errorCode, digits: 4) + ")"
            if vector.hasSelectorErrorCode {
                line += " - " + SelectorErrorCode(rawValue: frame.errorCode).description
            }
            sink.write(line + "\n")
        case .stackOverflow(let guardAddress, _):
            sink.write("BUG: stack guard page was hit at " + Self.hex(guardAddress) + "\n")
        case .exception, .swiftTrap, .explicit:
            break
        }
    }

    /// Linux: __show_regs()
    private func writeRegisters<Sink: TextSink>(_ f: InterruptFrame, to sink: inout Sink) {
        sink.write("RIP: 0x" + Fmt.hex(f.cs, digits: 2) + ":" + location(f.rip) + "\n")
        sink.write("RSP: 0x" + Fmt.hex(f.ss, digits: 2) + ":" + Self.hex(f.rsp)
                   + " RFLAGS: 0x" + Fmt.hex(f.rflags, digits: 8) + "\n")
        writeLine(("RAX", f.rax), ("RBX", f.rbx), ("RCX", f.rcx), to: &sink)
        writeLine(("RDX", f.rdx), ("RSI", f.rsi), ("RDI", f.rdi), to: &sink)
        writeLine(("RBP", f.rbp), ("R08", f.r8), ("R09", f.r9), to: &sink)
        writeLine(("R10", f.r10), ("R11", f.r11), ("R12", f.r12), to: &sink)
        writeLine(("R13", f.r13), ("R14", f.r14), ("R15", f.r15), to: &sink)
        if let address = reason.faultAddress { sink.write("CR2: " + Self.hex(address) + " ") }
        sink.write("CR3: " + Self.hex(cr3) + "\n")
    }

    private func writeLine<Sink: TextSink>(
        _ a: (String, UInt64), _ b: (String, UInt64), _ c: (String, UInt64), to sink: inout Sink
    ) {
        sink.write(a.0 + ": " + Self.hex(a.1) + " " + b.0 + ": " + Self.hex(b.1) + " "
                   + c.0 + ": " + Self.hex(c.1) + "\n")
    }

    /// Linux: show_trace_log_lvl() with the frame-pointer unwinder
    private func writeCallTrace<Sink: TextSink>(to sink: inout Sink) {
        let start = switch reason {
        case .explicit(_, let framePointer): framePointer
        case .exception(_, let frame, _), .swiftTrap(let frame), .stackOverflow(_, let frame): frame.rbp
        }
        sink.write("Call Trace:\n")
        for returnAddress in FramePointerUnwinder(memory: memory, framePointer: start) {
            var line = " [<" + Fmt.hex(returnAddress, digits: 16) + ">]"
            if let caller = callerSymbol(returnAddress) { line += " " + caller.description }
            sink.write(line + "\n")
        }
    }

    /// The function a return address returns into. A call that never returns can be the
    /// last instruction of its function, so the return address may already be the next
    /// function's first byte: look up the byte before it. Linux: %pB, sprint_backtrace()
    private func callerSymbol(_ returnAddress: UInt64) -> SymbolLocation? {
        guard returnAddress > 0, var symbol = symbols.lookup(returnAddress - 1) else { return nil }
        symbol.offset += 1
        return symbol
    }

    /// "0x00007f8000001234 <foo+0x1d/0x80>", or just the address when no symbol covers it.
    private func location(_ address: UInt64) -> String {
        guard let symbol = symbols.lookup(address) else { return Self.hex(address) }
        return Self.hex(address) + " <" + symbol.description + ">"
    }

    private static func hex(_ value: UInt64) -> String { "0x" + Fmt.hex(value, digits: 16) }
}
