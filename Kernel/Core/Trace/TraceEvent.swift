// The events Keel can trace, described the way Linux's tracefs shows them: a
// system and a name, an id, the fields of the entry each record carries (after
// the common header: common_type, common_flags, common_preempt_count,
// common_pid) with their offsets, sizes and signedness, and the print format.
// From one description come the `format` file, `available_events`, and each
// record's line in `trace` and `trace_pipe`, printed as Linux prints it.
// The field layouts and print formats are Linux's (include/trace/events/
// exceptions.h, kmem.h, sched.h, syscalls.h), copied from a Linux 6.x tracefs;
// keel:fault_resolved is Keel's own. Ids are Keel's (Linux numbers them as it
// registers them).
// Linux: kernel/trace/trace_events.c (f_show, t_show), trace_output.c
// (trace_print_context, print_trace_fmt), trace.c (print_trace_header)

/// One field of an event's entry. Linux: struct ftrace_event_field
public struct TraceField {
    /// The C declaration, as the format file shows it ("unsigned long address").
    public let declaration: String
    public let offset: Int
    public let size: Int
    public let isSigned: Bool

    public init(_ declaration: String, _ offset: Int, _ size: Int, signed: Bool = false) {
        self.declaration = declaration
        self.offset = offset
        self.size = size
        self.isSigned = signed
    }
}

/// Each traceable event. Linux: a TRACE_EVENT() each
public enum TraceEvent: Int, CaseIterable, Sendable {
    case pageFaultUser, pageFaultKernel
    case mmPageAlloc, mmPageFree, kmalloc, kfree
    case schedSwitch, schedWakeup, schedMigrateTask
    case sysEnter, sysExit
    case faultResolved
    /// trace_marker's lines (ftrace:print): always recorded, never enabled or listed.
    case marker

    /// The events a user can enable, in available_events order.
    public static let enableable: [TraceEvent] = allCases.filter { $0 != .marker }

    /// The bit of the enable mask (`Trace.enabledMask` in the kernel).
    @inline(__always) public var bit: UInt32 { 1 << UInt32(rawValue) }

    public var system: String {
        switch self {
        case .pageFaultUser, .pageFaultKernel: "exceptions"
        case .mmPageAlloc, .mmPageFree, .kmalloc, .kfree: "kmem"
        case .schedSwitch, .schedWakeup, .schedMigrateTask: "sched"
        case .sysEnter, .sysExit: "raw_syscalls"
        case .faultResolved: "keel"
        case .marker: "ftrace"
        }
    }

    public var name: String {
        switch self {
        case .pageFaultUser: "page_fault_user"
        case .pageFaultKernel: "page_fault_kernel"
        case .mmPageAlloc: "mm_page_alloc"
        case .mmPageFree: "mm_page_free"
        case .kmalloc: "kmalloc"
        case .kfree: "kfree"
        case .schedSwitch: "sched_switch"
        case .schedWakeup: "sched_wakeup"
        case .schedMigrateTask: "sched_migrate_task"
        case .sysEnter: "sys_enter"
        case .sysExit: "sys_exit"
        case .faultResolved: "fault_resolved"
        case .marker: "print"
        }
    }

    /// Linux: trace_event_call.event.type (ftrace:print is 5 there too)
    public var id: Int { self == .marker ? 5 : 100 + rawValue }

    public static func withID(_ id: Int) -> TraceEvent? {
        id == 5 ? .marker : TraceEvent(rawValue: id - 100)
    }

    /// The fields after the common header. Linux: the TP_STRUCT__entry of each event
    public var fields: [TraceField] {
        switch self {
        case .pageFaultUser, .pageFaultKernel:
            [TraceField("unsigned long address", 8, 8), TraceField("unsigned long ip", 16, 8),
             TraceField("unsigned long error_code", 24, 8)]
        case .faultResolved:
            [TraceField("unsigned long address", 8, 8), TraceField("unsigned long ip", 16, 8),
             TraceField("unsigned long error_code", 24, 8), TraceField("unsigned int how", 32, 4)]
        case .mmPageAlloc:
            [TraceField("unsigned long pfn", 8, 8), TraceField("unsigned int order", 16, 4),
             TraceField("unsigned long gfp_flags", 24, 8), TraceField("int migratetype", 32, 4, signed: true)]
        case .mmPageFree:
            [TraceField("unsigned long pfn", 8, 8), TraceField("unsigned int order", 16, 4)]
        case .kmalloc:
            [TraceField("unsigned long call_site", 8, 8), TraceField("const void * ptr", 16, 8),
             TraceField("size_t bytes_req", 24, 8), TraceField("size_t bytes_alloc", 32, 8),
             TraceField("unsigned long gfp_flags", 40, 8), TraceField("int node", 48, 4, signed: true)]
        case .kfree:
            [TraceField("unsigned long call_site", 8, 8), TraceField("const void * ptr", 16, 8)]
        case .schedSwitch:
            [TraceField("char prev_comm[16]", 8, 16), TraceField("pid_t prev_pid", 24, 4, signed: true),
             TraceField("int prev_prio", 28, 4, signed: true), TraceField("long prev_state", 32, 8, signed: true),
             TraceField("char next_comm[16]", 40, 16), TraceField("pid_t next_pid", 56, 4, signed: true),
             TraceField("int next_prio", 60, 4, signed: true)]
        case .schedWakeup:
            [TraceField("char comm[16]", 8, 16), TraceField("pid_t pid", 24, 4, signed: true),
             TraceField("int prio", 28, 4, signed: true), TraceField("int target_cpu", 32, 4, signed: true)]
        case .schedMigrateTask:
            [TraceField("__data_loc char[] comm", 8, 4), TraceField("pid_t pid", 12, 4, signed: true),
             TraceField("int prio", 16, 4, signed: true), TraceField("int orig_cpu", 20, 4, signed: true),
             TraceField("int dest_cpu", 24, 4, signed: true)]
        case .sysEnter:
            [TraceField("long id", 8, 8, signed: true), TraceField("unsigned long args[6]", 16, 48)]
        case .sysExit:
            [TraceField("long id", 8, 8, signed: true), TraceField("long ret", 16, 8, signed: true)]
        case .marker:
            [TraceField("unsigned long ip", 8, 8), TraceField("char buf[]", 16, 0)]
        }
    }

    /// Bytes of the entry, common header included (a marker's text comes on top).
    public var entryBytes: Int {
        switch self {
        case .pageFaultUser, .pageFaultKernel: 32
        case .faultResolved: 40
        case .mmPageAlloc: 40
        case .mmPageFree: 24
        case .kmalloc: 56
        case .kfree: 24
        case .schedSwitch: 64
        case .schedWakeup: 40
        case .schedMigrateTask: 28 + 16     // the comm's bytes follow the fixed fields
        case .sysEnter: 64
        case .sysExit: 24
        case .marker: 16
        }
    }

    /// Longest text one trace_marker write records; the rest is cut (Linux: TRACE_MARKER_MAX_SIZE is larger).
    public static let markerMaxBytes = 1024

    /// The text after "print fmt: ". Linux: trace_event_call.print_fmt
    public var printFormat: String {
        switch self {
        case .pageFaultUser, .pageFaultKernel: Self.pageFaultUserFmt
        case .mmPageAlloc: Self.mmPageAllocFmt
        case .mmPageFree: Self.mmPageFreeFmt
        case .kmalloc: Self.kmallocFmt
        case .kfree: Self.kfreeFmt
        case .schedSwitch: Self.schedSwitchFmt
        case .schedWakeup: Self.schedWakeupFmt
        case .schedMigrateTask: Self.schedMigrateTaskFmt
        case .sysEnter: Self.sysEnterFmt
        case .sysExit: Self.sysExitFmt
        case .faultResolved:
            #""address=0x%lx ip=0x%lx error_code=0x%lx how=%s", REC->address, REC->ip, REC->error_code, "#
                + "__print_symbolic(REC->how, " + FaultHow.allCases.map { "{ \($0.rawValue), \"\($0.name)\" }" }.joined(separator: ", ") + ")"
        case .marker: #""%ps: %s", (void *)REC->ip, REC->buf"#
        }
    }

    /// The `format` file. Linux: f_show()
    public var formatText: String {
        var text = "name: " + name + "\nID: " + String(id) + "\nformat:\n"
        let common = [TraceField("unsigned short common_type", 0, 2), TraceField("unsigned char common_flags", 2, 1),
                      TraceField("unsigned char common_preempt_count", 3, 1), TraceField("int common_pid", 4, 4, signed: true)]
        for field in common { text += Self.fieldLine(field) }
        text += "\n"
        for field in fields { text += Self.fieldLine(field) }
        text += "\nprint fmt: " + printFormat + "\n"
        return text
    }

    private static func fieldLine(_ field: TraceField) -> String {
        "\tfield:" + field.declaration + ";\toffset:" + String(field.offset) + ";\tsize:" + String(field.size)
            + ";\tsigned:" + (field.isSigned ? "1" : "0") + ";\n"
    }

    // MARK: Linux's print formats, as a Linux 6.x tracefs shows them

    /// The gfp_flags printer of kmem events, as Linux's format files spell it out.
    static let gfpFlagsFmt = #"(REC->gfp_flags) ? __print_flags(REC->gfp_flags, "|", {( unsigned long)(((((((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6))) | (( gfp_t)((((1UL))) << (7))) | (( gfp_t)((((1UL))) << (20)))) | (( gfp_t)((((1UL))) << (1)))) | (( gfp_t)((((1UL))) << (3))) | (( gfp_t)0)) | (( gfp_t)((((1UL))) << (18))) | (( gfp_t)((((1UL))) << (19))) | (( gfp_t)((((1UL))) << (13)))) & ~(( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11))))) | (( gfp_t)((((1UL))) << (10)))), "GFP_TRANSHUGE"}, {( unsigned long)((((((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6))) | (( gfp_t)((((1UL))) << (7))) | (( gfp_t)((((1UL))) << (20)))) | (( gfp_t)((((1UL))) << (1)))) | (( gfp_t)((((1UL))) << (3))) | (( gfp_t)0)) | (( gfp_t)((((1UL))) << (18))) | (( gfp_t)((((1UL))) << (19))) | (( gfp_t)((((1UL))) << (13)))) & ~(( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11))))), "GFP_TRANSHUGE_LIGHT"}, {( unsigned long)((((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6))) | (( gfp_t)((((1UL))) << (7))) | (( gfp_t)((((1UL))) << (20)))) | (( gfp_t)((((1UL))) << (1)))) | (( gfp_t)((((1UL))) << (3))) | (( gfp_t)0)), "GFP_HIGHUSER_MOVABLE"}, {( unsigned long)(((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6))) | (( gfp_t)((((1UL))) << (7))) | (( gfp_t)((((1UL))) << (20)))) | (( gfp_t)((((1UL))) << (1)))), "GFP_HIGHUSER"}, {( unsigned long)((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6))) | (( gfp_t)((((1UL))) << (7))) | (( gfp_t)((((1UL))) << (20)))), "GFP_USER"}, {( unsigned long)(((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6))) | (( gfp_t)((((1UL))) << (7)))) | (( gfp_t)((((1UL))) << (22)))), "GFP_KERNEL_ACCOUNT"}, {( unsigned long)((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6))) | (( gfp_t)((((1UL))) << (7)))), "GFP_KERNEL"}, {( unsigned long)((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))) | (( gfp_t)((((1UL))) << (6)))), "GFP_NOFS"}, {( unsigned long)((( gfp_t)((((1UL))) << (5)))|(( gfp_t)((((1UL))) << (11)))), "GFP_ATOMIC"}, {( unsigned long)((( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11))))), "GFP_NOIO"}, {( unsigned long)((( gfp_t)((((1UL))) << (11))) | (( gfp_t)((((1UL))) << (13)))), "GFP_NOWAIT"}, {( unsigned long)(( gfp_t)((((1UL))) << (0))), "GFP_DMA"}, {( unsigned long)(( gfp_t)((((1UL))) << (2))), "GFP_DMA32"}, {( unsigned long)(( gfp_t)(((((1UL))) << (10))|((((1UL))) << (11)))), "__GFP_RECLAIM"}, {( unsigned long)(( gfp_t)((((1UL))) << (0))), "__GFP_DMA"}, {( unsigned long)(( gfp_t)((((1UL))) << (1))), "__GFP_HIGHMEM"}, {( unsigned long)(( gfp_t)((((1UL))) << (2))), "__GFP_DMA32"}, {( unsigned long)(( gfp_t)((((1UL))) << (3))), "__GFP_MOVABLE"}, {( unsigned long)(( gfp_t)((((1UL))) << (4))), "__GFP_RECLAIMABLE"}, {( unsigned long)(( gfp_t)((((1UL))) << (5))), "__GFP_HIGH"}, {( unsigned long)(( gfp_t)((((1UL))) << (6))), "__GFP_IO"}, {( unsigned long)(( gfp_t)((((1UL))) << (7))), "__GFP_FS"}, {( unsigned long)(( gfp_t)((((1UL))) << (8))), "__GFP_ZERO"}, {( unsigned long)(( gfp_t)((((1UL))) << (10))), "__GFP_DIRECT_RECLAIM"}, {( unsigned long)(( gfp_t)((((1UL))) << (11))), "__GFP_KSWAPD_RECLAIM"}, {( unsigned long)(( gfp_t)((((1UL))) << (12))), "__GFP_WRITE"}, {( unsigned long)(( gfp_t)((((1UL))) << (13))), "__GFP_NOWARN"}, {( unsigned long)(( gfp_t)((((1UL))) << (14))), "__GFP_RETRY_MAYFAIL"}, {( unsigned long)(( gfp_t)((((1UL))) << (15))), "__GFP_NOFAIL"}, {( unsigned long)(( gfp_t)((((1UL))) << (16))), "__GFP_NORETRY"}, {( unsigned long)(( gfp_t)((((1UL))) << (17))), "__GFP_MEMALLOC"}, {( unsigned long)(( gfp_t)((((1UL))) << (18))), "__GFP_COMP"}, {( unsigned long)(( gfp_t)((((1UL))) << (19))), "__GFP_NOMEMALLOC"}, {( unsigned long)(( gfp_t)((((1UL))) << (20))), "__GFP_HARDWALL"}, {( unsigned long)(( gfp_t)((((1UL))) << (21))), "__GFP_THISNODE"}, {( unsigned long)(( gfp_t)((((1UL))) << (22))), "__GFP_ACCOUNT"}, {( unsigned long)(( gfp_t)((((1UL))) << (23))), "__GFP_ZEROTAGS"}, {( unsigned long)(( gfp_t)((((1UL))) << (24))), "__GFP_NO_OBJ_EXT"}, { 0, ((void *)0) } ) : "none""#
    static let pageFaultUserFmt = #""address=%ps ip=%ps error_code=0x%lx", (void *)REC->address, (void *)REC->ip, REC->error_code"#
    static let mmPageAllocFmt = #""page=%p pfn=0x%lx order=%d migratetype=%d gfp_flags=%s", REC->pfn != -1UL ? (((struct page *)vmemmap_base) + (REC->pfn)) : ((void *)0), REC->pfn != -1UL ? REC->pfn : 0, REC->order, REC->migratetype, "# + gfpFlagsFmt + #""#
    static let mmPageFreeFmt = #""page=%p pfn=0x%lx order=%d", (((struct page *)vmemmap_base) + (REC->pfn)), REC->pfn, REC->order"#
    static let kmallocFmt = #""call_site=%pS ptr=%p bytes_req=%zu bytes_alloc=%zu gfp_flags=%s node=%d accounted=%s", (void *)REC->call_site, REC->ptr, REC->bytes_req, REC->bytes_alloc, "# + gfpFlagsFmt + #", REC->node, (1 && (REC->gfp_flags & ( unsigned long)(( gfp_t)((((1UL))) << (22))))) ? "true" : "false""#
    static let kfreeFmt = #""call_site=%pS ptr=%p", (void *)REC->call_site, REC->ptr"#
    static let schedSwitchFmt = #""prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1), "|", { 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" }, { 0x00000008, "t" }, { 0x00000010, "X" }, { 0x00000020, "Z" }, { 0x00000040, "P" }, { 0x00000080, "I" }) : "R", REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio"#
    static let schedWakeupFmt = #""comm=%s pid=%d prio=%d target_cpu=%03d", REC->comm, REC->pid, REC->prio, REC->target_cpu"#
    static let schedMigrateTaskFmt = #""comm=%s pid=%d prio=%d orig_cpu=%d dest_cpu=%d", __get_str(comm), REC->pid, REC->prio, REC->orig_cpu, REC->dest_cpu"#
    static let sysEnterFmt = #""NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)", REC->id, REC->args[0], REC->args[1], REC->args[2], REC->args[3], REC->args[4], REC->args[5]"#
    static let sysExitFmt = #""NR %ld = %ld", REC->id, REC->ret"#
}

/// How a user page fault was resolved: keel:fault_resolved's `how`.
/// Linux has no such event; the kinds are Keel's fault paths (Kernel/Memory/PageFault.swift).
public enum FaultHow: UInt32, CaseIterable, Sendable {
    case zeroPage = 0, zeroFill, cowCopy, cowReuse, fileRead, shmem, stackGrowth, spurious, sigsegv
    /// A file page found in the page cache (fileRead: read from the disk for the fault).
    case pageCache
    /// A file page wholly past the end of the file.
    case sigbus
    /// A page brought back from swap (swapCache: found in the swap cache, not read).
    case swapIn, swapCache
    /// A page being migrated: waited for.
    case migrationWait

    public var name: String {
        switch self {
        case .zeroPage: "zero_page"
        case .zeroFill: "zero_fill"
        case .cowCopy: "cow_copy"
        case .cowReuse: "cow_reuse"
        case .fileRead: "file_read"
        case .shmem: "shmem"
        case .stackGrowth: "stack_growth"
        case .spurious: "spurious"
        case .sigsegv: "sigsegv"
        case .pageCache: "page_cache"
        case .sigbus: "sigbus"
        case .swapIn: "swap_in"
        case .swapCache: "swap_cache"
        case .migrationWait: "migration_wait"
        }
    }
}

extension FaultHow {
    /// The kind of a fault classified as `action` (a shared object's page is
    /// `shmem`, which the handler sets itself, as it does `stackGrowth`).
    public init(_ action: FaultAction) {
        switch action {
        case .zeroFillAnonymous: self = .zeroFill
        case .mapZeroPage: self = .zeroPage
        case .readFilePage, .copyFilePage, .writeSharedFilePage: self = .fileRead
        case .copyOnWrite: self = .cowCopy
        case .reuseOnWrite: self = .cowReuse
        case .growStack: self = .stackGrowth
        case .spurious: self = .spurious
        case .segv: self = .sigsegv
        case .swapIn: self = .swapIn
        case .migrationWait: self = .migrationWait
        }
    }
}

/// Linux's common_flags bits. Linux: enum trace_flag_type
public enum TraceFlags {
    public static let irqsOff: UInt8 = 0x01
    public static let needResched: UInt8 = 0x04
    public static let hardirq: UInt8 = 0x08
    public static let softirq: UInt8 = 0x10
    public static let preemptResched: UInt8 = 0x20
    public static let nmi: UInt8 = 0x40
    public static let bhOff: UInt8 = 0x80

    /// The five columns irqs-off, need-resched, hardirq/softirq, preempt-depth,
    /// migrate-disable. Linux: trace_print_lat_fmt()
    public static func text(_ flags: UInt8, preemptCount: UInt8) -> String {
        var s = ""
        s += flags & irqsOff != 0 && flags & bhOff != 0 ? "D" : flags & irqsOff != 0 ? "d" : flags & bhOff != 0 ? "b" : "."
        switch flags & (needResched | preemptResched) {
        case needResched | preemptResched: s += "N"
        case needResched: s += "n"
        case preemptResched: s += "p"
        default: s += "."
        }
        let nmiHard = flags & nmi != 0 && flags & hardirq != 0
        s += nmiHard ? "Z" : flags & nmi != 0 ? "z" : flags & hardirq != 0 && flags & softirq != 0 ? "H"
            : flags & hardirq != 0 ? "h" : flags & softirq != 0 ? "s" : "."
        let depth = preemptCount & 0xf, migrate = preemptCount >> 4
        s += depth == 0 ? "." : Fmt.hex(depth)
        s += migrate == 0 ? "." : Fmt.hex(migrate)
        return s
    }
}

/// Linux's gfp bits and the names __print_flags gives them, first match
/// first (composites before single bits). Linux: show_gfp_flags() (include/trace/events/mmflags.h)
public enum LinuxGFP {
    public static let dma: UInt64 = 0x01, dma32: UInt64 = 0x04
    public static let io: UInt64 = 0x40, fs: UInt64 = 0x80, zero: UInt64 = 0x100
    public static let directReclaim: UInt64 = 0x400, kswapdReclaim: UInt64 = 0x800
    public static let memalloc: UInt64 = 0x20000
    /// Linux: GFP_KERNEL
    public static let kernel: UInt64 = directReclaim | kswapdReclaim | io | fs

    static let names: [(UInt64, String)] = [
        (0x1c24ca, "GFP_TRANSHUGE"), (0x1c20ca, "GFP_TRANSHUGE_LIGHT"), (0x100cca, "GFP_HIGHUSER_MOVABLE"),
        (0x100cc2, "GFP_HIGHUSER"), (0x100cc0, "GFP_USER"), (0x400cc0, "GFP_KERNEL_ACCOUNT"), (0xcc0, "GFP_KERNEL"),
        (0xc40, "GFP_NOFS"), (0x820, "GFP_ATOMIC"), (0xc00, "GFP_NOIO"), (0x2800, "GFP_NOWAIT"), (0x1, "GFP_DMA"),
        (0x4, "GFP_DMA32"), (0xc00, "__GFP_RECLAIM"), (0x1, "__GFP_DMA"), (0x2, "__GFP_HIGHMEM"), (0x4, "__GFP_DMA32"),
        (0x8, "__GFP_MOVABLE"), (0x10, "__GFP_RECLAIMABLE"), (0x20, "__GFP_HIGH"), (0x40, "__GFP_IO"), (0x80, "__GFP_FS"),
        (0x100, "__GFP_ZERO"), (0x400, "__GFP_DIRECT_RECLAIM"), (0x800, "__GFP_KSWAPD_RECLAIM"), (0x1000, "__GFP_WRITE"),
        (0x2000, "__GFP_NOWARN"), (0x4000, "__GFP_RETRY_MAYFAIL"), (0x8000, "__GFP_NOFAIL"), (0x10000, "__GFP_NORETRY"),
        (0x20000, "__GFP_MEMALLOC"), (0x40000, "__GFP_COMP"), (0x80000, "__GFP_NOMEMALLOC"), (0x100000, "__GFP_HARDWALL"),
        (0x200000, "__GFP_THISNODE"), (0x400000, "__GFP_ACCOUNT"), (0x800000, "__GFP_ZEROTAGS"), (0x1000000, "__GFP_NO_OBJ_EXT"),
    ]

    /// Linux: __print_flags(gfp_flags, "|", ...) or "none"
    public static func text(_ flags: UInt64) -> String {
        guard flags != 0 else { return "none" }
        var left = flags, parts: [String] = []
        for (mask, name) in names where left & mask == mask && left != 0 {
            parts.append(name)
            left &= ~mask
        }
        if left != 0 { parts.append("0x" + Fmt.hex(left)) }
        return parts.joined(separator: "|")
    }
}

/// What printing a record needs from the kernel: kernel symbols for %ps/%pS,
/// and where a frame's struct page is for mm_page_alloc's page=%p.
public struct TracePrintContext {
    public var symbol: (UInt64) -> SymbolLocation?
    public var pageAddress: (UInt64) -> UInt64

    public init(symbol: @escaping (UInt64) -> SymbolLocation?, pageAddress: @escaping (UInt64) -> UInt64) {
        self.symbol = symbol
        self.pageAddress = pageAddress
    }
}

/// The text of `trace` and `trace_pipe`. Linux: kernel/trace/trace_output.c
public enum TracePrinter {
    /// `trace`'s header. Linux: print_trace_header() → print_event_info() (tracer nop)
    public static func header(entries: Int, written: Int, cpus: Int) -> String {
        "# tracer: nop\n#\n# entries-in-buffer/entries-written: " + String(entries) + "/" + String(written)
            + "   #P:" + String(cpus) + "\n#\n"
            + "#                                _-----=> irqs-off/BH-disabled\n"
            + "#                               / _----=> need-resched\n"
            + "#                              | / _---=> hardirq/softirq\n"
            + "#                              || / _--=> preempt-depth\n"
            + "#                              ||| / _-=> migrate-disable\n"
            + "#                              |||| /     delay\n"
            + "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
            + "#              | |         |   |||||     |         |\n"
    }

    /// One record's line, newline included.
    /// Linux: print_trace_line() → print_trace_fmt() (trace_print_context + the event's output)
    public static func line(_ record: TraceRecord, _ context: TracePrintContext) -> String {
        let pid = record.pid
        let comm = pid == 0 ? "<idle>" : record.comm
        let ns = record.timestamp
        var s = Fmt.pad(comm, 16) + "-" + Fmt.padRight(String(pid), 7) + " [" + threeDigits(record.cpu) + "] "
        s += TraceFlags.text(record.flags, preemptCount: record.preemptCount) + " "
        s += Fmt.pad(String(ns / 1_000_000_000), 5) + "." + zeroPad(ns / 1000 % 1_000_000, 6) + ": "
        guard let event = TraceEvent.withID(Int(record.type)) else {
            return s + "Unknown type " + String(record.type) + "\n"
        }
        if event == .marker {
            var text = record.string(entryOffset: 16, maxBytes: TraceEvent.markerMaxBytes)
            if !text.hasSuffix("\n") { text += "\n" }
            return s + "tracing_mark_write: " + text
        }
        return s + event.name + ": " + body(event, record, context) + "\n"
    }

    /// The event's own part of the line, after "name: ". Linux: the TP_printk() of each event
    public static func body(_ event: TraceEvent, _ r: TraceRecord, _ context: TracePrintContext) -> String {
        func u64(_ offset: Int) -> UInt64 { r.field(UInt64.self, offset) }
        func i64(_ offset: Int) -> Int64 { r.field(Int64.self, offset) }
        func i32(_ offset: Int) -> Int32 { r.field(Int32.self, offset) }
        func ps(_ address: UInt64) -> String {
            guard let location = context.symbol(address) else { return "0x" + Fmt.hex(address) }
            return location.name
        }
        func pS(_ address: UInt64) -> String {
            guard let location = context.symbol(address) else { return "0x" + Fmt.hex(address) }
            return location.description
        }
        func pointer(_ value: UInt64) -> String { Fmt.hex(value, digits: 16) }
        switch event {
        case .pageFaultUser, .pageFaultKernel:
            return "address=" + ps(u64(8)) + " ip=" + ps(u64(16)) + " error_code=0x" + Fmt.hex(u64(24))
        case .faultResolved:
            let how = FaultHow(rawValue: r.field(UInt32.self, 32))?.name ?? "0x" + Fmt.hex(r.field(UInt32.self, 32))
            return "address=0x" + Fmt.hex(u64(8)) + " ip=0x" + Fmt.hex(u64(16)) + " error_code=0x" + Fmt.hex(u64(24))
                + " how=" + how
        case .mmPageAlloc:
            let pfn = u64(8), failed = pfn == UInt64.max
            return "page=" + pointer(failed ? 0 : context.pageAddress(pfn)) + " pfn=0x" + Fmt.hex(failed ? 0 : pfn)
                + " order=" + String(r.field(UInt32.self, 16)) + " migratetype=" + String(i32(32))
                + " gfp_flags=" + LinuxGFP.text(u64(24))
        case .mmPageFree:
            let pfn = u64(8)
            return "page=" + pointer(context.pageAddress(pfn)) + " pfn=0x" + Fmt.hex(pfn) + " order=" + String(r.field(UInt32.self, 16))
        case .kmalloc:
            let gfp = u64(40)
            return "call_site=" + pS(u64(8)) + " ptr=" + pointer(u64(16)) + " bytes_req=" + String(u64(24))
                + " bytes_alloc=" + String(u64(32)) + " gfp_flags=" + LinuxGFP.text(gfp) + " node=" + String(i32(48))
                + " accounted=" + (gfp & 0x400000 != 0 ? "true" : "false")
        case .kfree:
            return "call_site=" + pS(u64(8)) + " ptr=" + pointer(u64(16))
        case .schedSwitch:
            return "prev_comm=" + r.string(entryOffset: 8, maxBytes: 16) + " prev_pid=" + String(i32(24))
                + " prev_prio=" + String(i32(28)) + " prev_state=" + taskState(i64(32))
                + " ==> next_comm=" + r.string(entryOffset: 40, maxBytes: 16) + " next_pid=" + String(i32(56))
                + " next_prio=" + String(i32(60))
        case .schedWakeup:
            return "comm=" + r.string(entryOffset: 8, maxBytes: 16) + " pid=" + String(i32(24)) + " prio=" + String(i32(28))
                + " target_cpu=" + threeDigits(Int(i32(32)))
        case .schedMigrateTask:
            let location = r.field(UInt32.self, 8)
            let comm = r.string(entryOffset: Int(location & 0xffff), maxBytes: Int(location >> 16))
            return "comm=" + comm + " pid=" + String(i32(12)) + " prio=" + String(i32(16))
                + " orig_cpu=" + String(i32(20)) + " dest_cpu=" + String(i32(24))
        case .sysEnter:
            var s = "NR " + String(i64(8)) + " ("
            for i in 0..<6 { s += (i == 0 ? "" : ", ") + Fmt.hex(u64(16 + 8 * i)) }
            return s + ")"
        case .sysExit:
            return "NR " + String(i64(8)) + " = " + String(i64(16))
        case .marker:
            return r.string(entryOffset: 16, maxBytes: TraceEvent.markerMaxBytes)
        }
    }

    /// Linux's prev_state: S, D, T, t, X, Z, P, I joined by "|", "R" for none,
    /// "+" for a preempted task (bit 0x100). Linux: sched_switch's TP_printk
    public static func taskState(_ state: Int64) -> String {
        let names: [(Int64, String)] = [(0x01, "S"), (0x02, "D"), (0x04, "T"), (0x08, "t"), (0x10, "X"), (0x20, "Z"),
                                        (0x40, "P"), (0x80, "I")]
        let bits = state & 0xff
        var parts: [String] = []
        for (bit, name) in names where bits & bit != 0 { parts.append(name) }
        return (parts.isEmpty ? "R" : parts.joined(separator: "|")) + (state & 0x100 != 0 ? "+" : "")
    }

    private static func threeDigits(_ value: Int) -> String { zeroPad(UInt64(max(value, 0)), 3) }

    private static func zeroPad(_ value: UInt64, _ digits: Int) -> String {
        var s = String(value)
        while s.utf8.count < digits { s = "0" + s }
        return s
    }
}
