// The virtio block driver: the kernel's disks. One virtqueue per disk carries
// requests, each a chain of descriptors:
//
//   header (16 bytes, device reads)   type (read, write, flush), sector
//   data buffers (0 or more)          device writes them for a read, reads them for a write
//   status (1 byte, device writes)    OK, IOERR or UNSUPP
//
// A task that submits a request sleeps; the device raises an MSI-X interrupt
// on the boot CPU when it puts a finished chain into the used ring, and the
// handler records each request's status and wakes its task. The idle context
// (boot, test hooks) has no task to put to sleep: it halts until the interrupt
// instead. Neither polls the device.
//
// Locking: `lock` (a spinlock that turns interrupts off, since the interrupt
// handler takes it) protects the virtqueue, the request table, the list of
// tasks waiting for free descriptors and the statistics. The handler wakes
// tasks with it held: it comes before the scheduler lock (docs/ARCHITECTURE.md
// section 5). Nothing allocates with it held.
//
// DMA: the device reads and writes physical memory. A buffer in the direct map
// is physically contiguous and goes to the device as it is (cut into segments
// of the device's size_max); any other buffer (the kernel image, vmalloc) is
// bounced through pages from the page allocator.
// Linux: drivers/block/virtio_blk.c

/// One request on its way: lives on the submitting task's stack, reached by the
/// interrupt handler through `VirtioBlkDevice.requests` while in flight.
/// Every field is under the device's lock.
private struct PendingRequest {
    let task: Task
    let type: VirtioBlk.RequestType
    let sectors: UInt64
    var done = false
    var status: UInt8 = 0xff
    /// Waiting for free descriptors: the next waiter, and whether it is still queued.
    var nextWaiter: UnsafeMutablePointer<PendingRequest>? = nil
    var waitingForDescriptors = false
}

/// Linux: struct virtio_blk
final class VirtioBlkDevice: BlockDevice {
    let name: String
    /// Linux: the device name "virtio0" of the virtio bus
    let busName: String
    let sectorCount: UInt64
    let readOnly: Bool
    /// The device has a write cache and takes VIRTIO_BLK_T_FLUSH.
    let canFlush: Bool
    let limits: VirtioBlkLimits

    private let transport: VirtioPCIDevice
    private static let queueIndex: UInt16 = 0
    /// Keel's queue length: one page holds its rings (the device may offer more).
    private static let maxQueueSize = 128
    private static let lockClass = LockClass("&vblk->vqs[0].lock")
    private let lock = SpinLock(VirtioBlkDevice.lockClass)

    /// Under `lock`: the ring, and per head descriptor the request it carries.
    private var queue: Virtqueue<DMAMemory>
    private let requests: UnsafeMutablePointer<UnsafeMutablePointer<PendingRequest>?>
    /// Under `lock`: tasks waiting for free descriptors, newest first.
    private var descriptorWaiters: UnsafeMutablePointer<PendingRequest>? = nil
    /// Under `lock`.
    private var stats = BlockDeviceStatistics()
    /// Per head descriptor, 32 bytes of DMA memory: the header at 0, the status at 16.
    private let slots: PhysAddr
    private static let slotBytes = 32
    /// Offset of this queue's doorbell in the notify area; set once by `start`.
    private var doorbell = 0

    private init(transport: VirtioPCIDevice, index: Int, ring: PhysAddr, queueSize: Int, slots: PhysAddr,
                 features: UInt64) {
        self.transport = transport
        name = "vd" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index)))
        busName = "virtio\(index)"
        self.slots = slots
        queue = Virtqueue(size: queueSize, memory: DMAMemory(base: UnsafeMutableRawPointer(DirectMap.pointer(ring, as: UInt8.self))))
        requests = .allocate(capacity: queueSize)
        requests.initialize(repeating: nil, count: queueSize)
        readOnly = features & VirtioBlk.featureReadOnly != 0
        canFlush = features & VirtioBlk.featureFlush != 0
        let (capacity, segMax, sizeMax) = transport.readConfig { config in
            (UInt64(config.read32(VirtioBlk.configCapacity)) | UInt64(config.read32(VirtioBlk.configCapacity + 4)) << 32,
             config.read32(VirtioBlk.configSegMax), config.read32(VirtioBlk.configSizeMax))
        }
        sectorCount = capacity
        limits = VirtioBlkLimits(queueSize: queueSize,
                                 segMax: features & VirtioBlk.featureSegMax != 0 && segMax != 0 ? segMax : nil,
                                 sizeMax: features & VirtioBlk.featureSizeMax != 0 && sizeMax != 0 ? sizeMax : nil,
                                 pageBytes: Int(pageSize))
    }

    // MARK: probing

    /// Drives every virtio block function the PCI scan found, as vda, vdb, …
    /// A device that fails to start is left alone (FAILED) with a warning.
    /// Linux: virtblk_probe()
    static func probeAll() {
        var index = 0
        for pci in PCI.devices where pci.header.vendorID == VirtioBlk.vendorID
            && (pci.header.deviceID == VirtioBlk.modernDeviceID || pci.header.deviceID == VirtioBlk.transitionalDeviceID) {
            guard index < 26 else { break }
            if let disk = probe(pci, index: index) {
                BlockDevices.register(disk)
                index += 1
            }
        }
    }

    private static func probe(_ pci: PCIDevice, index: Int) -> VirtioBlkDevice? {
        pci.enableMemoryAndBusMaster()
        guard let transport = VirtioPCIDevice(pci) else { return nil }
        func fail(_ why: String) -> VirtioBlkDevice? {
            Log.warning("virtio_blk \(pci.address.name): " + why)
            transport.addStatus(VirtioStatus.failed)
            return nil
        }
        let wanted = VirtioBlk.featureSizeMax | VirtioBlk.featureSegMax | VirtioBlk.featureReadOnly | VirtioBlk.featureFlush
        guard let features = transport.negotiate(wanted: wanted) else { return fail("feature negotiation failed") }
        let offered = transport.maximumQueueSize(queueIndex)
        guard offered > 0 else { return fail("no request queue") }
        var size = 1
        while size * 2 <= min(offered, maxQueueSize) { size *= 2 }
        precondition(VirtqueueLayout(size: maxQueueSize).totalBytes <= Int(pageSize)
                     && maxQueueSize * slotBytes <= Int(pageSize), "virtio-blk rings must fit a page")
        guard let ring = PageAllocator.allocate(flags: .zero) else { return fail("no memory for the queue") }
        guard let slots = PageAllocator.allocate(flags: .zero) else {
            PageAllocator.free(ring)
            return fail("no memory for the queue")
        }
        let disk = VirtioBlkDevice(transport: transport, index: index, ring: ring, queueSize: size, slots: slots,
                                   features: features)
        // From here on a failure leaves the pages and the vector allocated: a
        // FAILED device may still write the pages until it is reset, and one
        // lost vector of sixteen on a broken device is the simpler price.
        guard let vector = DeviceInterrupts.allocate({ disk.handleInterrupt() }) else { return fail("no interrupt vector free") }
        guard DeviceInterrupts.enableMSIX(pci, entry: 0, vector: vector) else { return fail("no MSI-X") }
        let layout = VirtqueueLayout(size: size)
        guard let doorbell = transport.enableQueue(queueIndex, size: size, descriptors: ring + UInt64(layout.descriptorOffset),
                                                   driver: ring + UInt64(layout.availOffset),
                                                   device: ring + UInt64(layout.usedOffset), msixEntry: 0) else {
            return fail("the device refused the queue's MSI-X entry or doorbell")
        }
        disk.doorbell = doorbell
        transport.addStatus(VirtioStatus.driverOK)
        let bytes = disk.sectorCount * UInt64(VirtioBlk.sectorSize)
        // Linux: virtblk_update_capacity()'s dev_notice()
        Log.notice("virtio_blk \(disk.busName): [\(disk.name)] \(disk.sectorCount) 512-byte logical blocks ("
                 + DiskSize.describe(bytes: bytes, binary: false) + "/" + DiskSize.describe(bytes: bytes, binary: true) + ")")
        if disk.readOnly { Log.info("virtio_blk \(disk.busName): [\(disk.name)] write protected") }
        return disk
    }

    // MARK: BlockDevice

    func read(sector: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(Errno) {
        guard let base = buffer.baseAddress else { return }
        try transfer(.read, sector: sector, base, buffer.count)
    }

    func write(sector: UInt64, from buffer: UnsafeRawBufferPointer) throws(Errno) {
        guard let base = buffer.baseAddress else { return }
        guard !readOnly else { throw .EROFS }
        // The device only reads the buffer: the mutable pointer never writes through.
        try transfer(.write, sector: sector, UnsafeMutableRawPointer(mutating: base), buffer.count)
    }

    /// One request per run of pages that fits the device's limits (segments,
    /// bytes), each page a segment straight from the direct map.
    func transferPages(_ pages: UnsafeBufferPointer<UnsafeMutableRawPointer>, sector: UInt64,
                       write: Bool) throws(Errno) {
        guard !write || !readOnly else { throw .EROFS }
        let page = Int(pageSize), sectorsPerPage = UInt64(page / VirtioBlk.sectorSize)
        guard sector <= sectorCount, UInt64(pages.count) * sectorsPerPage <= sectorCount - sector else { throw .EIO }
        let type: VirtioBlk.RequestType = write ? .write : .read
        guard pages.allSatisfy({ Self.physicalAddress(of: $0, page) != nil }) else {
            // Not all in the direct map: each through transfer's bounce pages.
            for (i, base) in pages.enumerated() {
                try transfer(type, sector: sector + UInt64(i) * sectorsPerPage, base, page)
            }
            return
        }
        VMStat.count(write ? .sectorsOut : .sectorsIn, by: UInt64(pages.count) * sectorsPerPage)
        let segmentsPerPage = (page + limits.maxSegmentBytes - 1) / limits.maxSegmentBytes
        let pagesPerRequest = max(1, min(limits.maxRequestBytes / page, limits.maxSegments / segmentsPerPage,
                                         (Int(queue.layout.size) - 2) / segmentsPerPage))
        var first = 0
        while first < pages.count {
            let count = min(pagesPerRequest, pages.count - first)
            var data: [VirtqueueBuffer] = []
            data.reserveCapacity(count * segmentsPerPage)
            for base in pages[first..<first + count] {
                guard let phys = Self.physicalAddress(of: base, page) else { throw .EFAULT }     // (checked above)
                limits.segments(address: phys.value, length: page, deviceWrites: !write, into: &data)
            }
            try perform(type, sector: sector + UInt64(first) * sectorsPerPage, data: data)
            first += count
        }
    }

    /// A device without a write cache (no VIRTIO_BLK_F_FLUSH) has nothing to flush.
    func flush() throws(Errno) {
        guard canFlush else { return }
        try perform(.flush, sector: 0, data: [])
    }

    /// The counters, read under the lock.
    var statistics: BlockDeviceStatistics { lock.withLock { stats } }

    // MARK: requests

    /// Checks the range, counts it in /proc/vmstat's pgpgin or pgpgout, and
    /// cuts it into requests of at most maxRequestBytes.
    /// Linux: submit_bio()'s count_vm_events(), then the block layer's bio
    /// splitting (blk_bio_segment_split)
    private func transfer(_ type: VirtioBlk.RequestType, sector: UInt64, _ base: UnsafeMutableRawPointer,
                          _ count: Int) throws(Errno) {
        guard count % VirtioBlk.sectorSize == 0 else { throw .EINVAL }
        let sectors = UInt64(count / VirtioBlk.sectorSize)
        guard sector <= sectorCount, sectors <= sectorCount - sector else { throw .EIO }
        VMStat.count(type == .write ? .sectorsOut : .sectorsIn, by: sectors)
        var done = 0
        while done < count {
            let n = min(count - done, limits.maxRequestBytes)
            try request(type, sector: sector + UInt64(done / VirtioBlk.sectorSize), base + done, n)
            done += n
        }
    }

    /// One request's data: straight from the direct map, or through bounce pages.
    private func request(_ type: VirtioBlk.RequestType, sector: UInt64, _ buffer: UnsafeMutableRawPointer,
                         _ count: Int) throws(Errno) {
        let deviceWrites = type == .read
        var data: [VirtqueueBuffer] = []
        if let phys = Self.physicalAddress(of: buffer, count) {
            limits.segments(address: phys.value, length: count, deviceWrites: deviceWrites, into: &data)
            try perform(type, sector: sector, data: data)
            return
        }
        let page = Int(pageSize)
        var frames: [PhysAddr] = []
        defer { for frame in frames { PageAllocator.free(frame) } }
        var offset = 0
        while offset < count {
            guard let frame = PageAllocator.allocate() else { throw .ENOMEM }
            frames.append(frame)
            let n = min(page, count - offset)
            if type == .write { _ = memcpy(DirectMap.pointer(frame, as: UInt8.self), buffer + offset, n) }
            limits.segments(address: frame.value, length: n, deviceWrites: deviceWrites, into: &data)
            offset += n
        }
        try perform(type, sector: sector, data: data)
        if type == .read {
            for (i, frame) in frames.enumerated() {
                _ = memcpy(buffer + i * page, DirectMap.pointer(frame, as: UInt8.self), min(page, count - i * page))
            }
        }
    }

    /// The physical address of a buffer in the direct map (contiguous there), else nil.
    /// Linux: virt_addr_valid() + virt_to_phys()
    private static func physicalAddress(of buffer: UnsafeMutableRawPointer, _ count: Int) -> PhysAddr? {
        let start = UInt64(UInt(bitPattern: buffer))
        guard start >= KernelLayout.pageOffset,
              start - KernelLayout.pageOffset + UInt64(count) <= PhysicalMemoryMap.directMapEnd else { return nil }
        return VirtAddr(start).directMapPhys
    }

    /// Submits one request (header, `data`, status), waits for free descriptors
    /// first if the ring is full, then sleeps until the interrupt handler says
    /// it is done. EIO if the device's status is not OK.
    /// Linux: virtio_queue_rq() + blk_mq_complete_request() + the sleeping submit_bio_wait()
    private func perform(_ type: VirtioBlk.RequestType, sector: UInt64, data: [VirtqueueBuffer]) throws(Errno) {
        let descriptors = data.count + 2
        guard descriptors <= queue.layout.size else { throw .EINVAL }
        let bytes = data.reduce(0) { $0 + UInt64($1.length) }
        var pending = PendingRequest(task: Scheduler.current, type: type, sectors: bytes / UInt64(VirtioBlk.sectorSize))
        // The chain is built before the lock (nothing allocates under it); the
        // header's and status's addresses depend on the head, known only there.
        var chain = [VirtqueueBuffer(address: 0, length: UInt32(VirtioBlk.headerSize), deviceWrites: false)]
        chain.reserveCapacity(descriptors)
        chain.append(contentsOf: data)
        chain.append(VirtqueueBuffer(address: 0, length: 1, deviceWrites: true))
        let status = withUnsafeMutablePointer(to: &pending) { request in
            lock.lock()
            while queue.freeCount < descriptors {
                stats.queueFullWaits += 1
                request.pointee.waitingForDescriptors = true
                request.pointee.nextWaiter = descriptorWaiters
                descriptorWaiters = request
                lock.unlock()
                wait { request.pointee.waitingForDescriptors }
                lock.lock()
            }
            let head = Int(queue.nextHead)
            let slot = slots + UInt64(head * Self.slotBytes)
            let slotBytes = UnsafeMutableRawPointer(DirectMap.pointer(slot, as: UInt8.self))
            VirtioBlk.writeHeader(type, sector: sector, to: slotBytes)
            slotBytes.storeBytes(of: 0xff, toByteOffset: VirtioBlk.headerSize, as: UInt8.self)
            chain[0].address = slot.value
            chain[descriptors - 1].address = slot.value + UInt64(VirtioBlk.headerSize)
            let submitted = queue.submit(chain)
            precondition(submitted == UInt16(head), "virtqueue: the head is the free list's first descriptor")
            requests[head] = request
            stats.inFlight += 1
            transport.notify(Self.queueIndex, doorbell: doorbell)
            lock.unlock()
            wait { !request.pointee.done }
            return lock.withLock { request.pointee.status }
        }
        guard status == VirtioBlk.statusOK else {
            Log.error("virtio_blk \(busName): [\(name)] request type \(type.rawValue) at sector \(sector) failed, status \(status)")
            throw .EIO
        }
    }

    /// Sleeps (or, in an idle context, halts) while `pending` holds, which is
    /// read under the lock: the interrupt handler changes it under the lock
    /// before it wakes the task, so no wake-up is lost. Halting works because
    /// the only idle context that submits is the boot CPU's (boot, test
    /// hooks), and the completion interrupt is aimed at that CPU.
    /// Linux: wait_for_completion_io()
    private func wait(while pending: () -> Bool) {
        let finished = { !self.lock.withLock { pending() } }
        if Scheduler.inIdleTask {
            CPU.halt(until: finished)
        } else {
            while !Scheduler.sleep(unless: finished) {}
        }
    }

    /// The MSI-X handler, interrupts off: completes every finished request and
    /// wakes its task, then the tasks waiting for descriptors.
    /// Linux: virtblk_done()
    private func handleInterrupt() {
        lock.lock()
        stats.interrupts += 1
        while let (head, _) = queue.nextUsed() {
            guard let request = requests[Int(head)] else { continue }
            requests[Int(head)] = nil
            let slot = UnsafeMutableRawPointer(DirectMap.pointer(slots + UInt64(Int(head) * Self.slotBytes), as: UInt8.self))
            let status = slot.load(fromByteOffset: VirtioBlk.headerSize, as: UInt8.self)
            count(request.pointee, status: status)
            request.pointee.status = status
            request.pointee.done = true
            Scheduler.wake(request.pointee.task)
        }
        while let waiter = descriptorWaiters {
            descriptorWaiters = waiter.pointee.nextWaiter
            waiter.pointee.waitingForDescriptors = false
            Scheduler.wake(waiter.pointee.task)
        }
        lock.unlock()
    }

    /// Lock held: a completed request in the statistics.
    private func count(_ request: PendingRequest, status: UInt8) {
        stats.inFlight -= 1
        guard status == VirtioBlk.statusOK else {
            stats.errors += 1
            return
        }
        switch request.type {
        case .read: stats.readRequests += 1; stats.sectorsRead += request.sectors
        case .write: stats.writeRequests += 1; stats.sectorsWritten += request.sectors
        case .flush: stats.flushRequests += 1
        }
    }
}

/// The disks found at boot. Filled by the probe on the boot CPU before anything
/// else runs, read-only afterwards: no lock. Linux: the block_class device list
enum BlockDevices {
    nonisolated(unsafe) private(set) static var virtioDisks: [VirtioBlkDevice] = []

    static func register(_ disk: VirtioBlkDevice) { virtioDisks.append(disk) }

    /// Every disk, for the VFS.
    static var all: [any BlockDevice] { virtioDisks.map { $0 } }

    /// The disk called `name` ("vda"). Linux: lookup_bdev() without the /dev/
    static func named(_ name: String) -> (any BlockDevice)? { virtioDisks.first { $0.name == name } }
}
