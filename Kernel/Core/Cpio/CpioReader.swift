// Walking an initramfs archive. The reader is a small value that yields one
// entry per call, so the unpacker can create each file as it goes and nothing
// is allocated for the archive itself.

/// Iterates the entries of a newc archive up to its "TRAILER!!!" entry.
/// A concatenation of archives (as Linux accepts) is read only up to the first
/// trailer; `offset` then tells where the next one would start.
/// Linux: unpack_to_rootfs() (init/initramfs.c)
///
///     var reader = CpioReader(archive)
///     while let entry = try reader.next() { ... }
public struct CpioReader {
    private enum State {
        case reading
        case finished
        case failed(CpioError)
    }

    /// The whole archive; entries are views into it.
    public let archive: UnsafeRawBufferPointer
    /// Offset of the next header to read (after the trailer: the end of the trailer entry).
    public private(set) var offset = 0
    private var state = State.reading

    public init(_ archive: UnsafeRawBufferPointer) {
        self.archive = archive
    }

    /// The next entry, or nil after the trailer. A malformed archive throws,
    /// and keeps throwing the same error on every later call.
    public mutating func next() throws(CpioError) -> CpioEntry? {
        switch state {
        case .finished: return nil
        case .failed(let error): throw error
        case .reading: break
        }
        do throws(CpioError) {
            guard offset < archive.count else { throw .missingTrailer(offset: offset) }
            let entry = try CpioEntry(parsing: archive, at: offset)
            offset = entry.nextOffset
            guard !entry.isTrailer else {
                state = .finished
                return nil
            }
            return entry
        } catch {
            state = .failed(error)
            throw error
        }
    }
}
