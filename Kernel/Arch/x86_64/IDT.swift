// The interrupt descriptor table: where the CPU goes on each of the 256 vectors.
// Linux: arch/x86/kernel/idt.c

/// One 16-byte long-mode interrupt gate. Linux: struct gate_struct
struct GateDescriptor {
    var offsetLow: UInt16 = 0
    var selector: UInt16 = 0
    var ist: UInt8 = 0
    var typeAttributes: UInt8 = 0
    var offsetMiddle: UInt16 = 0
    var offsetHigh: UInt32 = 0
    var reserved: UInt32 = 0

    /// A present 64-bit interrupt gate (interrupts off on entry) into kernel code.
    init(handler: UInt64, ist: UInt8 = 0, userCallable: Bool = false) {
        offsetLow = UInt16(truncatingIfNeeded: handler)
        offsetMiddle = UInt16(truncatingIfNeeded: handler >> 16)
        offsetHigh = UInt32(truncatingIfNeeded: handler >> 32)
        selector = GDT.kernelCode
        self.ist = ist
        typeAttributes = 0x8e | (userCallable ? 0x60 : 0)
    }
    init() {}
}

enum IDT {
    nonisolated(unsafe) private static var table = UnsafeMutablePointer<GateDescriptor>.allocate(capacity: 256)

    static func load() {
        table.initialize(repeating: GateDescriptor(), count: 256)
        let stubs = UnsafePointer<UInt64>(bitPattern: UInt(symbol_isr_stub_table()))!
        for vector in 0..<256 {
            // #BP may be raised from user mode (int3); the rest are CPU-raised only.
            // #DF runs on its own stack: after a kernel stack overflow the old one is unusable.
            let ist = vector == Int(ExceptionVector.doubleFault.rawValue) ? GDT.doubleFaultIST : 0
            table[vector] = GateDescriptor(handler: stubs[vector], ist: ist, userCallable: vector == 3)
        }
        loadOnThisCPU()
    }

    /// Points this CPU at the table load() filled; every CPU shares it. Linux: load_current_idt()
    static func loadOnThisCPU() {
        var pointer = descriptor_pointer(limit: UInt16(256 * 16 - 1), base: UInt64(UInt(bitPattern: table)))
        lidt(&pointer)
    }
}
