// Where Keel's Swift code begins. Linux: init/main.c start_kernel()

@_cdecl("kmain")
func kmain(_ magic: UInt32, _ infoPhys: UInt64) {
    Console.initialize()
    Console.write("Keel 0.1 (x86_64, Embedded Swift)\n")
    CPUFeatures.detect()
    IDT.load()
    Boot.parse(magic: magic, infoPhys: infoPhys)
    reportBoot()
    Log.info(CPUFeatures.summary)
    MemorySetup.run()
    KernelPageTable.build()
    ControlRegisters.enableProtections()
    Slab.initialize(debug: Boot.commandLine.slabDebug)
    GDT.load()
    // From here on the kernel runs on a vmalloc'ed stack with a guard page.
    guard let stack = KernelStacks.allocate() else { Panic.now("no memory for the kernel stack") }
    bootStack = stack
    CPU.run(onStack: stack.top, startKernelOnKernelStack)
}

nonisolated(unsafe) private var bootStack: KernelStack? = nil

/// The rest of start_kernel, on a guarded kernel stack that becomes CPU 0's idle task.
private func startKernelOnKernelStack() {
    guard PerCPU.prepare(cpu: 0) else { Panic.now("no memory for per-CPU data") }
    PerCPU.install(cpu: 0)
    Slab.cpuNumbersReady = true                  // allocations now use this CPU's slot
    NUMA.cpuNumbersReady = true                  // and this CPU's node
    PageAllocator.enablePerCPULists()          // they are found through PerCPU.cpu
    LegacyPIC.disable()
    LocalAPIC.enable()
    LocalAPIC.calibrate()
    SyscallMSR.enable()
    ZeroPage.allocate()
    VMStat.initialize()
    NUMA.enableStats()
    Scheduler.initialize(idle: Task(pid: 0, tgid: 0, name: "swapper/0", kernelStack: bootStack!))
    Lockdep.initialize(enabled: Boot.commandLine.lockdep)
    SMP.startSecondaryCPUs(max: SMP.maxCPUs)
    Trace.initialize(cpus: Scheduler.cpuCount)
    PCI.scan()
    VirtioBlkDevice.probeAll()
    if let hook = Boot.commandLine.testHook {
        TestHooks.run(hook)
        Console.write("keel: boot complete\n")
        PowerOff.now(.normal)
    }
    // The other CPUs are up but idle: nothing else touches the tree yet.
    mountRoot()
    Swap.swaponAtBoot(Boot.commandLine.swapDevices)
    Writeback.start()
    Kswapd.start()
    OOMReaper.start()
    InitProcess.start()
    LocalAPIC.startTimer()
    Scheduler.idleLoop()
}

/// The root file system: a disk (`root=`), or the initramfs, the first
/// multiboot2 module, in a tmpfs. Linux: prepare_namespace(), populate_rootfs()
private func mountRoot() {
    FS.initialize()
    if let device = Boot.commandLine.rootDevice {
        FS.mountDiskRoot(device, readOnly: Boot.commandLine.rootReadOnly)
        Log.notice("initramfs: not unpacked: the root is \(device)")
        return
    }
    var modules = Boot.info.modules.makeIterator()
    guard let module = modules.next() else {
        Panic.now("no initramfs: the boot loader passed no module (make run passes build/initramfs.cpio)")
    }
    let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(DirectMap.pointer(module.start, as: UInt8.self)),
                                       count: Int(module.size))
    FS.mountInitramfs(bytes)
}

/// What a student wants to see first: who booted us, with what, and the RAM map.
private func reportBoot() {
    let cmdline = Boot.commandLine
    Log.notice("Kernel command line: " + (Boot.info.commandLine?.string ?? ""))
    if let loader = Boot.info.bootLoaderName { Log.info("Boot loader: " + loader.string) }
    for warning in cmdline.warnings { Log.warning("keel: " + warning.message) }
    if let map = Boot.info.memoryMap, Log.shows(.notice) {
        var sink = ConsoleSink()
        map.printBootMemoryMap(to: &sink)
    }
    let argv = ([cmdline.initPath] + cmdline.initArguments).joined(separator: ", ")
    Log.info("init: \(cmdline.initPath) argv=[\(argv)] envp=[\(cmdline.initEnvironment.joined(separator: ", "))]")
}
