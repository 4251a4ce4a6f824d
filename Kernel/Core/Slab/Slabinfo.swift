// /proc/slabinfo in Linux's "slabinfo - version: 2.1" layout (mm/slab_common.c).
// Tunables and shared counts are 0, as SLUB prints them; <active_slabs> counts slabs
// holding live objects, as the original SLAB did. The printer builds Strings, which
// in the kernel come from kmalloc: do not call it with the slab lock held.

extension SlabAllocator {
    /// Linux: slab_show() = print_slabinfo_header() + cache_show() per cache
    public func printSlabinfo<Sink: TextSink>(to sink: inout Sink) {
        sink.write("slabinfo - version: 2.1\n")
        sink.write("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>")
        sink.write(" : tunables <limit> <batchcount> <sharedfactor>")
        sink.write(" : slabdata <active_slabs> <num_slabs> <sharedavail>\n")
        forEachCache { cache in
            let info = cache.info
            // "%-17s %6lu %6lu %6u %4u %4d"
            let name = cache.name.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
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
