// The kernel's own symbol table, so a panic prints function names instead of bare
// addresses. tools/gensyms.py builds it from the linked ELF; in the kernel the blob is
// the .ksymtab section of the image, in tests a byte array. Linux: kallsyms
//
// Blob format (little-endian, no alignment required):
//
//   offset       size        field
//   0            4           magic "KSYM"
//   4            4           count: number of entries (u32)
//   8            16 * count  entries, sorted by address, no two with the same address:
//                              +0  address     u64  first byte of the function
//                              +8  size        u32  bytes covered (0 covers nothing)
//                              +12 nameOffset  u32  offset of the name in the string table
//   8 + 16*count rest        string table: NUL-terminated UTF-8 names, already demangled
//
// A symbol covers [address, address + size). gensyms.py gives symbols without an ELF
// size (assembly labels) the distance to the next symbol, as Linux's kallsyms does, so
// only padding between functions and addresses past the last one look up as nil.
//
// The table trusts nothing: a bad magic, a count larger than the blob, or unsorted entries
// make it empty, and a name offset outside the string table fails that one lookup. A
// panic must never fault a second time inside its own symbolizer.

/// Address-to-name lookup over a gensyms.py blob. Linux: kallsyms_lookup()
public struct SymbolTable: Symbolizer {
    private let blob: UnsafeRawBufferPointer
    /// Number of usable entries; 0 when the blob is malformed.
    public let count: Int

    private static let headerSize = 8
    private static let entrySize = 16

    /// Wraps `blob` without copying it; the memory must outlive the table.
    public init(blob: UnsafeRawBufferPointer) {
        self.blob = blob
        self.count = Self.validatedCount(blob)
    }

    public func lookup(_ address: UInt64) -> SymbolLocation? {
        // Binary search for the last entry starting at or below `address`.
        var low = 0, high = count
        while low < high {
            let mid = low + (high - low) / 2
            if entryAddress(mid) <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        let index = low - 1
        let start = entryAddress(index)
        let size = UInt64(word32(at: Self.entryOffset(index) + 8))
        guard address - start < size, let name = name(at: word32(at: Self.entryOffset(index) + 12)) else {
            return nil
        }
        return SymbolLocation(name: name, start: start, size: size, offset: address - start)
    }

    private var stringTableOffset: Int { Self.headerSize + count * Self.entrySize }

    private static func entryOffset(_ index: Int) -> Int { headerSize + index * entrySize }

    private func entryAddress(_ index: Int) -> UInt64 { Self.entryAddress(blob, index) }

    private static func entryAddress(_ blob: UnsafeRawBufferPointer, _ index: Int) -> UInt64 {
        UInt64(littleEndian: blob.loadUnaligned(fromByteOffset: entryOffset(index), as: UInt64.self))
    }

    private func word32(at offset: Int) -> UInt32 {
        UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// The NUL-terminated name at `nameOffset`, or nil if it runs off the blob.
    private func name(at nameOffset: UInt32) -> String? {
        let first = stringTableOffset + Int(nameOffset)
        var end = first
        while end < blob.count {
            if blob[end] == 0 {
                return String(decoding: UnsafeRawBufferPointer(rebasing: blob[first..<end]), as: UTF8.self)
            }
            end += 1
        }
        return nil
    }

    /// `count` from the header if the blob is well formed, else 0.
    private static func validatedCount(_ blob: UnsafeRawBufferPointer) -> Int {
        guard blob.count >= headerSize,
              blob[0] == UInt8(ascii: "K"), blob[1] == UInt8(ascii: "S"),
              blob[2] == UInt8(ascii: "Y"), blob[3] == UInt8(ascii: "M")
        else { return 0 }
        // count is a u32, so count * 16 cannot overflow Int on a 64-bit machine.
        let count = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        guard count * entrySize <= blob.count - headerSize else { return 0 }
        var index = 1
        while index < count {
            if entryAddress(blob, index - 1) >= entryAddress(blob, index) { return 0 }
            index += 1
        }
        return count
    }
}
