// Linux's error numbers (include/uapi/asm-generic/errno-base.h and errno.h).
// A system call fails by returning -errno in rax; Keel's handlers throw one of
// these and the dispatcher negates it. The case names are Linux's own, so a
// student can grep for them in man pages.

/// A Linux error number. Linux: errno
public enum Errno: Int32, Error, Sendable {
    case EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, ENXIO = 6, E2BIG = 7, ENOEXEC = 8
    case EBADF = 9, ECHILD = 10, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14, ENOTBLK = 15, EBUSY = 16
    case EEXIST = 17, EXDEV = 18, ENODEV = 19, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENFILE = 23
    case EMFILE = 24, ENOTTY = 25, ETXTBSY = 26, EFBIG = 27, ENOSPC = 28, ESPIPE = 29, EROFS = 30, EMLINK = 31
    case EPIPE = 32, ERANGE = 34, EDEADLK = 35, ENAMETOOLONG = 36, ENOSYS = 38, ENOTEMPTY = 39
    case ELOOP = 40, EOVERFLOW = 75, EOPNOTSUPP = 95, ETIMEDOUT = 110
    /// Accessing a corrupted shared library: execve's PT_INTERP names a file
    /// that is not an ELF loader for this machine. Linux: ELIBBAD
    case ELIBBAD = 80
    /// A file system found its on-disk structures inconsistent. Linux: EFSCORRUPTED
    case EUCLEAN = 117
    /// Kernel-internal, never seen by a program: the call was interrupted by
    /// a signal and runs again after it (from its start) unless a handler
    /// without SA_RESTART runs, which makes it EINTR. Linux: ERESTARTSYS
    /// (include/linux/errno.h), acted on by arch_do_signal_or_restart()
    case ERESTARTSYS = 512

    /// The value a failed system call returns in rax.
    @inlinable public var syscallReturn: Int64 { -Int64(rawValue) }
}

extension Errno {
    /// The symbolic name, for kernel messages ("ENOENT").
    public var name: String {
        switch self {
        case .EPERM: "EPERM"
        case .ENOENT: "ENOENT"
        case .ESRCH: "ESRCH"
        case .EINTR: "EINTR"
        case .EIO: "EIO"
        case .ENXIO: "ENXIO"
        case .E2BIG: "E2BIG"
        case .ENOEXEC: "ENOEXEC"
        case .EBADF: "EBADF"
        case .ECHILD: "ECHILD"
        case .EAGAIN: "EAGAIN"
        case .ENOMEM: "ENOMEM"
        case .EACCES: "EACCES"
        case .EFAULT: "EFAULT"
        case .ENOTBLK: "ENOTBLK"
        case .EBUSY: "EBUSY"
        case .EEXIST: "EEXIST"
        case .EXDEV: "EXDEV"
        case .ENODEV: "ENODEV"
        case .ENOTDIR: "ENOTDIR"
        case .EISDIR: "EISDIR"
        case .EINVAL: "EINVAL"
        case .ENFILE: "ENFILE"
        case .EMFILE: "EMFILE"
        case .ENOTTY: "ENOTTY"
        case .ETXTBSY: "ETXTBSY"
        case .EFBIG: "EFBIG"
        case .ENOSPC: "ENOSPC"
        case .ESPIPE: "ESPIPE"
        case .EROFS: "EROFS"
        case .EMLINK: "EMLINK"
        case .EPIPE: "EPIPE"
        case .ERANGE: "ERANGE"
        case .EDEADLK: "EDEADLK"
        case .ENAMETOOLONG: "ENAMETOOLONG"
        case .ENOSYS: "ENOSYS"
        case .ENOTEMPTY: "ENOTEMPTY"
        case .ELOOP: "ELOOP"
        case .EOVERFLOW: "EOVERFLOW"
        case .EOPNOTSUPP: "EOPNOTSUPP"
        case .ETIMEDOUT: "ETIMEDOUT"
        case .ELIBBAD: "ELIBBAD"
        case .EUCLEAN: "EUCLEAN"
        case .ERESTARTSYS: "ERESTARTSYS"
        }
    }
}
