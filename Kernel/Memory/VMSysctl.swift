// TEMPORARY (lead's build stand-in until the /proc/sys/vm helper's file merges):
// the write-back tunables with Linux's defaults.
enum VMSysctl {
    static var dirtyExpireCentisecs: Int { 3000 }
    static var dirtyWritebackCentisecs: Int { 500 }
    static var dirtyRatio: Int { 20 }
    static var dirtyBackgroundRatio: Int { 10 }
    static var dirtyBytes: Int { 0 }
    static var dirtyBackgroundBytes: Int { 0 }
}
