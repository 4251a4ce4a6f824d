// /sys: a small fixed tree for now, whose one job is to give tracefs its
// mount point, /sys/kernel/tracing, as on Linux. More directories (the NUMA
// nodes under devices/system/node) are added to `makeTree`.
// Linux: fs/sysfs (kernfs), kernel/ksysfs.c (kernel_kobj), tracefs's
// automount on /sys/kernel/tracing

enum SysFS {
    /// One sysfs for the whole system: every mount of it shows the same tree.
    static let superBlock = SuperBlock(device: FS.anonymousDevice(), isReadOnly: false, typeName: "sysfs",
                                       magic: FileSystemMagic.sysfs, hasFixedAttributes: true)
    static let root = makeTree()
    /// Where tracefs is mounted at boot.
    static let tracingPath = "/sys/kernel/tracing"

    /// What mount(2) of "sysfs" mounts; `path` and `covered` are filled in by the caller.
    static var mount: Mount { Mount(source: "sysfs", path: "", covered: nil, root: root, options: "") }

    private static func directory(_ children: [(String, Inode)]) -> Inode {
        superBlock.makeInode(.directory(FixedTree(children)), permissions: 0o755)
    }

    /// The tree: kernel/tracing (empty: tracefs covers it).
    private static func makeTree() -> Inode {
        directory([
            ("kernel", directory([
                ("tracing", directory([])),
            ])),
        ])
    }
}
