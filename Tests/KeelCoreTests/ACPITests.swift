import XCTest
@testable import KeelCore

final class ACPITests: XCTestCase {
    private func rsdp(_ bytes: [UInt8]) throws(ACPIError) -> RSDP {
        try bytes.withUnsafeBytes { raw in Result { () throws(ACPIError) in try RSDP(bytes: raw) } }.get()
    }

    private func rsdpError(_ bytes: [UInt8]) -> ACPIError? {
        do { _ = try rsdp(bytes); return nil } catch { return error }
    }

    private func qemuMADT() throws -> MADT {
        let ram = QEMUTables.memory()
        let root = try RootTable(rsdp: try rsdp(QEMUTables.rsdp), memory: ram)
        return try MADT(root.find(.madt, memory: ram, minimumLength: MADT.fixedSize))
    }

    /// A MADT with these entries behind an XSDT above 4 GiB.
    private func madt(_ entries: [[UInt8]], localAPIC: UInt32 = 0xfee0_0000) throws(ACPIError) -> MADT {
        let ram = ACPIRAM()
        ram.place(ACPIBuilder.madt(localAPIC: localAPIC, entries), at: PhysAddr(0x1_0000_2000))
        return try MADT(ACPITable(at: PhysAddr(0x1_0000_2000), memory: ram))
    }

    private func madtError(_ entries: [[UInt8]]) -> ACPIError? {
        do { _ = try madt(entries); return nil } catch { return error }
    }

    // ---- RSDP ----

    func testQEMURSDPIsACPI1PointingAtTheRSDT() throws {
        let r = try rsdp(QEMUTables.rsdp)
        XCTAssertEqual(r.revision, 0)
        XCTAssertEqual(r.oemID, "BOCHS ")
        XCTAssertEqual(r.rsdtAddress, QEMUTables.rsdtAddress)
        XCTAssertNil(r.xsdtAddress)
        XCTAssertEqual(r.length, 20)
        XCTAssertEqual(r.root.address, QEMUTables.rsdtAddress)
        XCTAssertFalse(r.root.isExtended)
    }

    func testACPI2RSDPPrefersTheXSDT() throws {
        let r = try rsdp(ACPIBuilder.rsdp(revision: 2, rsdt: 0x1000, xsdt: 0x1_2345_6000))
        XCTAssertEqual(r.revision, 2)
        XCTAssertEqual(r.length, 36)
        XCTAssertEqual(r.xsdtAddress, PhysAddr(0x1_2345_6000))
        XCTAssertEqual(r.root.address, PhysAddr(0x1_2345_6000))
        XCTAssertTrue(r.root.isExtended)
    }

    func testACPI2RSDPWithoutXSDTFallsBackToTheRSDT() throws {
        let r = try rsdp(ACPIBuilder.rsdp(revision: 2, rsdt: 0x1000, xsdt: 0))
        XCTAssertNil(r.xsdtAddress)
        XCTAssertEqual(r.root.address, PhysAddr(0x1000))
        XCTAssertFalse(r.root.isExtended)
    }

    func testMalformedRSDPsAreRejected() {
        var badSignature = QEMUTables.rsdp
        badSignature[0] = UInt8(ascii: "X")
        XCTAssertEqual(rsdpError(badSignature), .badRSDPSignature)
        XCTAssertEqual(rsdpError(Array(QEMUTables.rsdp.prefix(19))), .truncatedRSDP(length: 19, needed: 20))
        var badSum = QEMUTables.rsdp
        badSum[17] ^= 0x10
        XCTAssertEqual(rsdpError(badSum), .badRSDPChecksum(extended: false))

        let v2 = ACPIBuilder.rsdp(revision: 2, rsdt: 0x1000, xsdt: 0x2000)
        XCTAssertEqual(rsdpError(Array(v2.prefix(20))), .truncatedRSDP(length: 20, needed: 36))
        var badExtended = v2
        badExtended[24] ^= 0x01          // the XSDT address is outside the first 20 bytes
        XCTAssertEqual(rsdpError(badExtended), .badRSDPChecksum(extended: true))
    }

    // ---- root table ----

    func testQEMURSDTListsItsFiveTables() throws {
        let ram = QEMUTables.memory()
        let root = try RootTable(rsdp: try rsdp(QEMUTables.rsdp), memory: ram)
        XCTAssertFalse(root.isExtended)
        XCTAssertEqual(root.table.header.signature, .rsdt)
        XCTAssertEqual(root.entries, [QEMUTables.facpAddress, QEMUTables.madtAddress, QEMUTables.hpetAddress,
                                      QEMUTables.mcfgAddress, QEMUTables.waetAddress])
        XCTAssertEqual(root.headers(memory: ram).map { $0.header.signature.name }, ["FACP", "APIC", "HPET", "MCFG", "WAET"])
        XCTAssertEqual(try root.find(ACPISignature("HPET"), memory: ram).address, QEMUTables.hpetAddress)
        XCTAssertThrowsError(try root.find(ACPISignature("SRAT"), memory: ram)) {
            XCTAssertEqual($0 as? ACPIError, .tableNotFound(ACPISignature("SRAT")))
        }
    }

    func testXSDTWalkSkipsNullAndUnreachableEntries() throws {
        let ram = ACPIRAM()
        let madtAddress: UInt64 = 0x1_0000_2000           // above 4 GiB: only an XSDT can point here
        ram.place(ACPIBuilder.rsdp(revision: 2, rsdt: 0, xsdt: 0x1_0000_0000), at: PhysAddr(0xf0000))
        ram.place(ACPIBuilder.xsdt([0, 0x5_0000_0000, madtAddress]), at: PhysAddr(0x1_0000_0000))
        ram.place(ACPIBuilder.madt([ACPIBuilder.lapic(uid: 0, id: 0, flags: 1)]), at: PhysAddr(madtAddress))
        let root = try RootTable(rsdp: try rsdp(ACPIBuilder.rsdp(revision: 2, rsdt: 0, xsdt: 0x1_0000_0000)), memory: ram)
        XCTAssertTrue(root.isExtended)
        XCTAssertEqual(root.entries, [PhysAddr(0x5_0000_0000), PhysAddr(madtAddress)], "the null entry is dropped")
        XCTAssertEqual(root.headers(memory: ram).count, 1, "the unreachable table has no header to print")
        XCTAssertEqual(try root.find(.madt, memory: ram).address, PhysAddr(madtAddress))
    }

    func testCorruptTablesAreReportedNotTrusted() throws {
        let ram = QEMUTables.memory()
        let r = try rsdp(QEMUTables.rsdp)
        let root = try RootTable(rsdp: r, memory: ram)
        ram.poke(QEMUTables.madtAddress + 50, 0x77)
        XCTAssertThrowsError(try root.find(.madt, memory: ram)) {
            XCTAssertEqual($0 as? ACPIError, .badChecksum(.madt, address: QEMUTables.madtAddress))
        }
        XCTAssertThrowsError(try ACPITable(at: QEMUTables.facpAddress, memory: ram, expected: .rsdt)) {
            XCTAssertEqual($0 as? ACPIError, .wrongSignature(expected: .rsdt, found: ACPISignature("FACP"),
                                                             address: QEMUTables.facpAddress))
        }
        XCTAssertThrowsError(try RootTable(rsdp: try rsdp(ACPIBuilder.rsdp(revision: 0, rsdt: 0x3000_0000)), memory: ram)) {
            XCTAssertEqual($0 as? ACPIError, .unreachable(PhysAddr(0x3000_0000), count: 36))
        }
    }

    func testImplausibleTableLengthsAreRejected() {
        let ram = ACPIRAM()
        ram.place(ACPIBuilder.table("RSDT", body: [], length: 20), at: PhysAddr(0x1000))
        ram.place(ACPIBuilder.table("RSDT", body: [], length: 0x7fff_0000), at: PhysAddr(0x2000))
        ram.place(ACPIBuilder.table("RSDT", body: [0, 0, 0, 0], length: 64), at: PhysAddr(0x3000))
        XCTAssertThrowsError(try ACPITable(at: PhysAddr(0x1000), memory: ram)) {
            XCTAssertEqual($0 as? ACPIError, .badTableLength(.rsdt, address: PhysAddr(0x1000), length: 20))
        }
        XCTAssertThrowsError(try ACPITable(at: PhysAddr(0x2000), memory: ram)) {
            XCTAssertEqual($0 as? ACPIError, .badTableLength(.rsdt, address: PhysAddr(0x2000), length: 0x7fff_0000))
        }
        XCTAssertThrowsError(try ACPITable(at: PhysAddr(0x3000), memory: ram), "a length past the placed bytes") {
            XCTAssertEqual($0 as? ACPIError, .unreachable(PhysAddr(0x3000), count: 64))
        }
    }

    // ---- MADT ----

    func testQEMUMADT() throws {
        let m = try qemuMADT()
        XCTAssertEqual(m.localAPICAddress, PhysAddr(0xfee0_0000))
        XCTAssertTrue(m.hasLegacyPICs)
        XCTAssertEqual(m.processors, (0..<4).map {
            MADTProcessor(apicID: UInt32($0), processorUID: UInt32($0), flags: .enabled, isX2APIC: false)
        })
        XCTAssertEqual(m.ioAPICs, [MADTIOAPIC(id: 0, address: PhysAddr(0xfec0_0000), gsiBase: 0)])
        XCTAssertEqual(m.interruptOverrides.map { [$0.sourceIRQ, UInt8($0.gsi)] }, [[0, 2], [5, 5], [9, 9], [10, 10], [11, 11]])
        XCTAssertEqual(m.interruptOverrides[0].flags.polarity, .conforming)
        XCTAssertEqual(m.interruptOverrides[1].flags.polarity, .activeHigh)
        XCTAssertEqual(m.interruptOverrides[1].flags.trigger, .level)
        XCTAssertEqual(m.localAPICNMIs, [MADTLocalAPICNMI(processorUID: 0xff, flags: MPSINTIFlags(rawValue: 0), lint: 1)])
        XCTAssertEqual(m.otherEntries, 0)
        XCTAssertEqual(m.cpuAPICIDs(bootAPICID: 0, maxCPUs: 64), [0, 1, 2, 3])
    }

    func testX2APICAndAddressOverrideEntries() throws {
        let m = try madt([
            ACPIBuilder.addressOverride(0x1_fee0_0000),
            ACPIBuilder.x2apic(id: 0x100, uid: 7, flags: 1),
            ACPIBuilder.lapic(uid: 1, id: 3, flags: 3),
            [0x0b, 4, 0, 0],                                  // an entry type Keel skips
            ACPIBuilder.override(irq: 9, gsi: 20, flags: 0xf),
        ])
        XCTAssertEqual(m.localAPICAddress, PhysAddr(0x1_fee0_0000), "type 5 overrides the 32-bit field")
        XCTAssertEqual(m.processors, [
            MADTProcessor(apicID: 0x100, processorUID: 7, flags: .enabled, isX2APIC: true),
            MADTProcessor(apicID: 3, processorUID: 1, flags: [.enabled, .onlineCapable], isX2APIC: false),
        ])
        XCTAssertEqual(m.interruptOverrides, [MADTInterruptOverride(bus: 0, sourceIRQ: 9, gsi: 20,
                                                                    flags: MPSINTIFlags(rawValue: 0xf))])
        XCTAssertEqual(m.interruptOverrides[0].flags.polarity, .activeLow)
        XCTAssertEqual(m.interruptOverrides[0].flags.trigger, .level)
        XCTAssertEqual(m.otherEntries, 1)
    }

    func testCPUNumberingPutsTheBootCPUFirst() throws {
        let m = try madt([
            ACPIBuilder.lapic(uid: 0, id: 0, flags: 1),
            ACPIBuilder.lapic(uid: 1, id: 4, flags: 0),      // not present
            ACPIBuilder.lapic(uid: 2, id: 2, flags: 2),      // hot-pluggable only
            ACPIBuilder.lapic(uid: 3, id: 6, flags: 1),
            ACPIBuilder.x2apic(id: 6, uid: 3, flags: 1),     // the same CPU listed twice
            ACPIBuilder.x2apic(id: 0x200, uid: 9, flags: 1), // out of xAPIC reach
            ACPIBuilder.lapic(uid: 5, id: 5, flags: 1),
        ])
        XCTAssertEqual(m.cpuAPICIDs(bootAPICID: 5, maxCPUs: 64), [5, 0, 6])
        XCTAssertEqual(m.cpuAPICIDs(bootAPICID: 0, maxCPUs: 64), [0, 6, 5])
        XCTAssertEqual(m.cpuAPICIDs(bootAPICID: 0, maxCPUs: 2), [0, 6])
        XCTAssertEqual(m.cpuAPICIDs(bootAPICID: 0, maxCPUs: 64, maxAPICID: .max), [0, 6, 0x200, 5])
        XCTAssertEqual(m.cpuAPICIDs(bootAPICID: 9, maxCPUs: 1), [9], "the boot CPU runs even when the MADT omits it")
    }

    func testMalformedMADTEntriesAreRejected() {
        let lapic = ACPIBuilder.lapic(uid: 0, id: 0, flags: 1)
        XCTAssertEqual(madtError([lapic, [0, 0, 0, 0]]), .badMADTEntry(offset: 52, type: 0, length: 0), "zero length")
        XCTAssertEqual(madtError([[0x0b, 1]]), .badMADTEntry(offset: 44, type: 0x0b, length: 1), "length below 2")
        XCTAssertEqual(madtError([[0, 6, 0, 0, 1, 0]]), .badMADTEntry(offset: 44, type: 0, length: 6),
                       "a local APIC entry needs 8 bytes")
        XCTAssertEqual(madtError([Array(ACPIBuilder.x2apic(id: 1, uid: 1, flags: 1).prefix(12))]),
                       .badMADTEntry(offset: 44, type: 9, length: 16), "runs past the end of the table")
        XCTAssertEqual(madtError([lapic, [1]]), .badMADTEntry(offset: 52, type: 1, length: 0), "a lone trailing byte")
        XCTAssertNil(madtError([]), "no entries is well-formed")

        let ram = ACPIRAM()
        ram.place(ACPIBuilder.table("APIC", body: [0, 0, 0xe0, 0xfe]), at: PhysAddr(0x1000))
        XCTAssertThrowsError(try MADT(ACPITable(at: PhysAddr(0x1000), memory: ram))) {
            XCTAssertEqual($0 as? ACPIError, .badTableLength(.madt, address: PhysAddr(0x1000), length: 40))
        }
    }

    /// Random corruption of the real MADT (checksums fixed up, so the entry walk
    /// sees it) must end in a parse or a typed error, never a trap.
    func testRandomlyCorruptedMADTsNeverTrap() {
        var random = SplitMix64(seed: 0xac91)
        var parsed = 0, rejected = 0
        for _ in 0..<3000 {
            var bytes = QEMUTables.madt
            for _ in 0..<random.below(4) + 1 {
                bytes[44 + random.below(bytes.count - 44)] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.below(4) == 0 {
                bytes.removeLast(random.below(bytes.count - 44))
                bytes.replaceSubrange(4..<8, with: ACPIBuilder.le32(UInt32(bytes.count)))
            }
            ACPIBuilder.fixChecksum(&bytes, at: 9, over: 0..<bytes.count)
            let ram = ACPIRAM()
            ram.place(bytes, at: PhysAddr(0x4000))
            do {
                let m = try MADT(ACPITable(at: PhysAddr(0x4000), memory: ram))
                let entries = m.processors.count + m.ioAPICs.count + m.interruptOverrides.count + m.localAPICNMIs.count
                XCTAssertLessThanOrEqual(entries + m.otherEntries, (bytes.count - 44) / 2)
                parsed += 1
            } catch {
                if case .badMADTEntry = error { rejected += 1 } else { XCTFail("unexpected \(error)") }
            }
        }
        XCTAssertGreaterThan(parsed, 100)
        XCTAssertGreaterThan(rejected, 100)
    }

    // ---- boot log ----

    func testBootLogLinesMatchLinux() throws {
        let ram = QEMUTables.memory()
        let r = try rsdp(QEMUTables.rsdp)
        let root = try RootTable(rsdp: r, memory: ram)
        var log = ""
        ACPILog.writeRSDP(r, at: QEMUTables.rsdpAddress, to: &log)
        ACPILog.writeTable(root.table.header, at: root.table.address, to: &log)
        for (address, header) in root.headers(memory: ram) where header.signature == .madt {
            ACPILog.writeTable(header, at: address, to: &log)
        }
        ACPILog.writeMADT(try qemuMADT(), to: &log)
        XCTAssertEqual(log.split(separator: "\n").map(String.init), [
            "ACPI: RSDP 0x00000000000F59E0 000014 (v00 BOCHS )",
            "ACPI: RSDT 0x000000000FFE23C4 000038 (v01 BOCHS  BXPC     00000001 BXPC 00000001)",
            "ACPI: APIC 0x000000000FFE2298 000090 (v01 BOCHS  BXPC     00000001 BXPC 00000001)",
            "ACPI: Local APIC address 0xfee00000",
            "ACPI: LAPIC (acpi_id[0x00] lapic_id[0x00] enabled)",
            "ACPI: LAPIC (acpi_id[0x01] lapic_id[0x01] enabled)",
            "ACPI: LAPIC (acpi_id[0x02] lapic_id[0x02] enabled)",
            "ACPI: LAPIC (acpi_id[0x03] lapic_id[0x03] enabled)",
            "ACPI: LAPIC_NMI (acpi_id[0xff] dfl dfl lint[0x1])",
            "ACPI: IOAPIC (id[0x00] address[0xfec00000] gsi_base[0])",
            "ACPI: INT_SRC_OVR (bus 0 bus_irq 0 global_irq 2 dfl dfl)",
            "ACPI: INT_SRC_OVR (bus 0 bus_irq 5 global_irq 5 high level)",
            "ACPI: INT_SRC_OVR (bus 0 bus_irq 9 global_irq 9 high level)",
            "ACPI: INT_SRC_OVR (bus 0 bus_irq 10 global_irq 10 high level)",
            "ACPI: INT_SRC_OVR (bus 0 bus_irq 11 global_irq 11 high level)",
        ])
    }

    func testX2APICLogLineAndErrorMessages() throws {
        var log = ""
        ACPILog.writeMADT(try madt([ACPIBuilder.x2apic(id: 0x100, uid: 7, flags: 0)]), to: &log)
        XCTAssertTrue(log.contains("ACPI: X2APIC (apic_id[0x100] uid[0x07] disabled)\n"), log)
        XCTAssertEqual(ACPIError.badChecksum(.madt, address: PhysAddr(0xffe2298)).message,
                       "APIC at 0xffe2298 has a bad checksum")
        XCTAssertEqual(ACPIError.badMADTEntry(offset: 52, type: 0, length: 0).message,
                       "[APIC:0x00] invalid entry at offset 52, length 0")
        XCTAssertEqual(ACPISignature(rawValue: 0x4349_5000).name, "?PIC")
    }
}
