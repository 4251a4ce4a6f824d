// devtmpfs: a tmpfs the kernel fills with a node for every device it knows, so
// /dev is right without anyone running mknod. Keel mounts it on /dev at boot
// whatever the root is (the initramfs brings no device nodes of its own; Linux
// leaves that to the initramfs's init). Drivers found later add their nodes
// (`add`); users may make and remove nodes in it like in any tmpfs.
// Linux: drivers/base/devtmpfs.c

enum DevTmpfs {
    nonisolated(unsafe) private static let made: (root: Inode, mount: Mount) = {
        let made = FS.makeTmpfs(source: "devtmpfs", options: "mode=755", typeName: "devtmpfs", permissions: 0o755)
        let nodes: [(String, DeviceNumber, UInt32)] = [
            ("console", .console, 0o600), ("tty", .tty, 0o666),
            ("null", MemoryDevice.nullNumber, 0o666), ("zero", MemoryDevice.zeroNumber, 0o666),
            ("full", MemoryDevice.fullNumber, 0o666), ("random", MemoryDevice.randomNumber, 0o666),
            ("urandom", MemoryDevice.urandomNumber, 0o666),
        ]
        for (name, number, permissions) in nodes {
            make(name, .characterDevice(number), permissions: permissions, in: made.root)
        }
        return made
    }()

    /// What to mount on /dev; `path` and `covered` are filled in by the caller.
    static var mount: Mount { made.mount }

    /// A node for a device a driver found (a disk: "vda"). Linux: devtmpfs_create_node()
    static func add(_ name: String, _ kind: NewInodeKind, permissions: UInt32) {
        FS.lock.lockWrite()
        make(name, kind, permissions: permissions, in: made.root)
        FS.lock.unlockWrite()
    }

    private static func make(_ name: String, _ kind: NewInodeKind, permissions: UInt32, in root: Inode) {
        do throws(Errno) {
            _ = try root.directory?.create(name, kind, permissions: permissions, owner: .root, in: root)
        } catch {
            Log.error("devtmpfs: cannot make /dev/\(name) (\(error.name))")
        }
    }
}
