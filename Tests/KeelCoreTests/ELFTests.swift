import Foundation
import XCTest
@testable import KeelCore

final class ELFTests: XCTestCase {
    typealias Phdr = ELFImageBuilder.Phdr

    // MARK: valid images

    func testStaticExecutableLayout() throws {
        let exe = try ELFImageBuilder.staticExecutable().parse().get()
        XCTAssertFalse(exe.isPositionIndependent)
        XCTAssertEqual(exe.loadBias, 0)
        XCTAssertEqual(exe.entry, VirtAddr(0x40_1000))
        XCTAssertEqual(exe.segments, [
            LoadSegment(start: VirtAddr(0x40_0000), fileOffset: 0, fileSize: 0x200, memSize: 0x200, flags: .read),
            LoadSegment(start: VirtAddr(0x40_1000), fileOffset: 0x1000, fileSize: 0x100, memSize: 0x100,
                        flags: [.read, .execute]),
            LoadSegment(start: VirtAddr(0x40_2010), fileOffset: 0x2010, fileSize: 0x20, memSize: 0x3000,
                        flags: [.read, .write]),
        ])
        XCTAssertEqual(exe.segments[2].fileEnd, VirtAddr(0x40_2030))
        XCTAssertEqual(exe.segments[2].end, VirtAddr(0x40_5010))
        // No PT_PHDR: e_phoff 64 lies in the first segment, which maps offset 0 at 0x400000.
        XCTAssertEqual(exe.programHeaderAddress, VirtAddr(0x40_0040))
        XCTAssertEqual(exe.programHeaderEntrySize, 56)
        XCTAssertEqual(exe.programHeaderCount, 5)
        XCTAssertEqual(exe.brkStart, VirtAddr(0x40_6000))
        XCTAssertEqual(exe.stackFlags, [.read, .write])
        XCTAssertFalse(exe.executableStack)
        XCTAssertEqual(exe.tls, TLSSegment(start: VirtAddr(0x40_2010), fileSize: 8, memSize: 16, align: 8))
    }

    func testStaticPIEIsPlacedAtELFETDynBase() throws {
        var b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        b.phdrs.insert(Phdr(type: ELF.ptPhdr, flags: 4, offset: 64, vaddr: 0x40, fileSize: 6 * 56, memSize: 6 * 56,
                            align: 8), at: 0)
        let exe = try b.parse().get()
        XCTAssertTrue(exe.isPositionIndependent)
        XCTAssertEqual(exe.loadBias, 0x5555_5555_4000)
        XCTAssertEqual(exe.entry, VirtAddr(0x5555_5555_5000))
        XCTAssertEqual(exe.segments.map(\.start), [0x5555_5555_4000, 0x5555_5555_5000, 0x5555_5555_6010].map(VirtAddr.init))
        XCTAssertEqual(exe.programHeaderAddress, VirtAddr(0x5555_5555_4040))
        XCTAssertEqual(exe.programHeaderCount, 6)
        XCTAssertEqual(exe.brkStart, VirtAddr(0x5555_5555_a000))
        XCTAssertEqual(exe.tls?.start, VirtAddr(0x5555_5555_6010))
    }

    func testPTPhdrWinsOverTheContainingSegment() throws {
        var b = ELFImageBuilder.staticExecutable()
        // A (deliberately different) PT_PHDR address must be reported as is.
        b.phdrs.append(Phdr(type: ELF.ptPhdr, offset: 64, vaddr: 0x40_0100, fileSize: 56, memSize: 56))
        XCTAssertEqual(try b.parse().get().programHeaderAddress, VirtAddr(0x40_0100))
    }

    func testProgramHeadersOutsideEverySegmentHaveNoAddress() throws {
        var b = ELFImageBuilder.staticExecutable()
        b.phdrs[0].offset = 0x1000   // first segment no longer covers offset 64
        b.phdrs[0].vaddr = 0x40_0000 - 0x1000
        b.phdrs[0].fileSize = 0
        XCTAssertNil(try b.parse().get().programHeaderAddress)
    }

    func testDynBaseHonoursLargeAlignment() throws {
        var b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        b.phdrs[0].align = 0x20_0000
        b.phdrs[1].align = 0x1234   // not a power of two: ignored, as Linux does
        let exe = try b.parse().get()
        XCTAssertEqual(exe.loadBias, 0x5555_5540_0000)
        XCTAssertEqual(exe.loadBias % 0x20_0000, 0)
    }

    func testDynBiasSubtractsTheFirstSegmentsPage() throws {
        var b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        for i in 0..<3 { b.phdrs[i].vaddr += 0x1_0000 }
        b.entry += 0x1_0000
        let exe = try b.parse().get()
        XCTAssertEqual(exe.loadBias, 0x5555_5554_4000)
        XCTAssertEqual(exe.segments[0].start, VirtAddr(0x5555_5555_4000))
    }

    func testExecutableStackAndMissingGNUStack() throws {
        var b = ELFImageBuilder.staticExecutable()
        b.phdrs[4].flags = 7
        XCTAssertTrue(try b.parse().get().executableStack)
        b.phdrs.remove(at: 4)
        let exe = try b.parse().get()
        XCTAssertNil(exe.stackFlags)
        XCTAssertFalse(exe.executableStack)
    }

    func testOSSpecificFlagBitsAreDropped() throws {
        var b = ELFImageBuilder.staticExecutable()
        b.phdrs[1].flags = 0x0ff0_0005
        XCTAssertEqual(try b.parse().get().segments[1].flags, [.read, .execute])
    }

    func testEmptyLoadSegmentsAreSkippedAndSegmentsMayTouch() throws {
        var b = ELFImageBuilder.staticExecutable()
        b.phdrs.insert(Phdr(type: ELF.ptLoad, offset: 0x100, vaddr: 0x7000_0000_0100), at: 1)
        // rodata now ends exactly where text (0x401000) starts
        b.phdrs[0].memSize = 0x1000
        b.phdrs[0].fileSize = 0x1000
        let exe = try b.parse().get()
        XCTAssertEqual(exe.segments.count, 3)
        XCTAssertEqual(exe.segments[0].end, exe.segments[1].start)
    }

    func testLoadSegmentMayEndExactlyAtTaskSize() throws {
        var b = ELFImageBuilder.staticExecutable()
        b.phdrs[2].vaddr = KernelLayout.taskSize - 0x3000 + 0x10
        b.phdrs[2].memSize = 0x3000 - 0x10
        let exe = try b.parse().get()
        XCTAssertEqual(exe.segments[2].end.value, KernelLayout.taskSize)
        XCTAssertEqual(exe.brkStart.value, KernelLayout.taskSize)
    }

    // MARK: every error

    func testHeaderErrors() {
        func broken(_ change: (inout ELFImageBuilder) -> Void) -> ELFError? {
            var b = ELFImageBuilder.staticExecutable()
            change(&b)
            return b.error()
        }
        XCTAssertEqual(broken { $0.ident[1] = 0x45 + 1 }, .badMagic)
        XCTAssertEqual(broken { $0.ident[4] = 1 }, .notELF64)
        XCTAssertEqual(broken { $0.ident[5] = 2 }, .wrongEndianness)
        XCTAssertEqual(broken { $0.ident[6] = 0 }, .wrongVersion)
        XCTAssertEqual(broken { $0.version = 2 }, .wrongVersion)
        XCTAssertEqual(broken { $0.machine = 3 }, .wrongMachine(3))
        XCTAssertEqual(broken { $0.type = 1 }, .wrongType(1))
        XCTAssertEqual(broken { $0.type = 4 }, .wrongType(4))
        XCTAssertEqual(broken { $0.phentsize = 32 }, .badProgramHeaderSize(32))
        XCTAssertEqual(broken { $0.phnum = 0 }, .badProgramHeaderCount(0))
        XCTAssertEqual(broken { $0.phnum = UInt16(ELF.maxProgramHeaders + 1) },
                       .badProgramHeaderCount(UInt16(ELF.maxProgramHeaders + 1)))
        XCTAssertEqual(broken { $0.phnum = 0xffff }, .badProgramHeaderCount(0xffff))   // PN_XNUM
        XCTAssertEqual(broken { $0.phoff = 0x2030 - 5 * 56 + 1 }, .truncated(.programHeaders))
        XCTAssertEqual(broken { $0.phoff = 0x10_0000 }, .truncated(.programHeaders))
        XCTAssertEqual(broken { $0.phoff = UInt64.max - 8 }, .truncated(.programHeaders))
        XCTAssertEqual(broken { $0.phnum = 200 }, .truncated(.programHeaders))
    }

    func testShortFilesAreTruncatedHeaders() {
        let good = ELFImageBuilder.staticExecutable().bytes
        for length in [0, 1, 4, 16, 63] {
            XCTAssertEqual(elfError(Array(good.prefix(length))), .truncated(.fileHeader))
        }
        XCTAssertEqual(ELFImageBuilder(ident: [0x7f, 0x45, 0x4c], length: 64).error(), .badMagic)
    }

    func testSegmentErrorsNameTheProgramHeaderIndex() {
        func broken(_ change: (inout ELFImageBuilder) -> Void) -> ELFError? {
            var b = ELFImageBuilder.staticExecutable()
            change(&b)
            return b.error()
        }
        XCTAssertEqual(broken { $0.phdrs[1].fileSize = 0x1031; $0.phdrs[1].memSize = 0x1031 }, .segmentOutOfFile(1))
        XCTAssertEqual(broken { $0.phdrs[2].offset = 0x1011 }, .misalignedSegment(2))
        XCTAssertEqual(broken { $0.phdrs[2].offset = 0x2010 + 0x1000; $0.phdrs[2].fileSize = 0 }, .segmentOutOfFile(2))
        XCTAssertEqual(broken { $0.phdrs[1].offset = UInt64.max - 0x10 + 1; $0.phdrs[1].fileSize = 0x20 },
                       .segmentOutOfFile(1))
        XCTAssertEqual(broken { $0.phdrs[2].fileSize = 0x3001 }, .filesizeExceedsMemsize(2))
        XCTAssertEqual(broken { $0.phdrs[1].vaddr = 0x40_1800 }, .misalignedSegment(1))
        XCTAssertEqual(broken { $0.phdrs[0].vaddr = 0 }, .segmentOutsideUserSpace(0))
        XCTAssertEqual(broken { $0.phdrs[2].vaddr = KernelLayout.taskSize - 0x1000 + 0x10 },
                       .segmentOutsideUserSpace(2))
        XCTAssertEqual(broken { $0.phdrs[2].vaddr = KernelLayout.kernelBase + 0x10 }, .segmentOutsideUserSpace(2))
        XCTAssertEqual(broken { $0.phdrs[2].vaddr = UInt64.max - 0xfef; $0.phdrs[2].offset = 0x2010 },
                       .segmentOutsideUserSpace(2))
        XCTAssertEqual(broken { $0.phdrs[1].vaddr = 0x40_0000 }, .overlappingSegments(1))
        XCTAssertEqual(broken { $0.phdrs[2].vaddr = 0x40_1010 }, .overlappingSegments(2))
        XCTAssertEqual(broken { $0.phdrs.swapAt(1, 2) }, .overlappingSegments(2))   // unsorted
        XCTAssertEqual(broken { $0.entry = KernelLayout.taskSize }, .entryOutsideUserSpace)
    }

    // MARK: dynamic linking (PT_INTERP)

    /// A program with PT_INTERP: the path's place is reported, the layout is the same.
    func testInterpreterRequestIsReported() throws {
        var b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        b.phdrs.append(Phdr(type: ELF.ptInterp, offset: 0x1c0, vaddr: 0x1c0, fileSize: 28, memSize: 28, align: 1))
        let exe = try b.parse().get()
        XCTAssertEqual(exe.interpreter, InterpreterRequest(fileOffset: 0x1c0, size: 28))
        XCTAssertEqual(exe.loadBias, 0x5555_5555_4000)
        XCTAssertNil(try ELFImageBuilder.staticExecutable().parse().get().interpreter)
        // Only the first PT_INTERP counts.
        b.phdrs.append(Phdr(type: ELF.ptInterp, offset: 0x10, vaddr: 0x10, fileSize: 1, memSize: 1, align: 1))
        XCTAssertEqual(try b.parse().get().interpreter, InterpreterRequest(fileOffset: 0x1c0, size: 28))
    }

    /// Linux: p_filesz must be 2 through PATH_MAX, else ENOEXEC, found before any segment is placed.
    func testInterpreterPathSizeIsCheckedBeforeSegmentProblems() {
        var b = ELFImageBuilder.staticExecutable()
        b.phdrs[0].vaddr = 0   // would be segmentOutsideUserSpace(0)
        b.phdrs[4].type = ELF.ptInterp
        XCTAssertEqual(b.error(), .badInterpreterPath)         // p_filesz 0
        for size: UInt64 in [1, UInt64(PathWalk.pathMax) + 1, UInt64.max] {
            var c = ELFImageBuilder.staticExecutable()
            c.phdrs[4] = Phdr(type: ELF.ptInterp, offset: 0x100, fileSize: size, memSize: size)
            XCTAssertEqual(c.error(), .badInterpreterPath, "p_filesz \(size)")
        }
        var c = ELFImageBuilder.staticExecutable()
        c.phdrs[4] = Phdr(type: ELF.ptInterp, offset: 0x100, fileSize: UInt64(PathWalk.pathMax), memSize: 0)
        XCTAssertEqual(try c.parse().get().interpreter?.size, PathWalk.pathMax)
    }

    func testInterpreterPathMustEndInNUL() throws {
        func path(_ bytes: [UInt8]) -> Result<String, ELFError> {
            bytes.withUnsafeBytes { raw in Result { () throws(ELFError) in try ELFExecutable.interpreterPath(raw) } }
        }
        XCTAssertEqual(try path(Array("/lib64/ld-linux-x86-64.so.2\0".utf8)).get(), "/lib64/ld-linux-x86-64.so.2")
        XCTAssertEqual(path(Array("/lib/ld.so".utf8)), .failure(.badInterpreterPath))
        XCTAssertEqual(path([]), .failure(.badInterpreterPath))
        // The path ends at its first NUL, as the C string Linux opens.
        XCTAssertEqual(try path(Array("/a\0/b\0".utf8)).get(), "/a")
        XCTAssertEqual(try path([0, 0]).get(), "")
    }

    /// The loader is placed with its first page at the base mmap chose; its own PT_INTERP is ignored.
    func testInterpreterRolePlacesAnETDynAtItsBase() throws {
        var b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        b.phdrs[4] = Phdr(type: ELF.ptInterp, offset: 0x100, fileSize: 0, memSize: 0)   // refused for a program
        XCTAssertEqual(b.error(), .badInterpreterPath)
        let base = VirtAddr(0x7eff_f7fc_0000)
        let loader = try b.bytes.withUnsafeBytes { raw in
            try ELFExecutable(parsing: raw, role: .interpreter(base: base))
        }
        XCTAssertNil(loader.interpreter)
        XCTAssertEqual(loader.loadBias, base.value)
        XCTAssertEqual(loader.segments.map(\.start), [base, base + 0x1000, base + 0x2010])
        XCTAssertEqual(loader.entry, base + 0x1000)
        // A first segment starting inside a page: that page goes at the base.
        var c = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        c.phdrs[0].vaddr = 0x40; c.phdrs[0].offset = 0x40; c.phdrs[0].fileSize = 0x1c0; c.phdrs[0].memSize = 0x1c0
        let shifted = try c.bytes.withUnsafeBytes { try ELFExecutable(parsing: $0, role: .interpreter(base: base)) }
        XCTAssertEqual(shifted.segments[0].start, base + 0x40)
        // An ET_EXEC loader stays where it was linked.
        let fixed = try ELFImageBuilder.staticExecutable().bytes.withUnsafeBytes {
            try ELFExecutable(parsing: $0, role: .interpreter(base: base))
        }
        XCTAssertEqual(fixed.loadBias, 0)
    }

    func testMappingSpanIsFirstPageToLastEnd() throws {
        let span = try ELFImageBuilder.staticExecutable(type: ELF.typeDyn).bytes.withUnsafeBytes {
            try ELFExecutable.mappingSpan(of: $0)
        }
        XCTAssertEqual(span.size, 0x5010)      // 0 ..< 0x2010 + 0x3000
        XCTAssertEqual(span.alignment, 0x1000)
        var b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        b.phdrs[1].align = 0x20_0000
        XCTAssertEqual(try b.bytes.withUnsafeBytes { try ELFExecutable.mappingSpan(of: $0) }.alignment, 0x20_0000)
        b.phdrs[2].vaddr = 0; b.phdrs[2].offset = 0x2000   // ends below the first: wraps
        XCTAssertEqual(try b.bytes.withUnsafeBytes { try ELFExecutable.mappingSpan(of: $0) }.size, 0x3000)
        b.phdrs[0].vaddr = 0x10_0000
        XCTAssertEqual(try b.bytes.withUnsafeBytes { try ELFExecutable.mappingSpan(of: $0) }.size, UInt64.max)
    }

    /// What execve makes of each error in the interpreter: Linux's EIO, ELIBBAD, or death by SIGSEGV.
    func testInterpreterFailures() {
        XCTAssertEqual(ELFError.truncated(.fileHeader).interpreterFailure, .error(.EIO))
        for error: ELFError in [.badMagic, .notELF64, .wrongMachine(3), .badProgramHeaderSize(1),
                                .badProgramHeaderCount(0), .truncated(.programHeaders)] {
            XCTAssertEqual(error.interpreterFailure, .error(.ELIBBAD), "\(error)")
        }
        for error: ELFError in [.wrongType(1), .segmentOutOfFile(0), .misalignedSegment(1), .noLoadSegments,
                                .entryOutsideUserSpace] {
            XCTAssertEqual(error.interpreterFailure, .killed, "\(error)")
        }
    }

    /// The host's own loader, as execve maps it for a dynamically linked program.
    func testHostDynamicLoader() throws {
        let path = "/lib64/ld-linux-x86-64.so.2"
        guard FormatsHost.has("readelf"), FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("no readelf or no \(path)")
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let program = try XCTUnwrap(FormatsHost.shell("readelf -lW \(path)"))
        let loads = program.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("LOAD ") }
            .map { $0.split(separator: " ").map(String.init) }
        let first = try XCTUnwrap(UInt64(loads[0][2].dropFirst(2), radix: 16))
        let last = try XCTUnwrap(loads.last.map { UInt64($0[2].dropFirst(2), radix: 16)! + UInt64($0[5].dropFirst(2), radix: 16)! })
        let span = try bytes.withUnsafeBytes { try ELFExecutable.mappingSpan(of: $0) }
        XCTAssertEqual(span.size, last - (first & ~(pageSize - 1)))
        let base = VirtAddr(0x7eff_f7fc_3000)
        let loader = try bytes.withUnsafeBytes { try ELFExecutable(parsing: $0, role: .interpreter(base: base)) }
        XCTAssertTrue(loader.isPositionIndependent)
        XCTAssertEqual(loader.segments.count, loads.count)
        XCTAssertEqual(loader.segments.first?.start.alignedDown(), base)
        XCTAssertNil(loader.interpreter)
        XCTAssertNil(elfInvariantViolation(loader, fileLength: bytes.count))
    }

    func testNoLoadSegments() {
        var b = ELFImageBuilder.staticExecutable()
        for i in 0..<3 { b.phdrs[i].type = 0x7000_0000 }
        XCTAssertEqual(b.error(), .noLoadSegments)
        b = ELFImageBuilder.staticExecutable()
        for i in 0..<3 { b.phdrs[i].memSize = 0; b.phdrs[i].fileSize = 0 }
        XCTAssertEqual(b.error(), .noLoadSegments)
        b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        for i in 0..<3 { b.phdrs[i].type = 0 }
        XCTAssertEqual(b.error(), .noLoadSegments)
    }

    func testDynWithHugeVaddrIsOutsideUserSpace() {
        var b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        b.phdrs[2].vaddr = 0x7fff_0000_2010
        XCTAssertEqual(b.error(), .segmentOutsideUserSpace(2))
        b = ELFImageBuilder.staticExecutable(type: ELF.typeDyn)
        b.phdrs[0].align = 1 << 62   // aligns the base down to 0: the bias wraps below the first page
        b.phdrs[0].vaddr = 0x1000
        b.phdrs[0].offset = 0x1000
        b.phdrs[0].fileSize = 0
        XCTAssertEqual(b.error(), .segmentOutsideUserSpace(0))
    }

    func testErrorDescriptionsAreDistinct() {
        let all: [ELFError] = [
            .badMagic, .notELF64, .wrongEndianness, .wrongVersion, .wrongMachine(3), .wrongType(1),
            .badProgramHeaderSize(1), .badProgramHeaderCount(0), .truncated(.fileHeader), .truncated(.programHeaders),
            .segmentOutOfFile(1), .filesizeExceedsMemsize(1), .misalignedSegment(1), .segmentOutsideUserSpace(1),
            .overlappingSegments(1), .noLoadSegments, .entryOutsideUserSpace, .badInterpreterPath,
        ]
        XCTAssertEqual(Set(all.map(\.description)).count, all.count)
        XCTAssertEqual(ELFError.wrongMachine(40).description, "wrong machine 40 (want x86-64, 62)")
        XCTAssertTrue(ELFError.segmentOutOfFile(7).description.contains("7"))
    }

    // MARK: robustness

    func testEveryPrefixOfAValidImageIsRejectedOrValid() {
        let good = ELFImageBuilder.staticExecutable().bytes
        for length in 0...good.count {
            switch parseELF(Array(good.prefix(length))) {
            case .success(let exe):
                XCTAssertEqual(length, good.count, "a truncated image was accepted")
                XCTAssertNil(elfInvariantViolation(exe, fileLength: length))
            case .failure: XCTAssertLessThan(length, good.count)
            }
        }
    }

    /// What execve does: read the file header, then through the program headers,
    /// and parse that prefix knowing the file's length. Same layout as the whole file.
    func testHeadersAlonePlaceTheSameSegments() throws {
        for good in [ELFImageBuilder.staticExecutable().bytes, ELFImageBuilder.staticExecutable(type: ELF.typeDyn).bytes] {
            let needed = good.withUnsafeBytes { ELFExecutable.headerBytes(in: UnsafeRawBufferPointer(rebasing: $0[0..<64])) }
            XCTAssertEqual(needed, 64 + 5 * 56, "e_phoff 64, five program headers")
            let whole = try good.withUnsafeBytes { try ELFExecutable(parsing: $0) }
            let prefix = try good.withUnsafeBytes {
                try ELFExecutable(parsing: UnsafeRawBufferPointer(rebasing: $0[0..<needed]), fileLength: good.count)
            }
            XCTAssertEqual(prefix.segments, whole.segments)
            XCTAssertEqual(prefix.entry, whole.entry)
            XCTAssertEqual(prefix.programHeaderAddress, whole.programHeaderAddress)
            XCTAssertEqual(prefix.brkStart, whole.brkStart)
            // One byte short of the table is a truncated image, not a trap.
            XCTAssertThrowsError(try good.withUnsafeBytes {
                try ELFExecutable(parsing: UnsafeRawBufferPointer(rebasing: $0[0..<needed - 1]), fileLength: good.count)
            })
            // A segment past the real end of the file is refused even though the prefix is short.
            XCTAssertThrowsError(try good.withUnsafeBytes {
                try ELFExecutable(parsing: UnsafeRawBufferPointer(rebasing: $0[0..<needed]), fileLength: 0x1000)
            })
        }
        var wild = ELFImageBuilder.staticExecutable().bytes
        for i in 32..<40 { wild[i] = 0xff }                          // e_phoff near 2^64
        XCTAssertEqual(wild.withUnsafeBytes { ELFExecutable.headerBytes(in: $0) }, 64)
        XCTAssertEqual([UInt8](repeating: 0, count: 10).withUnsafeBytes { ELFExecutable.headerBytes(in: $0) }, 64)
    }

    /// Seeded random corruption of the headers: the parser must either refuse or
    /// return a layout that keeps every documented promise.
    func testRandomCorruptionNeverBreaksInvariants() {
        var rng = SplitMix64(seed: 0x4b45_454c_454c_4621)
        let templates = [ELFImageBuilder.staticExecutable().bytes, ELFImageBuilder.staticExecutable(type: ELF.typeDyn).bytes]
        var accepted = 0
        for round in 0..<20_000 {
            var image = templates[round % 2]
            rng.mutate(&image, within: 64 + 5 * 56)
            if case .success(let exe) = parseELF(image) {
                accepted += 1
                if let why = elfInvariantViolation(exe, fileLength: image.count) {
                    return XCTFail("round \(round): \(why)")
                }
            }
        }
        // Some mutations hit don't-care bytes (e_shoff, p_paddr...), some break the file.
        XCTAssertGreaterThan(accepted, 100)
        XCTAssertLessThan(accepted, 19_000)
    }

    // MARK: real binaries from the host toolchain

    /// Compiles a tiny program with each available compiler mode and checks the
    /// parse against readelf's view of the same file. A build that asks for an
    /// interpreter (a plain dynamic link, or Debian's musl-gcc wrapper, which
    /// turns -static-pie into a dynamic PIE) reports readelf's interpreter path.
    func testRealBinaries() throws {
        guard FormatsHost.has("readelf") else { throw XCTSkip("readelf not installed") }
        let dir = FormatsHost.temporaryDirectory(self)
        try "int main(void) { return 42; }\n".write(to: dir.appendingPathComponent("t.c"), atomically: true,
                                                     encoding: .utf8)
        var staticBuilds = 0
        for (compiler, flags) in [("musl-gcc", "-static"), ("musl-gcc", "-static-pie"), ("cc", "-static"),
                                  ("cc", "-static-pie"), ("cc", "")] where FormatsHost.has(compiler) {
            let out = dir.appendingPathComponent("t-\(compiler)\(flags)")
            let label = "\(compiler) \(flags)"
            guard FormatsHost.shell("\(compiler) \(flags) -O0 -o '\(out.path)' t.c", in: dir) != nil,
                  let program = FormatsHost.shell("readelf -lW '\(out.path)'") else { continue }
            try checkAgainstReadelf(out, program: program, label: label)
            if let line = program.split(separator: "\n").first(where: { $0.contains("Requesting program interpreter: ") }) {
                let wanted = line.split(separator: ":", maxSplits: 1)[1].dropFirst().dropLast()   // " path]"
                let bytes = [UInt8](try Data(contentsOf: out))
                let request = try XCTUnwrap(try parseELF(bytes).get().interpreter, label)
                let raw = Array(bytes[Int(request.fileOffset)..<Int(request.fileOffset) + request.size])
                let path = try raw.withUnsafeBytes { try ELFExecutable.interpreterPath($0) }
                XCTAssertEqual(path, String(wanted), label)
            } else {
                staticBuilds += 1
            }
        }
        if staticBuilds == 0 { throw XCTSkip("no C compiler here links static binaries") }
    }

    private func checkAgainstReadelf(_ file: URL, program: String, label: String) throws {
        let bytes = [UInt8](try Data(contentsOf: file))
        let header = try XCTUnwrap(FormatsHost.shell("readelf -hW '\(file.path)'"))
        func headerField(_ name: String) -> String? {
            header.split(separator: "\n").first { $0.contains(name) }
                .map { String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces) }
        }
        let entry = try XCTUnwrap(headerField("Entry point address").flatMap { UInt64($0.dropFirst(2), radix: 16) })
        let isDyn = try XCTUnwrap(headerField("Type")).hasPrefix("DYN")
        let phoff = try XCTUnwrap(headerField("Start of program headers").flatMap { UInt64($0.split(separator: " ")[0]) })

        // "  LOAD 0x000000 0x0000000000400000 0x0000000000400000 0x000518 0x000518 R E 0x1000"
        struct Load { var offset, vaddr, filesz, memsz: UInt64; var flags: SegmentFlags }
        var loads: [Load] = []
        for line in program.split(separator: "\n") where line.trimmingCharacters(in: .whitespaces).hasPrefix("LOAD ") {
            let t = line.split(separator: " ")
            let n = t[1...5].map { UInt64($0.dropFirst(2), radix: 16)! }
            let flagText = t[6..<(t.count - 1)].joined()
            var flags: SegmentFlags = []
            if flagText.contains("R") { flags.insert(.read) }
            if flagText.contains("W") { flags.insert(.write) }
            if flagText.contains("E") { flags.insert(.execute) }
            loads.append(Load(offset: n[0], vaddr: n[1], filesz: n[3], memsz: n[4], flags: flags))
        }

        let exe = try parseELF(bytes).get()
        XCTAssertEqual(exe.isPositionIndependent, isDyn, label)
        XCTAssertEqual(exe.loadBias, isDyn ? ELF.etDynBase - (loads[0].vaddr & ~(pageSize - 1)) : 0, label)
        XCTAssertEqual(exe.entry.value, entry + exe.loadBias, label)
        let nonEmpty = loads.filter { $0.memsz > 0 }
        XCTAssertEqual(exe.segments.count, nonEmpty.count, label)
        for (s, l) in zip(exe.segments, nonEmpty) {
            XCTAssertEqual(s.start.value, l.vaddr + exe.loadBias, label)
            XCTAssertEqual(s.fileOffset, l.offset, label)
            XCTAssertEqual(s.fileSize, l.filesz, label)
            XCTAssertEqual(s.memSize, l.memsz, label)
            XCTAssertEqual(s.flags, l.flags, label)
        }
        // AT_PHDR: where the first segment maps file offset e_phoff.
        XCTAssertEqual(exe.programHeaderAddress?.value, loads[0].vaddr + exe.loadBias + phoff - loads[0].offset, label)
        XCTAssertEqual(exe.brkStart, exe.segments.last!.end.alignedUp(), label)
        XCTAssertNil(elfInvariantViolation(exe, fileLength: bytes.count), label)

        // Truncating the real file anywhere inside its segments must be refused.
        let lastFileByte = Int(nonEmpty.map { $0.offset + $0.filesz }.max()!)
        for length in stride(from: 0, to: lastFileByte, by: 97) {
            XCTAssertNotNil(elfError(Array(bytes.prefix(length))), "\(label): accepted a \(length)-byte prefix")
        }
    }
}
