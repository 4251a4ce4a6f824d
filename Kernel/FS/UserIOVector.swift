// A user buffer to read into or write from, possibly in several pieces (readv
// and writev take an array of them), or a kernel buffer standing in for one
// (sendfile hands a page of the file it reads to the file it writes). Each piece is a checked UserRange; a copy
// that meets an unmapped page stops there, and once anything was transferred a
// fault ends the buffer instead of failing the call: the system call returns the
// short count, as Linux does, and no caller's loop can turn it into EFAULT.
// Linux: struct iov_iter over user memory (ITER_UBUF, ITER_IOVEC) or kernel
// memory (ITER_KVEC), lib/iov_iter.c

struct UserIOVector {
    /// Most bytes one call transfers; larger requests are cut short. Linux: MAX_RW_COUNT
    static let maxTransfer = 0x7fff_f000
    /// Most pieces readv/writev take. Linux: UIO_MAXIOV
    static let maxSegments = 1024

    private var segments: [UserRange]
    /// The kernel memory this buffer is instead of user memory, if it is. Linux: ITER_KVEC
    private var kernel: UnsafeMutableRawBufferPointer? = nil
    private var index = 0
    private var offsetInSegment = 0
    /// Bytes the buffer still has room for (or still holds, for a write); 0 after a fault.
    private(set) var remaining: Int
    /// Bytes moved so far, by every copy of this buffer.
    private(set) var transferred = 0

    /// One buffer: EFAULT unless it lies in user space. Linux: import_ubuf() + access_ok()
    init(address: VirtAddr, count: Int) throws(Errno) {
        let range = try UserRange(address, count: count)
        let length = min(count, Self.maxTransfer)
        segments = [range.slice(from: 0, count: length)]
        remaining = length
    }

    /// A kernel buffer: copies never fault. Linux: iov_iter_kvec()
    init(kernel buffer: UnsafeMutableRawBufferPointer) {
        segments = []
        kernel = buffer
        remaining = buffer.count
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
            let kept = min(length, Self.maxTransfer - remaining)
            segments.append(try UserRange(base, count: length).slice(from: 0, count: kept))
            remaining += kept
        }
    }

    /// Copies `bytes` (as many as fit) to the user buffer; returns how many.
    /// Linux: copy_to_iter()
    mutating func copyOut(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int {
        if let kernel {
            let count = min(bytes.count, remaining)
            (kernel.baseAddress! + transferred).copyMemory(from: bytes.baseAddress!, byteCount: count)
            return advanceKernel(count)
        }
        return try transfer(bytes.count) { user, offset in
            UserCopy.copyOutPartial(to: user, from: bytes.baseAddress! + offset)
        }
    }

    /// Copies from the user buffer into `buffer` (as much as it holds); returns how many.
    /// Linux: copy_from_iter()
    mutating func copyIn(_ buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        if let kernel {
            let count = min(buffer.count, remaining)
            buffer.baseAddress!.copyMemory(from: kernel.baseAddress! + transferred, byteCount: count)
            return advanceKernel(count)
        }
        return try transfer(buffer.count) { user, offset in
            UserCopy.copyInPartial(buffer.baseAddress! + offset, from: user)
        }
    }

    /// Counts every byte left as moved without touching user memory: what
    /// /dev/null does with a write. Linux: iov_iter_advance()
    mutating func discardAll() -> Int {
        let count = remaining
        transferred += count
        remaining = 0
        index = segments.count
        return count
    }

    private mutating func advanceKernel(_ count: Int) -> Int {
        remaining -= count
        transferred += count
        return count
    }

    /// Moves up to `wanted` bytes, piece by piece; `copy` moves one user range and
    /// returns how much of it it moved. A fault is EFAULT only if this buffer has
    /// moved nothing yet; otherwise it ends the buffer (`remaining` becomes 0).
    private mutating func transfer(_ wanted: Int, _ copy: (UserRange, Int) -> Int) throws(Errno) -> Int {
        var done = 0
        while done < wanted && index < segments.count {
            let segment = segments[index]
            let piece = segment.slice(from: offsetInSegment, count: min(wanted - done, segment.count - offsetInSegment))
            let moved = copy(piece, done)
            done += moved
            offsetInSegment += moved
            remaining -= moved
            transferred += moved
            if moved < piece.count {
                if transferred == 0 { throw .EFAULT }
                remaining = 0
                index = segments.count
                return done
            }
            if offsetInSegment == segment.count {
                index += 1
                offsetInSegment = 0
            }
        }
        return done
    }
}
