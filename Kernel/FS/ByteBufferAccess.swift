// Array.withUnsafeBytes rethrows untyped errors, which Embedded Swift cannot
// carry; system-call code throws Errno. These variants pass a typed error
// through, so a user copy can run while the array's bytes are pinned.

extension Array where Element == UInt8 {
    /// withUnsafeBytes for a body that throws Errno.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(Errno) -> R) throws(Errno) -> R {
        let result: Result<R, Errno> = withUnsafeBytes { bytes in
            do throws(Errno) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// withUnsafeMutableBytes for a body that throws Errno.
    mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(Errno) -> R) throws(Errno) -> R {
        let result: Result<R, Errno> = withUnsafeMutableBytes { bytes in
            do throws(Errno) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Copies all the bytes to user memory. Linux: copy_to_user() of a kernel buffer
    func copyOut(to address: VirtAddr) throws(Errno) {
        try withBytes { (bytes) throws(Errno) in
            guard let base = bytes.baseAddress else { return }
            try UserCopy.copyOut(to: address, from: base, count: bytes.count)
        }
    }
}
