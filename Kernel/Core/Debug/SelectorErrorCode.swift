// #GP, #TS, #NP and #SS push a segment-selector-shaped error code naming the descriptor
// that caused the fault (Intel SDM vol. 3, "Error Code"). A zero code means the fault was
// not about a segment at all, which is the usual #GP (a non-canonical address, a bad MSR).

/// The descriptor table a selector error code points into.
public enum DescriptorTable: Equatable {
    case gdt, idt, ldt
}

/// Error code of #GP/#TS/#NP/#SS. Linux decodes it only for #GP ("segment-related").
public struct SelectorErrorCode: Hashable {
    public var rawValue: UInt64
    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The fault happened while delivering an event external to the program (an IRQ, or
    /// an earlier exception), not because of the instruction at RIP.
    @inlinable public var isExternal: Bool { rawValue & 1 != 0 }

    /// Bit 1 selects the IDT; otherwise bit 2 picks the LDT over the GDT.
    @inlinable public var table: DescriptorTable {
        if rawValue & 0b10 != 0 { return .idt }
        return rawValue & 0b100 != 0 ? .ldt : .gdt
    }

    /// Descriptor index (selector bits 3…15); for the IDT, the vector number.
    @inlinable public var index: UInt64 { (rawValue >> 3) & 0x1fff }

    /// True when the code names a descriptor; a zero code does not.
    @inlinable public var isSegmentRelated: Bool { rawValue & 0xffff != 0 }

    /// e.g. "GDT index 2" or "external event, IDT vector 13"; "not segment-related" for 0.
    public var description: String {
        guard isSegmentRelated else { return "not segment-related" }
        let place = switch table {
        case .gdt: "GDT index "
        case .ldt: "LDT index "
        case .idt: "IDT vector "
        }
        return (isExternal ? "external event, " : "") + place + Fmt.dec(index)
    }
}
