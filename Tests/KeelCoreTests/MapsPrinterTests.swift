// /proc/<pid>/maps and VmSize against lines copied from a real Linux
// /proc/self/maps (6.x, x86-64): the name column, the trailing space of nameless
// anonymous lines, shared vs private, [heap] and [stack].
import XCTest
@testable import KeelCore

final class MapsPrinterTests: XCTestCase {
    let files = VMTestFiles(files: [
        1: MappedFileInfo(path: "/usr/bin/cat", deviceMajor: 0xfe, deviceMinor: 0, inode: 253911),
        2: MappedFileInfo(path: "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
                          deviceMajor: 0xfe, deviceMinor: 0, inode: 332619),
        3: MappedFileInfo(path: "/usr/bin/dbus-daemon", deviceMajor: 8, deviceMinor: 2, inode: 173521),
        4: MappedFileInfo(path: "/tmp/odd\nname", deviceMajor: 0, deviceMinor: 0x1f, inode: 7),
    ])
    let context = MapsContext(startBrk: VirtAddr(0x55f2_e91f_0000), brk: VirtAddr(0x55f2_e923_2000),
                              startStack: VirtAddr(0x7fff_2123_3f10))

    func line(_ vma: VMA) -> String {
        var out = ""
        vma.writeProcMapsLine(context: context, files: files, to: &out)
        return out
    }

    func testLinesMatchLinuxByteForByte() {
        let r = VMFlags([.read, .mayRead, .mayWrite, .mayExec])
        XCTAssertEqual(line(VMA(start: VirtAddr(0x5578_2f4a_b000), end: VirtAddr(0x5578_2f4a_d000), flags: r,
                                backing: fileAt(1, 0))),
                       "55782f4ab000-55782f4ad000 r--p 00000000 fe:00 253911                     /usr/bin/cat\n")
        XCTAssertEqual(line(VMA(start: VirtAddr(0x5578_2f4b_6000), end: VirtAddr(0x5578_2f4b_7000), flags: .dataDefault,
                                backing: fileAt(1, 0xa))),
                       "55782f4b6000-55782f4b7000 rw-p 0000a000 fe:00 253911                     /usr/bin/cat\n")
        XCTAssertEqual(line(VMA(start: VirtAddr(0x7f67_fda0_6000), end: VirtAddr(0x7f67_fda0_d000),
                                flags: [.read, .mayRead, .mayShare], backing: fileAt(2, 0))),
                       "7f67fda06000-7f67fda0d000 r--s 00000000 fe:00 332619                     /usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache\n")
        XCTAssertEqual(line(VMA(start: VirtAddr(0x55f2_e91f_0000), end: VirtAddr(0x55f2_e923_2000), flags: .dataDefault)),
                       "55f2e91f0000-55f2e9232000 rw-p 00000000 00:00 0                          [heap]\n")
        XCTAssertEqual(line(VMA(start: VirtAddr(0x7fff_2121_3000), end: VirtAddr(0x7fff_2123_4000), flags: .stackDefault)),
                       "7fff21213000-7fff21234000 rw-p 00000000 00:00 0                          [stack]\n")
        XCTAssertEqual(line(VMA(start: VirtAddr(0x7fd2_0b6f_a000), end: VirtAddr(0x7fd2_0b71_c000), flags: .dataDefault)),
                       "7fd20b6fa000-7fd20b71c000 rw-p 00000000 00:00 0 \n", "nameless: header only")
        // A low (32-bit era) address keeps 8 digits and the same name column.
        XCTAssertEqual(line(VMA(start: VirtAddr(0x0040_0000), end: VirtAddr(0x0045_2000),
                                flags: [.read, .exec, .mayRead, .mayExec], backing: fileAt(3, 0))),
                       "00400000-00452000 r-xp 00000000 08:02 173521                             /usr/bin/dbus-daemon\n")
    }

    func testNameColumnAndEscapes() {
        let text = line(VMA(start: page(1), end: page(2), flags: [.read, .mayRead], backing: fileAt(4, 0x12345)))
        XCTAssertEqual(text, "00001000-00002000 r--p 12345000 00:1f 7                                  /tmp/odd\\012name\n")
        XCTAssertEqual(Array(text.utf8).firstIndex(of: UInt8(ascii: "/")), 73)
    }

    func testHeapRuleUsesBrkRange() {
        // Empty heap (brk == start_brk): the region touching start_brk is still [heap], as on Linux.
        let empty = MapsContext(startBrk: page(0x20), brk: page(0x20), startStack: page(0x9999))
        var out = ""
        VMA(start: page(0x20), end: page(0x21), flags: .dataDefault).writeProcMapsLine(context: empty, files: files, to: &out)
        VMA(start: page(0x30), end: page(0x31), flags: .dataDefault).writeProcMapsLine(context: empty, files: files, to: &out)
        XCTAssertEqual(out, "00020000-00021000 rw-p 00000000 00:00 0                                  [heap]\n"
                          + "00030000-00031000 rw-p 00000000 00:00 0 \n")
    }

    func testWholeTreeAndVmSize() {
        let tree = makeTree([
            VMA(start: VirtAddr(0x5578_2f4a_b000), end: VirtAddr(0x5578_2f4a_d000), flags: [.read, .mayRead], backing: fileAt(1, 0)),
            VMA(start: VirtAddr(0x55f2_e91f_0000), end: VirtAddr(0x55f2_e923_2000), flags: .dataDefault),
            VMA(start: VirtAddr(0x7fff_2121_3000), end: VirtAddr(0x7fff_2123_4000), flags: .stackDefault),
        ])
        var out = ""
        tree.writeProcMaps(context: context, files: files, to: &out)
        XCTAssertEqual(out, """
            55782f4ab000-55782f4ad000 r--p 00000000 fe:00 253911                     /usr/bin/cat
            55f2e91f0000-55f2e9232000 rw-p 00000000 00:00 0                          [heap]
            7fff21213000-7fff21234000 rw-p 00000000 00:00 0                          [stack]

            """)
        var status = ""
        tree.writeVmSize(to: &status)
        XCTAssertEqual(tree.totalVM, 2 + 66 + 33)
        XCTAssertEqual(status, "VmSize:\t     404 kB\n")
    }
}
