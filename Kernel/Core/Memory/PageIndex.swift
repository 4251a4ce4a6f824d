// Frames by page index: what a file (or a shared anonymous object) holds, so
// that page n of it is found without a search. Most files are small and most
// big ones sparse, so the index is two levels: a hash of chunks, each chunk one
// page's worth (512) of frame slots. A sparse 2^44-byte object costs nothing
// until pages are used. Not locked: its owner's lock protects it.
// Linux: the xarray of an address_space (i_pages)

public struct PageIndex {
    /// Slots per chunk: one 4 KiB page of 8-byte frame addresses.
    public static let chunkEntries = 512
    private var chunks = HashMap<UInt64, UnsafeMutablePointer<PhysAddr>>()
    /// Frames held. Linux: mapping->nrpages
    public private(set) var count = 0

    public init() {}

    public var isEmpty: Bool { count == 0 }

    /// The frame at `index`, nil for a page never filled. Linux: xa_load()
    public subscript(index: UInt64) -> PhysAddr? {
        guard let chunk = chunks[index / UInt64(Self.chunkEntries)] else { return nil }
        let frame = chunk[Int(index % UInt64(Self.chunkEntries))]
        return frame.value == 0 ? nil : frame
    }

    /// Puts `frame` at the empty slot `index`. Linux: xa_store()
    public mutating func insert(_ frame: PhysAddr, at index: UInt64) {
        let key = index / UInt64(Self.chunkEntries)
        let chunk: UnsafeMutablePointer<PhysAddr>
        if let existing = chunks[key] {
            chunk = existing
        } else {
            chunk = UnsafeMutablePointer<PhysAddr>.allocate(capacity: Self.chunkEntries)
            chunk.initialize(repeating: PhysAddr(0), count: Self.chunkEntries)
            _ = chunks.updateValue(chunk, forKey: key)
        }
        let slot = Int(index % UInt64(Self.chunkEntries))
        precondition(chunk[slot].value == 0, "page index slot filled twice")
        chunk[slot] = frame
        count += 1
    }

    /// Takes every frame at `index` or above out of the index, handing each to
    /// `body`; chunks left empty are freed. Linux: truncate_inode_pages_range()
    public mutating func removeAll(from index: UInt64 = 0, _ body: (PhysAddr) -> Void) {
        var emptied: [UInt64] = []
        for (key, chunk) in chunks.keyValuePairs {
            let base = key * UInt64(Self.chunkEntries)
            guard base + UInt64(Self.chunkEntries) > index else { continue }
            let first = index > base ? Int(index - base) : 0
            for slot in first..<Self.chunkEntries where chunk[slot].value != 0 {
                body(chunk[slot])
                chunk[slot] = PhysAddr(0)
                count -= 1
            }
            if first == 0 || (0..<first).allSatisfy({ chunk[$0].value == 0 }) { emptied.append(key) }
        }
        for key in emptied {
            chunks.removeValue(forKey: key)?.deallocate()
        }
    }

    /// Takes the frame at `index` out of the index, if there is one; a chunk
    /// left empty is freed. Linux: xa_erase() (__filemap_remove_folio())
    @discardableResult
    public mutating func remove(at index: UInt64) -> PhysAddr? {
        let key = index / UInt64(Self.chunkEntries)
        guard let chunk = chunks[key] else { return nil }
        let slot = Int(index % UInt64(Self.chunkEntries))
        let frame = chunk[slot]
        guard frame.value != 0 else { return nil }
        chunk[slot] = PhysAddr(0)
        count -= 1
        if (0..<Self.chunkEntries).allSatisfy({ chunk[$0].value == 0 }) {
            chunks.removeValue(forKey: key)?.deallocate()
        }
        return frame
    }

    /// Puts `new` in slot `index` if it holds `old` (a page migrated to another
    /// frame); false, changing nothing, otherwise. Linux: xas_store() in
    /// __folio_migrate_mapping()
    public mutating func replace(at index: UInt64, _ old: PhysAddr, with new: PhysAddr) -> Bool {
        guard old.value != 0, new.value != 0, let chunk = chunks[index / UInt64(Self.chunkEntries)] else { return false }
        let slot = Int(index % UInt64(Self.chunkEntries))
        guard chunk[slot] == old else { return false }
        chunk[slot] = new
        return true
    }

    /// Hands every (index, frame) to `body`, chunk by chunk in no set order,
    /// until `body` returns false. The index must not change meanwhile.
    /// Linux: xa_for_each()
    public func forEach(_ body: (UInt64, PhysAddr) -> Bool) {
        for (key, chunk) in chunks.keyValuePairs {
            let base = key * UInt64(Self.chunkEntries)
            for slot in 0..<Self.chunkEntries where chunk[slot].value != 0 {
                if !body(base + UInt64(slot), chunk[slot]) { return }
            }
        }
    }
}
