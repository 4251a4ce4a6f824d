// tmpfs's mount options: size=, nr_inodes= and mode=, as `mount -o` passes them.
// Linux: mm/shmem.c (shmem_parse_one, shmem_show_options)

public struct TmpfsOptions: Equatable {
    /// nil: the default, half of memory. Linux: max_blocks
    public var maxPages: Int?
    /// nil: the default, half of memory's pages. Linux: max_inodes
    public var maxInodes: Int?
    /// The root directory's permissions. Linux: the mode= option
    public var permissions: UInt32?

    /// Parses "size=16m,nr_inodes=1k,mode=755". A size may end in k, m, g or %
    /// (of memory); it rounds up to whole pages. EINVAL for anything else.
    /// Linux: shmem_parse_one() with memparse()
    public init(parsing text: String, managedPages: Int) throws(Errno) {
        for option in text.utf8.split(separator: UInt8(ascii: ",")) {
            let parts = option.split(separator: UInt8(ascii: "="), maxSplits: 1)
            guard parts.count == 2 else { throw .EINVAL }
            let key = String(Substring(parts[0])), value = Array(parts[1])
            switch key {
            case "size":
                if value.last == UInt8(ascii: "%") {
                    let percent = try Self.number(value.dropLast(), base: 10)
                    maxPages = max(1, managedPages / 100 * percent + (managedPages % 100) * percent / 100)
                } else {
                    let bytes = try Self.size(value)
                    maxPages = bytes / Int(pageSize) + (bytes % Int(pageSize) == 0 ? 0 : 1)
                }
            case "nr_inodes": maxInodes = try Self.size(value)
            case "mode": permissions = UInt32(try Self.number(value[...], base: 8)) & 0o7777
            default: throw .EINVAL
            }
        }
    }

    /// The options as /proc/mounts shows them after rw/ro.
    public var description: String {
        var parts: [String] = []
        if let maxPages { parts.append("size=" + String(maxPages * Int(pageSize) / 1024) + "k") }
        if let maxInodes { parts.append("nr_inodes=" + String(maxInodes)) }
        if let permissions { parts.append("mode=" + String(permissions, radix: 8)) }
        return parts.joined(separator: ",")
    }

    /// A number with an optional k/m/g suffix. Linux: memparse()
    private static func size(_ digits: [UInt8]) throws(Errno) -> Int {
        var shift = 0
        switch digits.last {
        case UInt8(ascii: "k"), UInt8(ascii: "K"): shift = 10
        case UInt8(ascii: "m"), UInt8(ascii: "M"): shift = 20
        case UInt8(ascii: "g"), UInt8(ascii: "G"): shift = 30
        default: break
        }
        let value = try number(shift == 0 ? digits[...] : digits.dropLast(), base: 10)
        guard value <= Int.max >> (shift + 1) else { throw .EINVAL }
        return value << shift
    }

    private static func number(_ digits: ArraySlice<UInt8>, base: Int) throws(Errno) -> Int {
        guard !digits.isEmpty, digits.count <= 18 else { throw .EINVAL }
        var value = 0
        for c in digits {
            let digit = Int(c) - Int(UInt8(ascii: "0"))
            guard digit >= 0 && digit < base else { throw .EINVAL }
            value = value * base + digit
        }
        return value
    }
}
