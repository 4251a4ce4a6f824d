// A process's resident pages, split the way Linux's rss_stat splits them: its
// own anonymous memory, page-cache pages of files on a disk, and shmem pages
// (tmpfs, shared anonymous memory, memfd). The kind comes from the page
// descriptor when a PTE is made or removed, so the counters stay right
// whatever path maps the page. /proc/<pid>/status shows them (RssAnon,
// RssFile, RssShmem) and the OOM killer's report prints them.
// Linux: enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES },
// mm_counter(), mm_counter_file() (include/linux/mm.h, mm_types_task.h)

/// Which of an mm's resident counters a mapped page counts in.
public enum RSSCounter: Sendable {
    /// Linux: MM_ANONPAGES
    case anon
    /// Linux: MM_FILEPAGES
    case file
    /// Linux: MM_SHMEMPAGES
    case shmem

    /// The counter of a page with descriptor flags `flags`: anonymous pages
    /// (zero-filled, copied on write, swapped back in) are `.anon`; a page
    /// cache page is shmem when it would go to swap (PG_swapbacked without
    /// PG_anon: tmpfs and shared anonymous memory), a file's otherwise.
    /// Linux: mm_counter() → mm_counter_file()
    @inlinable
    public init(_ flags: PageFlags) {
        if flags.contains(.anon) {
            self = .anon
        } else {
            self = flags.contains(.swapBacked) ? .shmem : .file
        }
    }
}

/// Linux: struct mm_rss_stat (percpu_counter rss_stat[NR_MM_COUNTERS]); Keel's
/// owner changes it under one lock, so plain integers.
public struct RSSStat: Equatable, Sendable {
    public var anon = 0
    public var file = 0
    public var shmem = 0

    @inlinable public init() {}

    public init(anon: Int, file: Int, shmem: Int) {
        self.anon = anon
        self.file = file
        self.shmem = shmem
    }

    /// Resident pages of every kind. Linux: get_mm_rss()
    @inlinable public var total: Int { anon + file + shmem }

    /// `delta` pages more of `counter`. Linux: add_mm_counter()
    @inlinable
    public mutating func add(_ counter: RSSCounter, _ delta: Int) {
        switch counter {
        case .anon: anon &+= delta
        case .file: file &+= delta
        case .shmem: shmem &+= delta
        }
    }
}
