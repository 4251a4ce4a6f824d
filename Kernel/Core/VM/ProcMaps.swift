// /proc/<pid>/maps, byte for byte as Linux prints it, so pmap and friends work:
//   start-end perms offset major:minor inode, padded so names line up, then the name.
//   55782f4ab000-55782f4ad000 r--p 00000000 fe:00 253911                     /usr/bin/cat
//   557839db6000-557839dd7000 rw-p 00000000 00:00 0                          [heap]
//   7fd20b6fa000-7fd20b71c000 rw-p 00000000 00:00 0 (anonymous: nothing after "0 ")

/// The mm_struct fields that name the heap and the stack in /proc maps.
/// Linux: mm->start_brk, mm->brk, mm->start_stack
public struct MapsContext: Equatable, Sendable {
    public var startBrk: VirtAddr
    public var brk: VirtAddr
    public var startStack: VirtAddr

    public init(startBrk: VirtAddr, brk: VirtAddr, startStack: VirtAddr) {
        self.startBrk = startBrk
        self.brk = brk
        self.startStack = startStack
    }
}

/// Column where a region's name starts: Linux seq_setwidth(m, 25 + sizeof(void *) * 6 - 1)
/// pads to 72 columns, then seq_pad() adds one more space.
let procMapsNameColumn = 25 + 8 * 6 - 1 + 1

extension VMATree {
    /// Writes every region, lowest first. Linux: show_map() for each VMA (fs/proc/task_mmu.c)
    public func writeProcMaps<Sink: TextSink, Files: MappedFileLookup>(
        context: MapsContext, files: Files, to out: inout Sink
    ) {
        for vma in self { vma.writeProcMapsLine(context: context, files: files, to: &out) }
    }
}

extension VMA {
    /// Writes this region's maps line. Linux: show_map_vma() + show_vma_header_prefix()
    public func writeProcMapsLine<Sink: TextSink, Files: MappedFileLookup>(
        context: MapsContext, files: Files, to out: inout Sink
    ) {
        var file: MappedFileInfo? = nil
        var offset: UInt64 = 0
        if case let .file(id, pageOffset) = backing {
            file = files.mappedFileInfo(id)
            offset = pageOffset << pageShift
        }
        var line = Fmt.hex(start.value, digits: 8) + "-" + Fmt.hex(end.value, digits: 8) + " "
        line += flags.contains(.read) ? "r" : "-"
        line += flags.contains(.write) ? "w" : "-"
        line += flags.contains(.exec) ? "x" : "-"
        line += flags.contains(.mayShare) ? "s" : "p"
        line += " " + Fmt.hex(offset, digits: 8)
        line += " " + Fmt.hex(file?.deviceMajor ?? 0, digits: 2) + ":" + Fmt.hex(file?.deviceMinor ?? 0, digits: 2)
        line += " " + Fmt.dec(file?.inode ?? 0) + " "
        if let name = procMapsName(file: file, context: context) {
            line = Fmt.padRight(line, procMapsNameColumn) + name
        }
        out.write(line)
        out.write("\n")
    }

    /// The file path, "[heap]" for a region touching [start_brk, brk], "[stack]" for the
    /// one holding start_stack, else nil. Linux: the name choice in show_map_vma()
    func procMapsName(file: MappedFileInfo?, context: MapsContext) -> String? {
        if let file { return escapedNewlines(file.path) }
        if start <= context.brk && end >= context.startBrk { return "[heap]" }
        if start <= context.startStack && end >= context.startStack { return "[stack]" }
        return nil
    }
}

/// A path with each newline written as "\012", so one region stays one line.
/// Linux: seq_file_path(m, file, "\n") → mangle_path()
func escapedNewlines(_ path: String) -> String {
    guard path.utf8.contains(10) else { return path }
    var out = ""
    for scalar in path.unicodeScalars {
        if scalar == "\n" { out += "\\012" } else { out.unicodeScalars.append(scalar) }
    }
    return out
}
