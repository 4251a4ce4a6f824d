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
// Pure logic: where each part goes, computed from the sizes alone, so the
// kernel can stream argv and envp from the old program's memory into the new
// stack (Kernel/Process/Exec.swift) without holding them in kernel memory.

/// Auxiliary-vector keys. Linux: include/uapi/linux/auxvec.h
public enum AuxKey: UInt64 {
    case null = 0, phdr = 3, phent = 4, phnum = 5, pagesz = 6, base = 7, flags = 8, entry = 9
    case uid = 11, euid = 12, gid = 13, egid = 14, platform = 15, hwcap = 16, clktck = 17
    case secure = 23, random = 25, hwcap2 = 26, execfn = 31, minsigstksz = 51
}

/// Where each part of a new program's stack goes. Linux: the arithmetic of
/// copy_strings() (bprm->p) and create_elf_tables()
public struct InitialStackLayout: Equatable, Sendable {
    /// STACK_TOP: the stack's end.
    public let top: UInt64
    public let argumentCount: Int
    public let environmentCount: Int
    /// argv[0]'s string; argv's and then envp's strings follow back to back,
    /// each with its NUL, up to `executablePath`.
    public let strings: UInt64
    /// The path given to execve (AT_EXECFN), ending 8 bytes below `top`.
    public let executablePath: UInt64
    /// "x86_64" (AT_PLATFORM).
    public let platform: UInt64
    /// 16 random bytes (AT_RANDOM).
    public let random: UInt64
    /// The new rsp, 16-byte aligned, pointing at argc.
    public let stackPointer: UInt64

    /// Linux: the platform string x86-64 reports. ELF_PLATFORM
    public static let platformString = "x86_64"
    /// The pairs the layout adds to the caller's auxv: AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_NULL.
    public static let addedAuxiliaryPairs = 4

    /// nil when the stack would need more than `limit` bytes (execve's E2BIG).
    /// `stringBytes` counts every argv and envp string with its NUL;
    /// `executablePathBytes` likewise; `auxiliaryPairs` the caller's pairs.
    public init?(argumentCount: Int, environmentCount: Int, stringBytes: Int, executablePathBytes: Int,
                 auxiliaryPairs: Int, top: UInt64, limit: Int) {
        // Every size is checked against the limit before any arithmetic, so none can overflow.
        for size in [argumentCount, environmentCount, stringBytes, executablePathBytes, auxiliaryPairs] {
            guard size >= 0 && size <= limit else { return nil }
        }
        guard UInt64(limit) <= top / 4 else { return nil }
        var cursor = top - 8                            // Linux: bprm->p = vm_end - sizeof(void *)
        cursor -= UInt64(executablePathBytes)
        executablePath = cursor
        cursor -= UInt64(stringBytes)
        strings = cursor
        cursor &= ~15                                    // arch_align_stack()
        cursor -= UInt64(Self.platformString.utf8.count + 1)
        platform = cursor
        cursor -= 16
        random = cursor
        let words = 1 + argumentCount + 1 + environmentCount + 1 + 2 * (auxiliaryPairs + Self.addedAuxiliaryPairs)
        guard UInt64(words) * 8 <= UInt64(limit), top - cursor <= UInt64(limit) else { return nil }
        let sp = (cursor - UInt64(words * 8)) & ~15     // STACK_ROUND()
        guard top - sp <= UInt64(limit) else { return nil }
        self.top = top
        self.argumentCount = argumentCount
        self.environmentCount = environmentCount
        stackPointer = sp
    }

    /// argv[0]'s slot, just above argc.
    public var argumentPointers: UInt64 { stackPointer + 8 }
    /// envp[0]'s slot, after argv's NULL.
    public var environmentPointers: UInt64 { argumentPointers + 8 * UInt64(argumentCount + 1) }
    /// The first auxv pair, after envp's NULL.
    public var auxiliaryVector: UInt64 { environmentPointers + 8 * UInt64(environmentCount + 1) }

    /// The auxv as words: the caller's pairs, then the ones whose addresses the
    /// layout knows, then AT_NULL. Linux: the NEW_AUX_ENT() list of create_elf_tables()
    public func auxiliaryWords(_ given: [(AuxKey, UInt64)]) -> [UInt64] {
        var words: [UInt64] = []
        words.reserveCapacity(2 * (given.count + Self.addedAuxiliaryPairs))
        for (key, value) in given + [(.random, random), (.execfn, executablePath), (.platform, platform), (.null, 0)] {
            words.append(key.rawValue)
            words.append(value)
        }
        return words
    }
}
