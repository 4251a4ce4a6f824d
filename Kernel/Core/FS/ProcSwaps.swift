// /proc/swaps: one line per swap area, under a header, in Linux's layout:
// the path padded to 40 columns, then tab-separated type, size and use in
// KiB and the priority, with an extra tab after numbers under 10000000 so
// the columns line up. Linux: mm/swapfile.c swap_show()

/// One swap area as /proc/swaps shows it.
public struct ProcSwapsLine: Equatable, Sendable {
    /// The path given to swapon.
    public var path: String
    /// A block device ("partition") or a regular file ("file").
    public var isFile: Bool
    /// Usable slots, in KiB. Linux: K(si->pages)
    public var sizeKiB: UInt64
    /// Slots in use, in KiB. Linux: K(swap_usage_in_pages(si))
    public var usedKiB: UInt64
    public var priority: Int

    public init(path: String, isFile: Bool, sizeKiB: UInt64, usedKiB: UInt64, priority: Int) {
        self.path = path
        self.isFile = isFile
        self.sizeKiB = sizeKiB
        self.usedKiB = usedKiB
        self.priority = priority
    }

    /// Linux: swap_show()'s header
    public static let header = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"

    /// Linux: seq_printf(swap, "%*s%s\t%lu\t%s%lu\t%s%d\n", len < 40 ? 40 - len : 1, " ", ...)
    /// after seq_file_path(swap, file, " \t\n\\")
    public var text: String {
        let name = Mount.escaped(path)
        let length = name.utf8.count
        var line = name + String(repeating: " ", count: length < 40 ? 40 - length : 1)
        line += isFile ? "file\t" : "partition"
        line += "\t\(sizeKiB)\t" + (sizeKiB < 10_000_000 ? "\t" : "")
        line += "\(usedKiB)\t" + (usedKiB < 10_000_000 ? "\t" : "")
        line += "\(priority)\n"
        return line
    }
}
