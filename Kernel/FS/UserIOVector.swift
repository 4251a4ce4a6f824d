// A user buffer to read into or write from, possibly in several pieces (readv
// and writev take an array of them). Copies go page by page through UserCopy,
// so a buffer that is only partly mapped transfers up to the bad page, and a
// transfer that copied something reports that rather than EFAULT.
// Linux: struct iov_iter over user memory (ITER_UBUF, ITER_IOVEC), lib/iov_iter.c

struct UserIOVector {
    /// Most bytes one call transfers; larger requests are cut short. Linux: MAX_RW_COUNT
    static let maxTransfer = 0x7fff_f000
    /// Most pieces readv/writev take. Linux: UIO_MAXIOV
    static let maxSegments = 1024

    private var segments: [(base: VirtAddr, length: Int)]
    private var index = 0
    private var offsetInSegment = 0
    /// Bytes the buffer still has room for (or still holds, for a write).
    private(set) var remaining: Int

    /// One buffer: EFAULT unless it lies in user space. Linux: import_ubuf() + access_ok()
    init(address: VirtAddr, count: Int) throws(Errno) {
        guard UserCopy.accessOK(address, count) else { throw .EFAULT }
        let length = min(count, Self.maxTransfer)
        segments = [(address, length)]
        remaining = length
    }

    /// The `count` struct iovec {base, length} at `address`. EINVAL for a bad count or
    /// a negative length, EFAULT for a piece outside user space. Linux: import_iovec()
    init(vectorAt address: VirtAddr, count: Int) throws(Errno) {
        guard count >= 0 && count <= Self.maxSegments else { throw .EINVAL }
        var raw = [UInt8](repeating: 0, count: 16 * count)
        try raw.withMutableBytes { (bytes) throws(Errno) in
            guard let base = bytes.baseAddress else { return }
            try UserCopy.copyIn(base, from: address, count: bytes.count)
        }
        segments = []
        remaining = 0
        for i in 0..<count {
            let (base, length) = raw.withUnsafeBytes {
                (VirtAddr($0.load(fromByteOffset: 16 * i, as: UInt64.self)),
                 Int(bitPattern: UInt($0.load(fromByteOffset: 16 * i + 8, as: UInt64.self))))
            }
            guard length >= 0 else { throw .EINVAL }
            guard UserCopy.accessOK(base, length) else { throw .EFAULT }
            let kept = min(length, Self.maxTransfer - remaining)
            segments.append((base, kept))
            remaining += kept
        }
    }

    /// Copies `bytes` (as many as fit) to the user buffer; returns how many.
    /// Linux: copy_to_iter()
    mutating func copyOut(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        try transfer(bytes.count) { (user, offset, count) throws(Errno) in
            try UserCopy.copyOut(to: user, from: bytes.baseAddress! + offset, count: count)
        }
    }

    /// Copies from the user buffer into `buffer` (as much as it holds); returns how many.
    /// Linux: copy_from_iter()
    mutating func copyIn(_ buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try transfer(buffer.count) { (user, offset, count) throws(Errno) in
            try UserCopy.copyIn(buffer.baseAddress! + offset, from: user, count: count)
        }
    }

    /// Moves up to `wanted` bytes in chunks that never cross a user page. A fault
    /// ends the transfer; it is an error only if nothing moved.
    private mutating func transfer(_ wanted: Int,
                                   _ copy: (VirtAddr, Int, Int) throws(Errno) -> Void) throws(Errno) -> Int {
        var done = 0
        while done < wanted && index < segments.count {
            let segment = segments[index]
            let user = segment.base + UInt64(offsetInSegment)
            let chunk = min(wanted - done, segment.length - offsetInSegment, Int(pageSize - user.pageOffset))
            if chunk > 0 {
                do throws(Errno) {
                    try copy(user, done, chunk)
                } catch {
                    if done == 0 { throw error }
                    return done
                }
                done += chunk
                offsetInSegment += chunk
                remaining -= chunk
            }
            if offsetInSegment == segment.length {
                index += 1
                offsetInSegment = 0
            }
        }
        return done
    }
}
