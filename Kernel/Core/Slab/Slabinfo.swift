// /proc/slabinfo in Linux's "slabinfo - version: 2.1" layout (mm/slab_common.c).
// Tunables and shared counts are 0, as SLUB prints them; <active_slabs> counts slabs
// holding live objects, as the original SLAB did. The printer builds Strings, which
// in the kernel come from kmalloc: the kernel takes the rows under the list lock
// (slabinfoRows, which does not allocate) and prints them after letting go.

/// One cache's line of /proc/slabinfo, as counted at one moment.
public struct SlabinfoRow: Sendable {
    public let name: StaticString
    public let info: SlabCacheInfo
}

extension SlabAllocator {
    /// Linux: slab_show() = print_slabinfo_header() + cache_show() per cache
    public func printSlabinfo<Sink: TextSink>(to sink: inout Sink) {
        var rows: [SlabinfoRow] = []
        forEachCache { rows.append(SlabinfoRow(name: $0.name, info: $0.info)) }
        Self.writeSlabinfo(rows, to: &sink)
    }

    /// The rows of every cache, newest first, into `buffer`, counted under the
    /// list lock and without allocating (the kernel's locks are not recursive,
    /// and kmalloc would take them); returns how many
    /// caches there are, which may exceed what fit.
    public func slabinfoRows(into buffer: UnsafeMutableBufferPointer<SlabinfoRow>) -> Int {
        backend.pointee.lockLists()
        defer { backend.pointee.unlockLists() }
        var count = 0
        forEachCache { cache in
            if count < buffer.count { (buffer.baseAddress! + count).initialize(to: SlabinfoRow(name: cache.name, info: cache.info)) }
            count += 1
        }
        return count
    }

    /// Prints rows taken by `slabinfoRows`. Linux: slab_show()
    public static func writeSlabinfo<Rows: Collection<SlabinfoRow>, Sink: TextSink>(_ rows: Rows, to sink: inout Sink) {
        sink.write("slabinfo - version: 2.1\n")
        sink.write("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>")
        sink.write(" : tunables <limit> <batchcount> <sharedfactor>")
        sink.write(" : slabdata <active_slabs> <num_slabs> <sharedavail>\n")
        for row in rows {
            let info = row.info
            // "%-17s %6lu %6lu %6u %4u %4d"
            let name = row.name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
            sink.write(Fmt.padRight(name, 17) + " " + Fmt.dec(info.activeObjects, width: 6) + " "
                       + Fmt.dec(info.totalObjects, width: 6) + " " + Fmt.dec(info.slotSize, width: 6) + " "
                       + Fmt.dec(info.objectsPerSlab, width: 4) + " " + Fmt.dec(info.pagesPerSlab, width: 4))
            // " : tunables %4u %4u %4u"
            sink.write(" : tunables " + Fmt.dec(0, width: 4) + " " + Fmt.dec(0, width: 4) + " " + Fmt.dec(0, width: 4))
            // " : slabdata %6lu %6lu %6lu"
            sink.write(" : slabdata " + Fmt.dec(info.activeSlabs, width: 6) + " "
                       + Fmt.dec(info.totalSlabs, width: 6) + " " + Fmt.dec(0, width: 6) + "\n")
        }
    }
}
