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
    /// Writes this region's maps line. Linux: show_map_vma()
    public func writeProcMapsLine<Sink: TextSink, Files: MappedFileLookup>(
        context: MapsContext, files: Files, to out: inout Sink
    ) {
        var file: MappedFileInfo? = nil
        var offset: UInt64 = 0
        if case let .file(id, pageOffset) = backing {
            file = files.mappedFileInfo(id)
            offset = pageOffset << pageShift
        }
        writeMapsLine(start: start, end: end, flags: flags, offset: offset, file: file,
                      name: procMapsName(file: file, context: context), to: &out)
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

/// One maps line: range, permissions, offset, device, inode, then the name (if
/// any) in its column, and the newline. No String is made but the name's: a
/// process may have 65530 regions. Linux: show_vma_header_prefix(), then
/// seq_pad() and the name
func writeMapsLine<Sink: TextSink>(start: VirtAddr, end: VirtAddr, flags: VMFlags, offset: UInt64,
                                   file: MappedFileInfo?, name: String?, to out: inout Sink) {
    // The longest start: two 16-digit addresses, an offset, 8-digit device
    // numbers and a 20-digit inode, with separators: 96 bytes; padded to the
    // name column: no more.
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 96) { storage in
        var line = LineBuffer(storage)
        Fmt.writeHex(start.value, digits: 8, to: &line)
        line.put(UInt8(ascii: "-"))
        Fmt.writeHex(end.value, digits: 8, to: &line)
        line.put(UInt8(ascii: " "))
        line.put(UInt8(ascii: flags.contains(.read) ? "r" : "-"))
        line.put(UInt8(ascii: flags.contains(.write) ? "w" : "-"))
        line.put(UInt8(ascii: flags.contains(.exec) ? "x" : "-"))
        line.put(UInt8(ascii: flags.contains(.mayShare) ? "s" : "p"))
        line.put(UInt8(ascii: " "))
        Fmt.writeHex(offset, digits: 8, to: &line)
        line.put(UInt8(ascii: " "))
        Fmt.writeHex(UInt64(file?.deviceMajor ?? 0), digits: 2, to: &line)
        line.put(UInt8(ascii: ":"))
        Fmt.writeHex(UInt64(file?.deviceMinor ?? 0), digits: 2, to: &line)
        line.put(UInt8(ascii: " "))
        Fmt.writeDec(file?.inode ?? 0, to: &line)
        line.put(UInt8(ascii: " "))
        if let name {
            while line.count < procMapsNameColumn { line.put(UInt8(ascii: " ")) }
            out.write(utf8: line.bytes)
            out.write(name)
        } else {
            out.write(utf8: line.bytes)
        }
    }
    out.write(newline)
}

/// The literals the hot printers write, typed so: a bare literal would pick
/// the String overload of TextSink.write.
let newline: StaticString = "\n"
