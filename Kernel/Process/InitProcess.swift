// Starting user space: PID 1 runs `init=` (default /sbin/init) with the kernel
// command line's leftover arguments and environment, and the console on fds
// 0, 1 and 2. Linux: init/main.c kernel_init() → run_init_process()

enum InitProcess {
    static func start() {
        let cmdline = Boot.commandLine
        let path = cmdline.initPath
        let image: Exec.Image
        do {
            image = try Exec.load(path: path, in: FSContext(), arguments: ExecStrings(kernel: [path] + cmdline.initArguments),
                                  environment: ExecStrings(kernel: cmdline.initEnvironment))
        } catch {
            // Linux panics the same way, after trying its fallbacks.
            let why = switch error { case .error(let errno): errno.name; case .killed: "its loader cannot be mapped" }
            Panic.now("No working init found: cannot execute \(path): \(why). Try passing init= option to kernel.")
        }
        guard Scheduler.reserveEntity(), let pid = Task.allocatePID(), let stack = KernelStacks.allocate() else {
            Panic.now("no memory for init")
        }
        let task = Task(pid: pid, tgid: pid, name: image.name, kernelStack: stack)
        task.mm = image.mm
        task.files = FileTable.console()
        task.threads = [task]
        task.savedSP.pointee = TaskStack.prepareReturnToUser(task, frame: .userEntry(rip: image.entry.value, rsp: image.stackPointer))
        Task.tasklistLock.withLock { Task.registerLocked(task) }
        Scheduler.admit(task, like: Scheduler.defaultEntity)
        Log.info("Run \(path) as init process")
    }
}
