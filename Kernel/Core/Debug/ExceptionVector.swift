// The 32 vectors the CPU reserves for its own exceptions (Intel SDM vol. 3, table 6-1).
// The panic report names a fault by these, and the assembly stubs need to know which
// vectors arrive with an error code already pushed, so the frame layout stays uniform.

/// A CPU exception vector, 0…31. Linux: enum x86_trap_nr (X86_TRAP_DE …)
public enum ExceptionVector: UInt8, CaseIterable {
    case divideError = 0
    case debug = 1
    case nonMaskableInterrupt = 2
    case breakpoint = 3
    case overflow = 4
    case boundRangeExceeded = 5
    case invalidOpcode = 6
    case deviceNotAvailable = 7
    case doubleFault = 8
    /// Only 386-era coprocessors raised it; Linux: X86_TRAP_OLD_MF
    case coprocessorSegmentOverrun = 9
    case invalidTSS = 10
    case segmentNotPresent = 11
    case stackSegmentFault = 12
    case generalProtection = 13
    case pageFault = 14
    case reserved15 = 15
    case x87FloatingPoint = 16
    case alignmentCheck = 17
    case machineCheck = 18
    case simdFloatingPoint = 19
    case virtualization = 20
    case controlProtection = 21
    case reserved22 = 22, reserved23 = 23, reserved24 = 24, reserved25 = 25, reserved26 = 26, reserved27 = 27
    case hypervisorInjection = 28
    case vmmCommunication = 29
    case security = 30
    case reserved31 = 31

    /// The vector a stub pushed into `InterruptFrame.vector`, or nil above 31 (IRQs, syscalls).
    @inlinable public init?(vector: UInt64) {
        guard vector < 32 else { return nil }
        self.init(rawValue: UInt8(vector))
    }

    /// Intel's mnemonic ("#PF"); nil for vectors Intel gives none (9 and the reserved ones).
    public var mnemonic: String? {
        switch self {
        case .divideError: "#DE"
        case .debug: "#DB"
        case .nonMaskableInterrupt: "NMI"
        case .breakpoint: "#BP"
        case .overflow: "#OF"
        case .boundRangeExceeded: "#BR"
        case .invalidOpcode: "#UD"
        case .deviceNotAvailable: "#NM"
        case .doubleFault: "#DF"
        case .invalidTSS: "#TS"
        case .segmentNotPresent: "#NP"
        case .stackSegmentFault: "#SS"
        case .generalProtection: "#GP"
        case .pageFault: "#PF"
        case .x87FloatingPoint: "#MF"
        case .alignmentCheck: "#AC"
        case .machineCheck: "#MC"
        case .simdFloatingPoint: "#XM"
        case .virtualization: "#VE"
        case .controlProtection: "#CP"
        case .hypervisorInjection: "#HV"
        case .vmmCommunication: "#VC"
        case .security: "#SX"
        case .coprocessorSegmentOverrun, .reserved15, .reserved22, .reserved23, .reserved24,
             .reserved25, .reserved26, .reserved27, .reserved31: nil
        }
    }

    /// The mnemonic, or "vector 9" where there is none.
    public var shortName: String { mnemonic ?? "vector " + Fmt.dec(rawValue) }

    /// Intel's name, lower-cased the way Linux's trap messages print it ("page fault").
    public var name: String {
        switch self {
        case .divideError: "divide error"
        case .debug: "debug"
        case .nonMaskableInterrupt: "non-maskable interrupt"
        case .breakpoint: "breakpoint"
        case .overflow: "overflow"
        case .boundRangeExceeded: "bound range exceeded"
        case .invalidOpcode: "invalid opcode"
        case .deviceNotAvailable: "device not available"
        case .doubleFault: "double fault"
        case .coprocessorSegmentOverrun: "coprocessor segment overrun"
        case .invalidTSS: "invalid TSS"
        case .segmentNotPresent: "segment not present"
        case .stackSegmentFault: "stack-segment fault"
        case .generalProtection: "general protection fault"
        case .pageFault: "page fault"
        case .x87FloatingPoint: "x87 floating-point error"
        case .alignmentCheck: "alignment check"
        case .machineCheck: "machine check"
        case .simdFloatingPoint: "SIMD floating-point exception"
        case .virtualization: "virtualization exception"
        case .controlProtection: "control protection exception"
        case .hypervisorInjection: "hypervisor injection exception"
        case .vmmCommunication: "VMM communication exception"
        case .security: "security exception"
        case .reserved15, .reserved22, .reserved23, .reserved24, .reserved25, .reserved26,
             .reserved27, .reserved31: "reserved exception"
        }
    }

    /// True when the CPU pushes an error code before RIP. The stubs of all other vectors
    /// push a 0 in its place so every handler sees the same `InterruptFrame`.
    public var pushesErrorCode: Bool {
        switch self {
        case .doubleFault, .invalidTSS, .segmentNotPresent, .stackSegmentFault, .generalProtection,
             .pageFault, .alignmentCheck, .controlProtection, .vmmCommunication, .security: true
        default: false
        }
    }

    /// True for the vectors whose error code is a segment selector (`SelectorErrorCode`).
    public var hasSelectorErrorCode: Bool {
        switch self {
        case .invalidTSS, .segmentNotPresent, .stackSegmentFault, .generalProtection: true
        default: false
        }
    }
}
