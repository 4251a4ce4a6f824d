// mincore(2)'s answer for one page: is it in memory? A mapped page is (even
// PROT_NONE); an empty PTE of a file mapping is if the file's page is in the
// page cache, of anonymous memory never; a page in a swap slot is if the swap
// cache still holds it; a page being migrated is (it is in memory, moving).
// Linux: mm/mincore.c mincore_pte_range(), __mincore_unmapped_range()

public enum Mincore {
    /// What one PTE says. `fileCached` answers for an empty PTE of a file
    /// mapping (nil for anonymous memory); `swapCached` for a swap entry.
    public static func resident(_ pte: PageTableEntry, fileCached: Bool?, swapCached: (SwapEntry) -> Bool) -> Bool {
        if pte.isPresent || pte.isProtNone { return true }
        if let entry = pte.swapEntry { return entry.isMigration || swapCached(entry) }
        return fileCached ?? false
    }

    /// The vector bytes mincore writes per call to do_mincore: at most one
    /// page of them. Linux: the PAGE_SIZE chunks of sys_mincore()
    public static let chunkPages = Int(pageSize)
}
