// Turning a code address into "function+offset/size" is what makes a panic readable.
// The panic printer asks a Symbolizer; the kernel's is the SymbolTable built into the
// image, tests use a fake.

/// Where an address falls inside a function. Linux: kallsyms_lookup()'s name, symbolsize, offset
public struct SymbolLocation: Equatable {
    /// Demangled function name.
    public var name: String
    /// First byte of the function.
    public var start: UInt64
    /// Length of the function in bytes.
    public var size: UInt64
    /// `address - start`.
    public var offset: UInt64

    @inlinable public init(name: String, start: UInt64, size: UInt64, offset: UInt64) {
        self.name = name
        self.start = start
        self.size = size
        self.offset = offset
    }

    /// "name+0x1d/0x80". Linux: the %pS printk format
    public var description: String {
        name + "+0x" + Fmt.hex(offset) + "/0x" + Fmt.hex(size)
    }
}

/// Maps code addresses to functions. Linux: kallsyms
public protocol Symbolizer {
    /// The function containing `address`, or nil when no symbol covers it.
    func lookup(_ address: UInt64) -> SymbolLocation?
}
