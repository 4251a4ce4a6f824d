// The initial user stack of a new program, laid out exactly as Linux's execve
// does (fs/exec.c copy_strings + fs/binfmt_elf.c create_elf_tables), from the top:
//
//   [8 zero bytes]                       the end marker below STACK_TOP
//   execfn string                        the path given to execve (AT_EXECFN)
//   envp strings, argv strings           copied back to back, argv lowest
//   (align 16) platform string "x86_64"  (AT_PLATFORM)
//   16 random bytes                      (AT_RANDOM)
//   (align 16 so that sp is 16-aligned)
//   auxv pairs ... AT_NULL
//   envp pointers, NULL
//   argv pointers, NULL
//   argc                                 <- the new rsp
//
// Pure logic: the kernel writes `bytes` to [stackPointer, top) of the new stack.

/// Auxiliary-vector keys. Linux: include/uapi/linux/auxvec.h
public enum AuxKey: UInt64 {
    case null = 0, phdr = 3, phent = 4, phnum = 5, pagesz = 6, base = 7, flags = 8, entry = 9
    case uid = 11, euid = 12, gid = 13, egid = 14, platform = 15, hwcap = 16, clktck = 17
    case secure = 23, random = 25, hwcap2 = 26, execfn = 31, minsigstksz = 51
}

/// What goes into a new program's stack.
public struct InitialStackContents {
    public var arguments: [String]
    public var environment: [String]
    /// The path execve was called with. Linux: bprm->filename
    public var executablePath: String
    /// AT_PHDR, AT_ENTRY, ... in Linux's order; AT_PLATFORM, AT_RANDOM, AT_EXECFN and
    /// AT_NULL are added by the builder, which knows their addresses.
    public var auxiliary: [(AuxKey, UInt64)]
    public var randomBytes: (UInt64, UInt64)

    public init(arguments: [String], environment: [String], executablePath: String,
                auxiliary: [(AuxKey, UInt64)], randomBytes: (UInt64, UInt64)) {
        self.arguments = arguments
        self.environment = environment
        self.executablePath = executablePath
        self.auxiliary = auxiliary
        self.randomBytes = randomBytes
    }
}

/// The finished stack image.
public struct InitialStack {
    /// The new rsp (16-byte aligned, pointing at argc).
    public let stackPointer: UInt64
    /// The bytes of [stackPointer, top).
    public let bytes: [UInt8]

    /// Linux: the platform string x86-64 reports. ELF_PLATFORM
    public static let platform = "x86_64"

    /// Builds the image below `top`; nil if it would exceed `limit` bytes (E2BIG).
    public init?(_ contents: InitialStackContents, top: UInt64, limit: Int) {
        var strings: [UInt8] = []              // grows downward: prepend by building in reverse
        var cursor = top - 8                   // Linux: bprm->p = vm_end - sizeof(void *)
        func place(_ s: String) -> UInt64 {
            let utf8 = Array(s.utf8) + [0]
            cursor -= UInt64(utf8.count)
            strings = utf8 + strings
            return cursor
        }
        let execfn = place(contents.executablePath)
        var envPointers = [UInt64](repeating: 0, count: contents.environment.count)
        for i in contents.environment.indices.reversed() { envPointers[i] = place(contents.environment[i]) }
        var argPointers = [UInt64](repeating: 0, count: contents.arguments.count)
        for i in contents.arguments.indices.reversed() { argPointers[i] = place(contents.arguments[i]) }
        let stringsStart = cursor

        cursor &= ~15                          // arch_align_stack()
        cursor -= UInt64(Self.platform.utf8.count + 1)
        let platform = cursor
        cursor -= 16
        let random = cursor

        var auxv = contents.auxiliary
        auxv.append((.random, random))
        auxv.append((.execfn, execfn))
        auxv.append((.platform, platform))
        auxv.append((.null, 0))
        let words = 1 + argPointers.count + 1 + envPointers.count + 1 + 2 * auxv.count
        let sp = (cursor - UInt64(words * 8)) & ~15     // STACK_ROUND()
        guard top - sp <= UInt64(limit) else { return nil }

        var image = [UInt8](repeating: 0, count: Int(top - sp))
        func store(_ value: UInt64, at address: UInt64) {
            let offset = Int(address - sp)
            for b in 0..<8 { image[offset + b] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(b))) }
        }
        var slot = sp
        func push(_ value: UInt64) { store(value, at: slot); slot += 8 }
        push(UInt64(argPointers.count))
        for p in argPointers { push(p) }
        push(0)
        for p in envPointers { push(p) }
        push(0)
        for (key, value) in auxv { push(key.rawValue); push(value) }
        store(contents.randomBytes.0, at: random)
        store(contents.randomBytes.1, at: random + 8)
        for (i, byte) in Self.platform.utf8.enumerated() { image[Int(platform - sp) + i] = byte }
        for (i, byte) in strings.enumerated() { image[Int(stringsStart - sp) + i] = byte }
        stackPointer = sp
        bytes = image
    }
}
