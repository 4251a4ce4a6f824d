// The bytes Keel hands to user space must be laid out exactly as the host's C
// library expects them on x86-64 Linux: struct stat, struct linux_dirent64,
// struct termios (the kernel's 36-byte prefix of it), struct winsize, and the
// constants (O_*, S_IF*, DT_*, termios flags, makedev) behind them.
import Glibc
import XCTest
@testable import KeelCore

/// glibc's makedev(), looked up at run time: sys/sysmacros.h is not part of Swift's Glibc module.
private func hostMakedev(_ major: UInt32, _ minor: UInt32) -> UInt64 {
    typealias MakeDev = @convention(c) (UInt32, UInt32) -> UInt64
    let symbol = dlsym(dlopen(nil, RTLD_NOW), "gnu_dev_makedev")!
    return unsafeBitCast(symbol, to: MakeDev.self)(major, minor)
}

final class FSLayoutTests: XCTestCase {
    func testStatMatchesHostStructStat() {
        XCTAssertEqual(MemoryLayout<stat>.size, KernelStat.byteSize)
        let s = KernelStat(device: DeviceNumber(major: 0x123, minor: 0x4567), ino: 0x1122_3344_5566_7788,
                           mode: 0o100644, nlink: 3, uid: 1000, gid: 100,
                           rdev: DeviceNumber(major: 5, minor: 1), size: 6400, blockSize: 4096, blocks: 16,
                           accessTime: Timespec(seconds: 11, nanoseconds: 12),
                           modifyTime: Timespec(seconds: 21, nanoseconds: 22),
                           changeTime: Timespec(seconds: 31, nanoseconds: 32))
        var host = stat()
        withUnsafeMutableBytes(of: &host) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0xee)
            s.write(to: raw.baseAddress!)
        }
        XCTAssertEqual(UInt64(host.st_dev), hostMakedev(0x123, 0x4567))
        XCTAssertEqual(host.st_ino, 0x1122_3344_5566_7788)
        XCTAssertEqual(host.st_mode, 0o100644)
        XCTAssertEqual(host.st_nlink, 3)
        XCTAssertEqual(host.st_uid, 1000)
        XCTAssertEqual(host.st_gid, 100)
        XCTAssertEqual(UInt64(host.st_rdev), hostMakedev(5, 1))
        XCTAssertEqual(host.st_size, 6400)
        XCTAssertEqual(host.st_blksize, 4096)
        XCTAssertEqual(host.st_blocks, 16)
        XCTAssertEqual([host.st_atim.tv_sec, host.st_atim.tv_nsec], [11, 12])
        XCTAssertEqual([host.st_mtim.tv_sec, host.st_mtim.tv_nsec], [21, 22])
        XCTAssertEqual([host.st_ctim.tv_sec, host.st_ctim.tv_nsec], [31, 32])
        XCTAssertEqual(host.__pad0, 0, "padding and the unused tail are zeroed")
        XCTAssertEqual([host.__glibc_reserved.0, host.__glibc_reserved.1, host.__glibc_reserved.2], [0, 0, 0])
    }

    func testDeviceNumbersMatchMakedev() {
        var null = stat()
        XCTAssertEqual(stat("/dev/null", &null), 0)
        XCTAssertEqual(UInt64(null.st_rdev), DeviceNumber(major: 1, minor: 3).encoded, "the host's own /dev/null")
        for (major, minor) in [(0, 0), (0, 1), (5, 1), (8, 17), (0xfff, 0xff), (0x1000, 0x100), (0xfffff, 0xfffff), (259, 65536)] {
            XCTAssertEqual(DeviceNumber(major: UInt32(major), minor: UInt32(minor)).encoded,
                           hostMakedev(UInt32(major), UInt32(minor)), "\(major):\(minor)")
        }
    }

    func testStatOfAnInode() {
        let tree = FSTestTree()
        let file = tree.file("/f", String(repeating: "x", count: 4097), 0o640)
        file.setOwner(uid: 7, gid: 0)
        file.modifyTime = FileTime(seconds: 1_700_000_000)
        file.changeTime = file.modifyTime
        let s = file.stat()
        XCTAssertEqual(s.mode, 0o100640)
        XCTAssertEqual(s.size, 4097)
        XCTAssertEqual(s.blocks, 16, "two pages of 8 sectors each")
        XCTAssertEqual(s.blockSize, 4096)
        XCTAssertEqual(s.device, DeviceNumber(major: 0, minor: 9))
        XCTAssertEqual(s.ino, file.ino)
        XCTAssertEqual(s.uid, 7)
        XCTAssertEqual(s.modifyTime, Timespec(seconds: 1_700_000_000))
        XCTAssertEqual(s.changeTime, s.modifyTime)
        let console = tree.make("/console", .characterDevice(.console), 0o600)
        XCTAssertEqual(console.stat().rdev, .console)
        XCTAssertEqual(console.stat().mode, 0o020600)
        XCTAssertEqual(tree.root.inode.stat().nlink, 2)
        XCTAssertEqual(tree.symlink("/l", "four").stat().size, 4)
    }

    func testDirentRecordsMatchHostStructDirent() {
        XCTAssertEqual(MemoryLayout<dirent>.offset(of: \dirent.d_ino), 0)
        XCTAssertEqual(MemoryLayout<dirent>.offset(of: \dirent.d_off), 8)
        XCTAssertEqual(MemoryLayout<dirent>.offset(of: \dirent.d_reclen), 16)
        XCTAssertEqual(MemoryLayout<dirent>.offset(of: \dirent.d_type), 18)
        XCTAssertEqual(MemoryLayout<dirent>.offset(of: \dirent.d_name), DirentWriter.nameOffset)

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 80, alignment: 8)
        defer { buffer.deallocate() }
        var writer = DirentWriter(buffer)
        XCTAssertTrue(writer.append(name: ".", ino: 1, type: .directory, nextOffset: 1))
        XCTAssertTrue(writer.append(name: "hostname", ino: 77, type: .regular, nextOffset: 2))
        XCTAssertEqual(writer.used, 24 + 32, "19 + 1 + 1 → 24; 19 + 8 + 1 → 32")
        XCTAssertFalse(writer.append(name: "toolongforwhatisleft", ino: 3, type: .symlink, nextOffset: 3))
        XCTAssertEqual(writer.used, 56, "a record that does not fit writes nothing")
        XCTAssertTrue(writer.append(name: "x", ino: 3, type: .symlink, nextOffset: 3))
        XCTAssertEqual(writer.used, 80)

        var records: [(UInt64, Int64, UInt8, String)] = []
        var pos = 0
        while pos < writer.used {
            let d = buffer.baseAddress!.advanced(by: pos).assumingMemoryBound(to: dirent.self)
            let name = withUnsafeBytes(of: d.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            records.append((UInt64(d.pointee.d_ino), Int64(d.pointee.d_off), d.pointee.d_type, name))
            XCTAssertEqual(Int(d.pointee.d_reclen) % 8, 0)
            pos += Int(d.pointee.d_reclen)
        }
        XCTAssertEqual(records.map(\.0), [1, 77, 3])
        XCTAssertEqual(records.map(\.1), [1, 2, 3])
        XCTAssertEqual(records.map(\.2), [UInt8(DT_DIR), UInt8(DT_REG), UInt8(DT_LNK)])
        XCTAssertEqual(records.map(\.3), [".", "hostname", "x"])
        XCTAssertEqual(DirentWriter.recordLength(nameLength: 4), 24)
        XCTAssertEqual(DirentWriter.recordLength(nameLength: 5), 32, "19 + 5 + NUL = 25 rounds up")
    }

    func testTypeAndFlagConstantsMatchHost() {
        XCTAssertEqual(FileType.regular.rawValue, S_IFREG)
        XCTAssertEqual(FileType.directory.rawValue, S_IFDIR)
        XCTAssertEqual(FileType.symlink.rawValue, S_IFLNK)
        XCTAssertEqual(FileType.characterDevice.rawValue, S_IFCHR)
        XCTAssertEqual(FileType.blockDevice.rawValue, S_IFBLK)
        XCTAssertEqual(FileType.fifo.rawValue, S_IFIFO)
        XCTAssertEqual(FileType.socket.rawValue, S_IFSOCK)
        XCTAssertEqual(FileType.mask, S_IFMT)
        XCTAssertEqual(FileType(mode: 0o040755), .directory)
        XCTAssertNil(FileType(mode: 0o170000))
        XCTAssertEqual(FileType.characterDevice.direntType, UInt8(DT_CHR))
        XCTAssertEqual(FileType.fifo.direntType, UInt8(DT_FIFO))

        let pairs: [(OpenFlags, Int32)] = [
            (.writeOnly, O_WRONLY), (.readWrite, O_RDWR), (.create, O_CREAT), (.exclusive, O_EXCL),
            (.noControllingTTY, O_NOCTTY), (.truncate, O_TRUNC), (.append, O_APPEND), (.nonBlocking, O_NONBLOCK),
            (.async, O_ASYNC), (.directory, O_DIRECTORY), (.noFollow, O_NOFOLLOW), (.closeOnExec, O_CLOEXEC),
        ]
        for (flag, host) in pairs { XCTAssertEqual(flag.rawValue, UInt32(host)) }
        XCTAssertEqual([AccessMask.read.rawValue, AccessMask.write.rawValue, AccessMask.exec.rawValue],
                       [UInt32(R_OK), UInt32(W_OK), UInt32(X_OK)])
    }

    func testTermiosMatchesHostPrefix() {
        XCTAssertEqual(MemoryLayout<termios>.offset(of: \termios.c_iflag), 0)
        XCTAssertEqual(MemoryLayout<termios>.offset(of: \termios.c_oflag), 4)
        XCTAssertEqual(MemoryLayout<termios>.offset(of: \termios.c_cflag), 8)
        XCTAssertEqual(MemoryLayout<termios>.offset(of: \termios.c_lflag), 12)
        XCTAssertEqual(MemoryLayout<termios>.offset(of: \termios.c_line), 16)
        XCTAssertEqual(MemoryLayout<termios>.offset(of: \termios.c_cc), 17)
        var host = termios()
        withUnsafeMutableBytes(of: &host) { Termios.console.write(to: $0.baseAddress!) }
        XCTAssertEqual(host.c_lflag & UInt32(ICANON), UInt32(ICANON))
        XCTAssertEqual(host.c_lflag & UInt32(ECHO), UInt32(ECHO))
        XCTAssertEqual(host.c_lflag & UInt32(ISIG), UInt32(ISIG))
        XCTAssertEqual(host.c_iflag, UInt32(ICRNL | IXON))
        XCTAssertEqual(host.c_oflag, UInt32(OPOST | ONLCR))
        XCTAssertEqual(host.c_cflag & UInt32(CBAUD), UInt32(B115200))
        XCTAssertEqual(host.c_cflag & UInt32(CSIZE), UInt32(CS8))
        XCTAssertEqual(cfgetospeed(&host), speed_t(B115200))
        let cc = withUnsafeBytes(of: host.c_cc) { Array($0) }
        XCTAssertEqual(cc[Int(VINTR)], 3)
        XCTAssertEqual(cc[Int(VERASE)], 0x7f)
        XCTAssertEqual(cc[Int(VKILL)], 0x15)
        XCTAssertEqual(cc[Int(VEOF)], 4)
        XCTAssertEqual(cc[Int(VMIN)], 1)
        XCTAssertEqual(cc[Int(VTIME)], 0)
        XCTAssertEqual(cc[Int(VSUSP)], 0x1a)
        XCTAssertEqual([Termios.VERASE, Termios.VKILL, Termios.VEOF], [Int(VERASE), Int(VKILL), Int(VEOF)])
        XCTAssertEqual(Termios.ECHOCTL, UInt32(ECHOCTL))
        XCTAssertEqual(Termios.IEXTEN, UInt32(IEXTEN))
        XCTAssertEqual(Termios.ECHOKE, UInt32(ECHOKE))
    }

    func testWindowSizeMatchesHost() {
        var host = winsize(ws_row: 9, ws_col: 9, ws_xpixel: 9, ws_ypixel: 9)
        XCTAssertEqual(MemoryLayout<winsize>.size, WindowSize.byteSize)
        withUnsafeMutableBytes(of: &host) { WindowSize.console.write(to: $0.baseAddress!) }
        XCTAssertEqual([host.ws_row, host.ws_col, host.ws_xpixel, host.ws_ypixel], [25, 80, 0, 0])
    }
}
