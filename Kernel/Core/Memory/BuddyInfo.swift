// /proc/buddyinfo: free blocks per order for each zone, the quickest view of
// external fragmentation. The column layout is Linux's, byte for byte, so
// tools that parse it work unchanged.

extension BuddyAllocator {
    /// Writes one line per populated zone, e.g.
    /// `Node 0, zone   Normal    216    343 ...      1 ` (each count "%6lu ").
    /// Linux: frag_show() → frag_show_print() (mm/vmstat.c)
    public func writeBuddyInfo<Sink: TextSink>(to out: inout Sink) {
        for type in ZoneType.allCases {
            let zone = zones[type.rawValue]
            guard zone.isPopulated else { continue }
            out.write("Node 0, zone ")
            out.write(Fmt.pad(type.name, 8))
            out.write(" ")
            for order in 0...Zone.maxOrder {
                out.write(Fmt.dec(zone.freeBlocks(order: order), width: 6))
                out.write(" ")
            }
            out.write("\n")
        }
    }
}
