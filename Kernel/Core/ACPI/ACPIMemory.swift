// The seam between the ACPI table parser and real memory. Firmware leaves its
// tables somewhere in physical memory; the kernel reaches them through the
// direct map (or a temporary mapping), host tests through a byte buffer.

/// Read access to the physical memory that holds ACPI tables. Linux: acpi_os_map_memory()
public protocol ACPIMemory {
    /// The `count` bytes at `address`, or nil when they cannot be reached. The
    /// buffer stays valid for as long as the accessor does.
    func bytes(at address: PhysAddr, count: Int) -> UnsafeRawBufferPointer?
}
