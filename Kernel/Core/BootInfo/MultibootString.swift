// Strings in the boot information are read in place: the parser runs before the
// kernel has a heap, so it hands out views and lets the caller decide when to copy.

/// A NUL-terminated string inside the boot information, without its NUL.
/// Valid only while the boot-information block stays mapped and unreused.
public struct MultibootString {
    /// The string's bytes (UTF-8 or ASCII as the boot loader wrote them).
    public let bytes: UnsafeRawBufferPointer

    /// A heap copy of the string; needs a working allocator.
    public var string: String { String(decoding: bytes, as: UTF8.self) }
}
