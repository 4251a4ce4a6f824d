// One line per SlabError for the console, worded after Linux's slab_err() and
// object_err() reports. Written in pieces (static text and short numbers, which fit
// Swift's inline small strings) because it may run when kmalloc itself is broken.

extension SlabError {
    /// Writes "slab error: <cache>: <what happened>\n". Linux: slab_err() / object_err()
    public func report<Sink: TextSink>(to sink: inout Sink) {
        sink.write("slab error: ")
        switch self {
        case .outOfMemory(let cache):
            sink.write(cache.text)
            sink.write(": out of memory")
        case .invalidCache(let name):
            sink.write(name.text)
            sink.write(": unusable object size or alignment")
        case .invalidRequest(let size, let alignment):
            sink.write("kmalloc: invalid request of ")
            sink.write(Fmt.dec(size))
            sink.write(" bytes aligned to ")
            sink.write(Fmt.dec(alignment))
        case .cacheBusy(let cache, let liveObjects):
            sink.write(cache.text)
            sink.write(": ")
            sink.write(Fmt.dec(liveObjects))
            sink.write(" objects remaining on destroy")
        case .permanentCache(let cache):
            sink.write(cache.text)
            sink.write(": cache cannot be destroyed")
        case .invalidFree(let cache, let object, let reason):
            sink.write(cache.text)
            sink.write(": invalid free of 0x")
            sink.write(Fmt.hex(UInt(bitPattern: object)))
            switch reason {
            case .notSlabMemory: sink.write(": not slab memory")
            case .wrongCache(let owner):
                sink.write(": object belongs to ")
                sink.write(owner.text)
            case .notObjectStart: sink.write(": not the start of an object")
            case .doubleFree: sink.write(": object already free")
            }
        case .corruption(let cache, let object, let check):
            sink.write(cache.text)
            sink.write(": object 0x")
            sink.write(Fmt.hex(UInt(bitPattern: object)))
            switch check {
            case .leftRedZone: sink.write(": Left Redzone overwritten")
            case .rightRedZone: sink.write(": Right Redzone overwritten")
            case .poison: sink.write(": Poison overwritten (use after free)")
            case .freelist: sink.write(": Freepointer corrupt")
            }
        }
        sink.write("\n")
    }
}
