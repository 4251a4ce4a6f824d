// /sys: a small fixed tree for now: tracefs's mount point, /sys/kernel/tracing,
// as on Linux, and the CPUs under devices/system/cpu (a directory per CPU, and
// the online, possible and present lists), where programs count them
// (glibc's get_nprocs_conf, stress-ng), and the NUMA nodes under
// devices/system/node (Kernel/FS/NodeSysfs.swift). More directories are added
// to `makeTree`.
// Linux: fs/sysfs (kernfs), kernel/ksysfs.c (kernel_kobj), tracefs's
// automount on /sys/kernel/tracing, drivers/base/cpu.c

enum SysFS {
    /// One sysfs for the whole system: every mount of it shows the same tree.
    static let superBlock = SuperBlock(device: FS.anonymousDevice(), isReadOnly: false, typeName: "sysfs",
                                       magic: FileSystemMagic.sysfs, hasFixedAttributes: true)
    static let root = makeTree()
    /// Where tracefs is mounted at boot.
    static let tracingPath = "/sys/kernel/tracing"

    /// What mount(2) of "sysfs" mounts; `path` and `covered` are filled in by the caller.
    static var mount: Mount { Mount(source: "sysfs", path: "", covered: nil, root: root, options: "") }

    static func directory(_ children: [(String, Inode)]) -> Inode {
        superBlock.makeInode(.directory(FixedTree(children)), permissions: 0o755)
    }

    /// A read-only attribute file printing what `show` returns, anew at
    /// every read. Linux: a sysfs attribute's show()
    static func attribute(_ show: @escaping () -> String) -> Inode {
        superBlock.makeInode(.generated(PrintedFile { (window: inout TextWindow) throws(Errno) in window.write(show()) }),
                             permissions: 0o444)
    }

    /// The tree: kernel/tracing (empty: tracefs covers it), and
    /// devices/system/cpu and node. Made at the first mount, after every CPU is up;
    /// Keel has no CPU hotplug, so all are online and present for good.
    private static func makeTree() -> Inode {
        let cpus = Scheduler.cpuCount
        let list = cpus == 1 ? "0\n" : "0-\(cpus - 1)\n"     // Linux: cpumap_print_list
        var cpu: [(String, Inode)] = [("online", attribute { list }), ("possible", attribute { list }),
                                      ("present", attribute { list })]
        // Each CPU's directory links to its node's. Linux: register_cpu_under_node()
        for n in 0..<cpus {
            let node = "node\(NUMA.node(ofCPU: n))"
            cpu.append(("cpu\(n)", directory([(node, superBlock.makeInode(.symlink("../../node/" + node), permissions: 0o777))])))
        }
        return directory([
            ("devices", directory([
                ("system", directory([
                    ("cpu", directory(cpu)),
                    ("node", nodeDirectory()),
                ])),
            ])),
            ("kernel", directory([
                ("tracing", directory([])),
            ])),
        ])
    }
}
