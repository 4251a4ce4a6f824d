// lseek(2): where the file offset moves to. The arithmetic is the same for
// every seekable file; what differs is whether the file has an end to seek
// from (a regular file does; a directory or a /proc file does not).

/// Linux: SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE
public enum SeekWhence: Int, Sendable {
    case set = 0, current = 1, end = 2, data = 3, hole = 4
}

public enum FileOffset {
    /// The new offset for lseek(offset, whence) from `current` in a file of `size`
    /// bytes (nil: no end, only SEEK_SET and SEEK_CUR work). A whole file is data,
    /// so SEEK_DATA stays put and SEEK_HOLE goes to the end.
    /// Linux: generic_file_llseek_size() + vfs_setpos(); no_seek_end_llseek() without a size
    public static func seek(_ offset: Int64, whence rawWhence: Int, current: Int64, size: Int64?) throws(Errno) -> Int64 {
        guard let whence = SeekWhence(rawValue: rawWhence) else { throw .EINVAL }
        var target: Int64
        switch whence {
        case .set:
            target = offset
        case .current:
            target = current &+ offset
        case .end, .data, .hole:
            guard let size else { throw .EINVAL }
            switch whence {
            case .end: target = size &+ offset
            case .data where offset >= size, .hole where offset >= size: throw .ENXIO
            case .hole: target = size
            default: target = offset
            }
        }
        guard target >= 0 else { throw .EINVAL }
        return target
    }
}
