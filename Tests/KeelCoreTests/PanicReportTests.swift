import XCTest
@testable import KeelCore

/// A symbolizer over a handful of made-up functions.
private struct PanicFakeSymbols: Symbolizer {
    var functions: [(start: UInt64, size: UInt64, name: String)]
    func lookup(_ address: UInt64) -> SymbolLocation? {
        functions.first { address >= $0.start && address - $0.start < $0.size }
            .map { SymbolLocation(name: $0.name, start: $0.start, size: $0.size, offset: address - $0.start) }
    }
}

/// Kernel memory as a sparse word map; anything not in it is unmapped.
private struct PanicFakeMemory: StackMemory {
    var words: [UInt64: UInt64] = [:]
    func isReadableKernelAddress(_ address: UInt64) -> Bool { words[address] != nil }
    func read64(_ address: UInt64) -> UInt64 { words[address]! }
    /// Pushes a frame record the way `push rbp; mov rbp, rsp` leaves it.
    mutating func frame(at rbp: UInt64, callerFrame: UInt64, returnAddress: UInt64) {
        words[rbp] = callerFrame
        words[rbp + 8] = returnAddress
    }
}

private let panicText: UInt64 = 0x7f80_0000_0000
private let panicStack: UInt64 = 0x7f80_000f_f000
private let panicSymbols = PanicFakeSymbols(functions: [
    (panicText + 0x1200, 0x80, "Buddy.split(order:)"),
    (panicText + 0x1300, 0x40, "kmalloc(_:)"),
    (panicText + 0x1380, 0x80, "start_kernel()"),
    (panicText + 0x1400, 0x40, "kmain()"),
])

private func panicReport(_ reason: PanicReason, memory: PanicFakeMemory = PanicFakeMemory()) -> String {
    var out = ""
    PanicReport(reason: reason, cr3: 0x10_1000, symbols: panicSymbols, memory: memory).write(to: &out)
    return out
}

private func panicFrame(vector: ExceptionVector, errorCode: UInt64 = 0) -> InterruptFrame {
    var f = InterruptFrame()
    f.vector = UInt64(vector.rawValue)
    f.errorCode = errorCode
    f.rip = panicText + 0x1234
    f.cs = 0x08
    f.ss = 0x10
    f.rsp = panicStack + 0xf00
    f.rflags = 0x10246
    f.rbp = panicStack + 0xf10
    (f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi) = (0xa, 0xb, 0xc, 0xd, 0x51, 0xd1)
    (f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15) = (0x8, 0x9, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15)
    return f
}

final class PanicReportTests: XCTestCase {
    // MARK: exception vectors

    func testVectorNumbersAndMnemonics() {
        XCTAssertEqual(ExceptionVector.allCases.map(\.rawValue), Array(0..<32))
        XCTAssertEqual(ExceptionVector(vector: 14), .pageFault)
        XCTAssertNil(ExceptionVector(vector: 32))
        XCTAssertNil(ExceptionVector(vector: 0x80))
        let mnemonics: [String?] = ["#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", nil,
                                    "#TS", "#NP", "#SS", "#GP", "#PF", nil, "#MF", "#AC", "#MC", "#XM",
                                    "#VE", "#CP", nil, nil, nil, nil, nil, nil, "#HV", "#VC", "#SX", nil]
        XCTAssertEqual(ExceptionVector.allCases.map(\.mnemonic), mnemonics)
    }

    func testVectorNames() {
        XCTAssertEqual(ExceptionVector.divideError.name, "divide error")
        XCTAssertEqual(ExceptionVector.invalidOpcode.name, "invalid opcode")
        XCTAssertEqual(ExceptionVector.doubleFault.name, "double fault")
        XCTAssertEqual(ExceptionVector.coprocessorSegmentOverrun.name, "coprocessor segment overrun")
        XCTAssertEqual(ExceptionVector.generalProtection.name, "general protection fault")
        XCTAssertEqual(ExceptionVector.pageFault.name, "page fault")
        XCTAssertEqual(ExceptionVector.simdFloatingPoint.name, "SIMD floating-point exception")
        XCTAssertEqual(ExceptionVector.reserved27.name, "reserved exception")
        XCTAssertEqual(Set(ExceptionVector.allCases.map(\.name)).count, 25, "24 named vectors + reserved")
    }

    func testWhichVectorsPushAnErrorCode() {
        let withCode = ExceptionVector.allCases.filter(\.pushesErrorCode).map(\.rawValue)
        XCTAssertEqual(withCode, [8, 10, 11, 12, 13, 14, 17, 21, 29, 30])
        XCTAssertEqual(ExceptionVector.allCases.filter(\.hasSelectorErrorCode).map(\.rawValue), [10, 11, 12, 13])
    }

    // MARK: error codes

    func testPageFaultAccessWording() {
        typealias E = PageFaultErrorCode
        XCTAssertEqual(E().accessDescription(userMode: false), "supervisor read access in kernel mode")
        XCTAssertEqual(E.write.accessDescription(userMode: false), "supervisor write access in kernel mode")
        XCTAssertEqual(E.user.accessDescription(userMode: true), "user read access in user mode")
        XCTAssertEqual(E([.user, .write]).accessDescription(userMode: false), "user write access in kernel mode")
        XCTAssertEqual(E([.instructionFetch, .write]).accessDescription(userMode: false),
                       "supervisor instruction fetch in kernel mode")
        XCTAssertEqual(E([.shadowStack, .write]).accessDescription(userMode: true),
                       "supervisor shadow stack access in user mode")
    }

    func testPageFaultCauseWording() {
        typealias E = PageFaultErrorCode
        XCTAssertEqual(E.write.errorCodeDescription, "error_code(0x0002) - not-present page")
        XCTAssertEqual(E([.protection, .write, .user]).errorCodeDescription, "error_code(0x0007) - permissions violation")
        XCTAssertEqual(E([.protection, .reservedBit]).cause, "reserved bit violation")
        XCTAssertEqual(E([.protection, .protectionKey]).cause, "protection keys violation")
        XCTAssertEqual(E([.protection, .sgx]).cause, "SGX access-control violation")
        XCTAssertEqual(E([.protection, .sgx]).errorCodeDescription, "error_code(0x8001) - SGX access-control violation")
        XCTAssertEqual(E.reservedBit.cause, "not-present page", "Linux tests PROT first")
    }

    func testPageFaultFlagNamesCoverEveryBit() {
        let all: PageFaultErrorCode = [.protection, .write, .user, .reservedBit, .instructionFetch,
                                       .protectionKey, .shadowStack, .sgx]
        XCTAssertEqual(all.rawValue, 0x807f)
        XCTAssertEqual(all.flagNames, "PROT|WRITE|USER|RSVD|INSTR|PK|SHSTK|SGX")
        XCTAssertEqual(PageFaultErrorCode(rawValue: 0x12).flagNames, "WRITE|INSTR")
        XCTAssertEqual(PageFaultErrorCode().flagNames, "none")
    }

    func testSelectorErrorCode() {
        XCTAssertEqual(SelectorErrorCode(rawValue: 0).description, "not segment-related")
        let gdt = SelectorErrorCode(rawValue: 0x10)
        XCTAssertEqual(gdt.table, .gdt)
        XCTAssertEqual(gdt.index, 2)
        XCTAssertFalse(gdt.isExternal)
        XCTAssertEqual(gdt.description, "GDT index 2")
        XCTAssertEqual(SelectorErrorCode(rawValue: 0x1c).description, "LDT index 3")
        let idt = SelectorErrorCode(rawValue: 0x6b)  // vector 13 through the IDT, external
        XCTAssertEqual(idt.table, .idt)
        XCTAssertEqual(idt.index, 13)
        XCTAssertTrue(idt.isExternal)
        XCTAssertEqual(idt.description, "external event, IDT vector 13")
        XCTAssertEqual(SelectorErrorCode(rawValue: 0x6e).table, .idt, "bit 1 wins over the LDT bit")
        XCTAssertEqual(SelectorErrorCode(rawValue: 0xfff8).index, 0x1fff)
    }

    // MARK: frame layout

    func testInterruptFrameLayoutMatchesTheStubs() {
        XCTAssertEqual(MemoryLayout<InterruptFrame>.size, InterruptFrame.byteSize)
        XCTAssertEqual(InterruptFrame.byteSize, 176)
        XCTAssertEqual(InterruptFrame.byteSize % 16, 0, "keeps rsp 16-byte aligned for the call")
        let words = (0..<22).map { UInt64($0) }
        let f = words.withUnsafeBytes { $0.load(as: InterruptFrame.self) }
        XCTAssertEqual([f.r15, f.r14, f.r13, f.r12, f.r11, f.r10, f.r9, f.r8], Array(words[0..<8]))
        XCTAssertEqual([f.rbp, f.rdi, f.rsi, f.rdx, f.rcx, f.rbx, f.rax], Array(words[8..<15]))
        XCTAssertEqual([f.vector, f.errorCode, f.rip, f.cs, f.rflags, f.rsp, f.ss], Array(words[15..<22]))
        XCTAssertEqual(MemoryLayout<InterruptFrame>.offset(of: \.rip), 0x88)
        XCTAssertEqual(MemoryLayout<InterruptFrame>.offset(of: \.ss), 0xa8)
    }

    func testUserModeFromCS() {
        var f = InterruptFrame()
        f.cs = 0x08
        XCTAssertFalse(f.isUserMode)
        f.cs = 0x2b
        XCTAssertTrue(f.isUserMode)
    }

    // MARK: classification

    func testUD2IsASwiftTrap() {
        let frame = panicFrame(vector: .invalidOpcode)
        var memory = PanicFakeMemory()
        memory.words[frame.rip] = 0xcccc_cccc_cccc_0b0f
        let trap = PanicReason(vector: .invalidOpcode, frame: frame, cr2: 0, memory: memory) { _ in false }
        guard case .swiftTrap(frame) = trap else { return XCTFail("\(trap)") }
        memory.words[frame.rip] = 0x0b0e
        let other = PanicReason(vector: .invalidOpcode, frame: frame, cr2: 0, memory: memory) { _ in false }
        guard case .exception(.invalidOpcode, _, _) = other else { return XCTFail("\(other)") }
        let unreadable = PanicReason(vector: .invalidOpcode, frame: frame, cr2: 0, memory: PanicFakeMemory()) { _ in false }
        guard case .exception(.invalidOpcode, _, _) = unreadable else { return XCTFail("\(unreadable)") }
    }

    func testGuardPageFaultIsAStackOverflow() {
        let guardPage = panicStack - pageSize
        let isGuard = { (address: UInt64) in address >= guardPage && address < panicStack }
        for vector in [ExceptionVector.pageFault, .doubleFault] {
            let hit = PanicReason(vector: vector, frame: panicFrame(vector: vector), cr2: guardPage + 8,
                                  memory: PanicFakeMemory(), isStackGuard: isGuard)
            guard case .stackOverflow(guardPage + 8, _) = hit else { return XCTFail("\(hit)") }
        }
        let miss = PanicReason(vector: .pageFault, frame: panicFrame(vector: .pageFault), cr2: panicStack,
                               memory: PanicFakeMemory(), isStackGuard: isGuard)
        guard case .exception(.pageFault, _, panicStack) = miss else { return XCTFail("\(miss)") }
        let gp = PanicReason(vector: .generalProtection, frame: panicFrame(vector: .generalProtection),
                             cr2: guardPage, memory: PanicFakeMemory(), isStackGuard: isGuard)
        guard case .exception(.generalProtection, _, _) = gp else { return XCTFail("\(gp)") }
    }

    // MARK: reports

    /// Three frames: a call into kmalloc, a call that was start_kernel's last instruction
    /// (so the return address is kmain's first byte), and an unknown address whose saved
    /// rbp points back down the stack, which must end the trace.
    private func threeFrameStack() -> PanicFakeMemory {
        var memory = PanicFakeMemory()
        memory.frame(at: panicStack + 0xf10, callerFrame: panicStack + 0xf40, returnAddress: panicText + 0x1310)
        memory.frame(at: panicStack + 0xf40, callerFrame: panicStack + 0xf80, returnAddress: panicText + 0x1400)
        memory.frame(at: panicStack + 0xf80, callerFrame: panicStack + 0xf10, returnAddress: panicText + 0x5000)
        return memory
    }

    func testPageFaultReport() {
        let reason = PanicReason.exception(.pageFault, frame: panicFrame(vector: .pageFault, errorCode: 2), cr2: 0x10)
        XCTAssertEqual(panicReport(reason, memory: threeFrameStack()), """
            KERNEL PANIC: page fault (#PF) at 0x00007f8000001234 <Buddy.split(order:)+0x34/0x80>
            BUG: kernel NULL pointer dereference, address: 0x0000000000000010
            #PF: supervisor write access in kernel mode
            #PF: error_code(0x0002) - not-present page
            RIP: 0x08:0x00007f8000001234 <Buddy.split(order:)+0x34/0x80>
            RSP: 0x10:0x00007f80000fff00 RFLAGS: 0x00010246
            RAX: 0x000000000000000a RBX: 0x000000000000000b RCX: 0x000000000000000c
            RDX: 0x000000000000000d RSI: 0x0000000000000051 RDI: 0x00000000000000d1
            RBP: 0x00007f80000fff10 R08: 0x0000000000000008 R09: 0x0000000000000009
            R10: 0x0000000000000010 R11: 0x0000000000000011 R12: 0x0000000000000012
            R13: 0x0000000000000013 R14: 0x0000000000000014 R15: 0x0000000000000015
            CR2: 0x0000000000000010 CR3: 0x0000000000101000
            Call Trace:
             [<00007f8000001310>] kmalloc(_:)+0x10/0x40
             [<00007f8000001400>] start_kernel()+0x80/0x80
             [<00007f8000005000>]
            ---[ end Kernel panic ]---

            """)
    }

    func testUserModePageFaultIsNotANullDereference() {
        var frame = panicFrame(vector: .pageFault, errorCode: 0x5)
        frame.cs = 0x2b
        frame.rbp = 0x7fff_0000  // a user rbp: the trace must not follow it
        let lines = panicReport(.exception(.pageFault, frame: frame, cr2: 0x10)).split(separator: "\n")
        XCTAssertEqual(lines[1], "BUG: unable to handle page fault for address: 0x0000000000000010")
        XCTAssertEqual(lines[2], "#PF: user read access in user mode")
        XCTAssertEqual(lines[3], "#PF: error_code(0x0005) - permissions violation")
        XCTAssertEqual(lines[4].prefix(9), "RIP: 0x2b")
        XCTAssertEqual(lines.suffix(2), ["Call Trace:", "---[ end Kernel panic ]---"])
    }

    func testSwiftTrapReport() {
        let lines = panicReport(.swiftTrap(frame: panicFrame(vector: .invalidOpcode)), memory: threeFrameStack())
            .split(separator: "\n")
        XCTAssertEqual(lines[0], "KERNEL PANIC: Swift runtime trap (precondition failure, overflow, bounds or "
                       + "force-unwrap) at 0x00007f8000001234 <Buddy.split(order:)+0x34/0x80>")
        XCTAssertTrue(lines[1].hasPrefix("RIP: "), "no error-code line for a trap")
        XCTAssertEqual(lines[8], "CR3: 0x0000000000101000", "CR2 is not recorded for a trap")
        XCTAssertEqual(lines.filter { $0.hasPrefix(" [<") }.count, 3)
    }

    func testGeneralProtectionReportDecodesTheSelector() {
        let reason = PanicReason.exception(.generalProtection, frame: panicFrame(vector: .generalProtection, errorCode: 0x10), cr2: 0)
        let lines = panicReport(reason).split(separator: "\n")
        XCTAssertEqual(lines[0], "KERNEL PANIC: general protection fault (#GP) at 0x00007f8000001234 <Buddy.split(order:)+0x34/0x80>")
        XCTAssertEqual(lines[1], "#GP: error_code(0x0010) - GDT index 2")
        let df = panicReport(.exception(.doubleFault, frame: panicFrame(vector: .doubleFault), cr2: 0)).split(separator: "\n")
        XCTAssertEqual(df[1], "#DF: error_code(0x0000)")
    }

    func testVectorWithoutMnemonicAndUnknownRIP() {
        var frame = panicFrame(vector: .coprocessorSegmentOverrun)
        frame.rip = 0x42
        let first = panicReport(.exception(.coprocessorSegmentOverrun, frame: frame, cr2: 0)).split(separator: "\n")[0]
        XCTAssertEqual(first, "KERNEL PANIC: coprocessor segment overrun (vector 9) at 0x0000000000000042")
    }

    func testStackOverflowReport() {
        let reason = PanicReason.stackOverflow(guardAddress: panicStack - 8, frame: panicFrame(vector: .doubleFault))
        let lines = panicReport(reason).split(separator: "\n")
        XCTAssertEqual(lines[0], "KERNEL PANIC: kernel stack overflow at 0x00007f8000001234 <Buddy.split(order:)+0x34/0x80>")
        XCTAssertEqual(lines[1], "BUG: stack guard page was hit at 0x00007f80000feff8")
        XCTAssertTrue(lines.contains("CR2: 0x00007f80000feff8 CR3: 0x0000000000101000"))
    }

    func testExplicitPanicHasTraceButNoRegisters() {
        XCTAssertEqual(panicReport(.explicit(message: "out of memory in early boot", framePointer: panicStack + 0xf40),
                              memory: threeFrameStack()), """
            KERNEL PANIC: out of memory in early boot
            Call Trace:
             [<00007f8000001400>] start_kernel()+0x80/0x80
             [<00007f8000005000>]
            ---[ end Kernel panic ]---

            """)
    }

    // MARK: unwinder

    private func trace(_ memory: PanicFakeMemory, from rbp: UInt64) -> [UInt64] {
        Array(FramePointerUnwinder(memory: memory, framePointer: rbp))
    }

    func testUnwinderStopsOnCorruptFramePointers() {
        var memory = PanicFakeMemory()
        memory.frame(at: panicStack, callerFrame: 0xdead_beef_0000, returnAddress: panicText + 1)
        XCTAssertEqual(trace(memory, from: panicStack), [panicText + 1], "unreadable caller frame ends the trace")
        XCTAssertEqual(trace(memory, from: panicStack + 4), [], "misaligned rbp")
        XCTAssertEqual(trace(memory, from: 0), [])
        memory.frame(at: panicStack, callerFrame: panicStack, returnAddress: panicText + 1)
        XCTAssertEqual(trace(memory, from: panicStack), [panicText + 1], "a frame pointing at itself")
        memory.frame(at: panicStack, callerFrame: panicStack + 0x40, returnAddress: 0)
        XCTAssertEqual(trace(memory, from: panicStack), [], "a zero return address is the bottom")
        memory.words[panicStack + 8] = nil
        XCTAssertEqual(trace(memory, from: panicStack), [], "return-address slot unreadable")
    }

    func testUnwinderCapsDeepChains() {
        var memory = PanicFakeMemory()
        for i in 0..<100 as Range<UInt64> {
            memory.frame(at: panicStack + i * 16, callerFrame: panicStack + (i + 1) * 16, returnAddress: panicText + i)
        }
        let frames = trace(memory, from: panicStack)
        XCTAssertEqual(frames.count, FramePointerUnwinder<PanicFakeMemory>.maxFrames)
        XCTAssertEqual(frames.first, panicText)
        XCTAssertEqual(frames.last, panicText + 31)
    }
}
